"""`envmon registry import air-stations`: the national station list -> air/stations.csv."""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from envmon.core.errors import ConfigError, InputError
from envmon.core.parsing import MISSING_TOKENS
from envmon.core.reference_files import FORMER_NAMES
from envmon.registry.common import (
    Report,
    csv_bytes,
    install,
    read_header,
    read_text,
    row_fields,
)

# Published header -> envmon field. 对照点 is optional (older lists have 5 columns).
AIR_HEADERS = {"监测点编码": "code", "监测点名称": "name", "城市": "city", "经度": "longitude",
               "纬度": "latitude", "对照点": "reference"}
AIR_REQUIRED = ("code", "name", "city", "longitude", "latitude")
STATION_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{1,31}$")
_YES = frozenset({"y", "yes", "是", "true", "1"})
_NO = frozenset({"n", "no", "否", "false", "0"})


def import_air_stations(path: Path, out_dir: Path, *, dry_run: bool = False) -> Report:
    """The published station list at `path` -> `out_dir/air/stations.csv` (YRD stations)."""
    from envmon.core import reference

    report = Report(kind="air-stations", files=[str(path)])
    text, encoding = read_text(path)
    report.notes.append(f"encoding: {encoding}")
    rows = csv.reader(io.StringIO(text, newline=""))
    columns = read_header(rows, path, AIR_HEADERS, AIR_REQUIRED)
    names = reference.city_codes_by_name()
    kept: dict[str, tuple[int, dict[str, str]]] = {}
    for cells in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in cells):
            continue
        report.rows_read += 1
        record = row_fields(cells, columns, line, report)
        if record is None:
            continue
        code = record["code"].strip()
        if not STATION_CODE.match(code):
            report.refused.append(f"line {line}: station code {code!r} is not a code")
            continue
        city = record["city"].strip()
        city_code = names.get(reference.short_place_name(city))
        if city_code is None:
            report.outside[city or "(empty)"] += 1
            continue
        if code in kept:
            first, row = kept[code]
            same = " (identical)" if (row["station_name"], row["source_city"]) == (
                record["name"], city) else ""
            report.duplicates.append(
                f"{code}: line {line} ({record['name']}, {city}) dropped; line {first} "
                f"({row['station_name']}, {row['source_city']}) kept{same}")
            continue
        kept[code] = (line, {
            "station_code": code, "station_name": record["name"], "city_code": city_code,
            "longitude": _degrees(record, "longitude", 180.0, code, line, report),
            "latitude": _degrees(record, "latitude", 90.0, code, line, report),
            "demo": "false",
            "reference_point": _yes_no(record.get("reference", ""), code, line, report),
            "source_city": city, "note": _name_note(record["name"]),
        })
    stations = [row for _, row in sorted(kept.values(), key=lambda kv: kv[1]["station_code"])]
    report.kept = len(stations)
    _same_site_notes(stations, report)
    if not stations:
        raise InputError("no station of the region's cities in the list", file=str(path))
    columns_out = (*reference.AIR_STATION_COLUMNS, *reference.AIR_STATION_OPTIONAL)
    data = csv_bytes(columns_out, stations)
    target = out_dir / reference.AIR_STATIONS_FILE
    # A registry kept under the former name (air_stations.csv) is what this
    # one replaces: the file written under the current name wins over it.
    former = out_dir / FORMER_NAMES[reference.AIR_STATIONS_FILE]
    previous = target if target.is_file() or not former.is_file() else former
    try:
        before = (set(reference.check_air_stations(previous)["station_code"])
                  if previous.is_file() else None)
    except ConfigError as exc:
        before = None
        report.notes.append(f"the registry it replaces does not load ({exc})")
    if previous == former:
        report.notes.append(f"{former} (the former name) is no longer read once {target} "
                            "is written: remove it")
    if before is not None:
        gone = sorted(before - set(kept))
        report.notes.append(f"{previous}: {len(before & set(kept))} station(s) kept, "
                            f"{len(set(kept) - before)} new, {len(gone)} no longer listed"
                            + (f" ({', '.join(gone[:20])}{' ...' if len(gone) > 20 else ''})"
                               if gone else ""))
    if not dry_run:
        install(target, data, reference.check_air_stations)
        report.written = target
    return report


def _degrees(record: dict[str, str], column: str, limit: float, code: str, line: int,
             report: Report) -> str:
    """A published coordinate as written ('116.7150' stays so); '-' or empty -> ''."""
    text = record[column].strip()
    if text.lower() in MISSING_TOKENS:
        return ""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > limit:
        report.notes.append(f"line {line}: station {code}: {column} {text!r} is not a "
                            "coordinate: left empty")
        return ""
    return text


def _yes_no(text: str, code: str, line: int, report: Report) -> str:
    lowered = text.strip().lower()
    if lowered in _YES:
        return "true"
    if lowered in _NO:
        return "false"
    if lowered:
        report.notes.append(f"line {line}: station {code}: 对照点 {text!r} is not Y/N: left "
                            "empty")
    return ""


def _name_note(name: str) -> str:
    """What the published name itself says about the station."""
    notes = []
    if "停运" in name or "停用" in name:
        notes.append("the published name says it stopped")
    if "启用" in name:
        notes.append("the published name gives its start (启用)")
    if "对照点" in name:
        notes.append("the published name says 对照点")
    return "; ".join(notes)


def _same_site_notes(stations: list[dict[str, str]], report: Report) -> None:
    """One site published under two codes (same name and city): both kept, named."""
    by_site: dict[tuple[str, str], list[str]] = {}
    for row in stations:
        by_site.setdefault((row["station_name"], row["city_code"]), []).append(
            row["station_code"])
    for (name, _), codes in sorted(by_site.items()):
        if len(codes) > 1:
            report.notes.append(f"same name and city under {len(codes)} codes (both kept): "
                                f"{'/'.join(codes)} {name}")

"""`envmon registry import`: a station or section list as published -> envmon's registry files.

    envmon registry import air-stations FILE [--out DIR] [--dry-run]
    envmon registry import water-sections FILE... [--out DIR] [--dry-run]

air-stations reads the national air station list in the form it is
distributed (站点列表-YYYY.MM.DD起.csv): a header row
`监测点编码,监测点名称,城市,经度,纬度[,对照点]`, UTF-8 (with or without BOM) or
GB18030, `-` or an empty cell for a missing coordinate. It writes
`DIR/air_stations.csv` with the stations of the region's 41 cities:

- 城市 is a name without 市 (上海, 苏州, 宿州), or a county-level city
  (昆山, 江阴, 义乌), or a former one that is now a district (吴江, 临安);
  reference/cities.csv and reference/county_cities.csv give its city_code.
  A name in neither (a city outside the region) is counted, skipped and
  named in the report.
- A code listed twice keeps its first row; the others are listed, not fatal.
- Names are kept as published (notes such as `(停运150702)` included).

water-sections reads sections as the real-time release lists them: its JSON
pages ({thead, tbody}: 省份, 流域, 断面名称 whose span title gives
所在地市/所属河流), or a CSV with 省份,流域,断面名称 and optionally 所在地市,
所属河流 and 水体类型 (河流/湖库). It merges them into `DIR/water/sections.csv`:
a section already in the registry (same province and name) keeps its code
and every column a bureau set; a new one gets the next code of its province
(W<2 province digits><3 digits>) and `to_fill` names what the list did not
give. Sections in the registry but not in the list are kept and reported.
Lake or river is only written when the list says so (水体类型); otherwise it
is left empty and the loader guesses from the name, visibly
(water_type_source = guessed-from-name).

DIR defaults to $ENVMON_REFERENCE_DIR, the directory whose files override the
bundled reference/ (the repository copy is never written by default). The
file written is checked by the registry loader before it replaces anything.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from envmon.core.atomic import write_atomic
from envmon.core.errors import ConfigError, InputError
from envmon.core.parsing import MISSING_TOKENS, decode_text

_UTF8_BOM = b"\xef\xbb\xbf"
# Published header -> envmon field. 对照点 is optional (older lists have 5 columns).
AIR_HEADERS = {"监测点编码": "code", "监测点名称": "name", "城市": "city", "经度": "longitude",
               "纬度": "latitude", "对照点": "reference"}
AIR_REQUIRED = ("code", "name", "city", "longitude", "latitude")
STATION_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{1,31}$")
_YES = frozenset({"y", "yes", "是", "true", "1"})
_NO = frozenset({"n", "no", "否", "false", "0"})

# Section lists: header -> field. 断面名称 etc. as the release writes them.
WATER_HEADERS = {"省份": "province", "省": "province", "流域": "basin", "断面名称": "section",
                 "断面": "section", "所在地市": "city", "地市": "city", "城市": "city",
                 "所属河流": "river", "河流": "river", "水体类型": "water_type"}
WATER_REQUIRED = ("province", "basin", "section")
WATER_TYPES = {"河流": "river", "河": "river", "river": "river", "湖库": "lake", "湖泊": "lake",
               "湖": "lake", "水库": "lake", "lake": "lake", "reservoir": "lake"}


@dataclass
class Report:
    """What an import read, kept, skipped and wrote: printed one line per finding."""

    kind: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    kept: int = 0
    written: Path | None = None
    duplicates: list[str] = field(default_factory=list)
    outside: Counter = field(default_factory=Counter)  # name outside the region -> rows
    refused: list[str] = field(default_factory=list)  # rows that could not be read
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.kind}: read {self.rows_read} row(s) from {', '.join(self.files)}"]
        out.append(f"kept {self.kept}" + (f", written to {self.written}" if self.written
                                           else " (dry run: nothing written)"))
        if self.duplicates:
            out.append(f"duplicated: {len(self.duplicates)} row(s) dropped, the first kept:")
            out += [f"  {line}" for line in self.duplicates]
        if self.outside:
            names = ", ".join(f"{name} {count}" for name, count in
                              sorted(self.outside.items(), key=lambda kv: (-kv[1], kv[0])))
            out.append(f"outside the region (skipped): {sum(self.outside.values())} row(s) in "
                       f"{len(self.outside)} place(s): {names}")
        if self.refused:
            out.append(f"refused: {len(self.refused)} row(s):")
            out += [f"  {line}" for line in self.refused]
        out += self.notes
        return out


# ---------------------------------------------------------------- command line


def configure(sub: argparse._SubParsersAction) -> None:
    """Register `envmon registry import ...` on the top-level parser."""
    registry = sub.add_parser("registry", help="import published station or section lists",
                              description="Turn a published list into envmon's registry files.")
    actions = registry.add_subparsers(title="actions", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import", help="read a published list, write the registry file",
        description="Read a station or section list in its published form and write envmon's "
                    "registry file into --out DIR (default $ENVMON_REFERENCE_DIR). Stations "
                    "and sections outside the region's 41 cities are counted and skipped, "
                    "duplicates reported (the first kept); the file is checked by the "
                    "registry loader before it replaces anything.")
    kinds = imp.add_subparsers(title="lists", metavar="LIST", required=True)
    air = kinds.add_parser("air-stations", help="national air station list (站点列表 CSV)")
    air.add_argument("file", type=Path, metavar="FILE")
    water = kinds.add_parser("water-sections",
                             help="surface-water sections (release JSON pages or CSV)")
    water.add_argument("file", type=Path, nargs="+", metavar="FILE")
    for one, handler in ((air, _cmd_air), (water, _cmd_water)):
        one.add_argument("--out", type=Path, metavar="DIR",
                         help="reference directory to write (default: $ENVMON_REFERENCE_DIR)")
        one.add_argument("--dry-run", action="store_true", help="report only, write nothing")
        one.set_defaults(handler=handler)


def _cmd_air(args: argparse.Namespace) -> int:
    report = import_air_stations(args.file, _out_dir(args), dry_run=args.dry_run)
    print("\n".join(report.lines()))
    return 0


def _cmd_water(args: argparse.Namespace) -> int:
    report = import_water_sections(args.file, _out_dir(args), dry_run=args.dry_run)
    print("\n".join(report.lines()))
    return 0


def _out_dir(args: argparse.Namespace) -> Path:
    from envmon.core.reference import REFERENCE_DIR_ENV

    if args.out is not None:
        return args.out
    configured = os.environ.get(REFERENCE_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    if args.dry_run:
        return Path(".")
    raise ConfigError(f"give --out DIR or set {REFERENCE_DIR_ENV}: the import writes a "
                      "registry of your own, not the bundled reference/")


# ---------------------------------------------------------------- air stations


def import_air_stations(path: Path, out_dir: Path, *, dry_run: bool = False) -> Report:
    """The published station list at `path` -> `out_dir/air_stations.csv` (YRD stations)."""
    from envmon.core import reference

    report = Report(kind="air-stations", files=[str(path)])
    text, encoding = read_text(path)
    report.notes.append(f"encoding: {encoding}")
    rows = csv.reader(io.StringIO(text, newline=""))
    columns = _header(rows, path, AIR_HEADERS, AIR_REQUIRED)
    names = reference.city_codes_by_name()
    kept: dict[str, tuple[int, dict[str, str]]] = {}
    for cells in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in cells):
            continue
        report.rows_read += 1
        record = _cells(cells, columns, line, report)
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
    data = _csv_bytes(columns_out, stations)
    target = out_dir / reference.AIR_STATIONS_FILE
    try:
        before = (set(reference.check_air_stations(target)["station_code"])
                  if target.is_file() else None)
    except ConfigError as exc:
        before = None
        report.notes.append(f"the registry it replaces does not load ({exc})")
    if before is not None:
        gone = sorted(before - set(kept))
        report.notes.append(f"{target}: {len(before & set(kept))} station(s) kept, "
                            f"{len(set(kept) - before)} new, {len(gone)} no longer listed"
                            + (f" ({', '.join(gone[:20])}{' ...' if len(gone) > 20 else ''})"
                               if gone else ""))
    if not dry_run:
        _install(target, data, reference.check_air_stations)
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


# ---------------------------------------------------------------- water sections


def import_water_sections(paths: list[Path], out_dir: Path, *, dry_run: bool = False) -> Report:
    """Release pages or section CSVs -> merged into `out_dir/water/sections.csv`."""
    from envmon.core import reference
    from envmon.water import reference as water
    from envmon.water.sources.common import normalise_province

    report = Report(kind="water-sections", files=[str(p) for p in paths])
    provinces = reference.load_provinces()
    province_by_name = {normalise_province(n): c for c, n in
                        zip(provinces["province_code"], provinces["name_zh"], strict=True)}
    names = reference.city_codes_by_name()
    listed: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}
    for path in paths:
        for where, record in _section_records(path, report):
            report.rows_read += 1
            province_name = record.get("province", "").strip()
            province = province_by_name.get(normalise_province(province_name))
            name = record.get("section", "").strip()
            if not name or name.lower() in MISSING_TOKENS:
                report.refused.append(f"{where}: no section name")
                continue
            if province is None:
                report.outside[province_name or "(no province)"] += 1
                continue
            city_name = (record.get("city") or "").strip()
            city = names.get(reference.short_place_name(city_name)) if city_name else None
            if city is None and province == "310000":
                city = "310000"  # Shanghai is one city-level unit
            if city is None:
                if city_name:
                    report.outside[f"{city_name} ({province_name})"] += 1
                else:
                    report.refused.append(f"{where}: {province_name} {name}: no city (所在地市) "
                                          "given: skipped")
                continue
            if city[:2] != province[:2]:
                report.refused.append(f"{where}: {name}: city {city_name} is not in "
                                      f"{province_name}: skipped")
                continue
            water_type = (record.get("water_type") or "").strip().lower()
            facts = {"section_name": name, "feed_name": name, "province_code": province,
                     "basin": _present(record.get("basin")), "city_code": city,
                     "water_name": _present(record.get("river")),
                     "water_body": WATER_TYPES.get(water_type, "")}
            key = (province, name)
            if key in listed:
                first, seen = listed[key]
                if seen != facts:
                    differ = ", ".join(f"{k} {seen[k]!r}/{facts[k]!r}" for k in facts
                                       if seen[k] != facts[k])
                    report.duplicates.append(f"{province_name} {name}: {where} dropped, "
                                             f"{first} kept ({differ})")
                continue
            listed[key] = (where, facts)
    report.kept = len(listed)
    if not listed:
        raise InputError("no section of the region in the list", file=str(paths[0]))
    target = out_dir / water.SECTIONS_FILE
    base = target if target.is_file() else _bundled(water.SECTIONS_FILE)
    rows, columns = _merge_sections(base, [facts for _, facts in listed.values()], report,
                                    source=", ".join(p.name for p in paths))
    data = _csv_bytes(columns, rows)
    if not dry_run:
        _install(target, data, water.check_sections)
        report.written = target
    return report


def _section_records(path: Path, report: Report):
    """(where, {field: text}) per listed section of a release page or CSV."""
    from envmon.water.sources.cnemc_water import Page, load_page, section_cell

    data = path.read_bytes()
    text, encoding = read_text(path, data)
    report.notes.append(f"{path.name}: {encoding}")
    if text.lstrip().startswith("{"):
        payload = load_page(Page(data, str(path)))
        headers = [_plain(cell) for cell in payload["thead"]]
        columns = _columns(headers, path, WATER_HEADERS, WATER_REQUIRED)
        for number, cells in enumerate(payload["tbody"], start=1):
            where = f"{path.name} record {number}"
            if not isinstance(cells, list) or len(cells) < len(headers):
                report.refused.append(f"{where}: not a row of {len(headers)} cells")
                continue
            yield where, _section_fields(cells, columns, section_cell)
        return
    rows = csv.reader(io.StringIO(text, newline=""))
    columns = _header(rows, path, WATER_HEADERS, WATER_REQUIRED)
    for cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{path.name} line {rows.line_num}"
        record = _cells(cells, columns, rows.line_num, report)
        if record is not None:
            yield where, _section_fields([record.get(k, "") for k in columns.values()],
                                         {i: k for i, k in enumerate(columns.values())},
                                         section_cell)


def _section_fields(cells: list, columns: dict[int, str], section_cell) -> dict[str, str]:
    """The release's cells -> fields; the section cell's span title gives city and river."""
    record = {key: _plain(cells[i]) for i, key in columns.items()}
    if "section" in columns.values():
        position = next(i for i, k in columns.items() if k == "section")
        name, city, river = section_cell(cells[position])
        record["section"] = name
        record.setdefault("city", "")
        record.setdefault("river", "")
        record["city"] = record["city"] or (city or "")
        record["river"] = record["river"] or (river or "")
    return record


def _merge_sections(base: Path, listed: list[dict[str, str]], report: Report, *, source: str
                    ) -> tuple[list[dict[str, str]], tuple[str, ...]]:
    """The registry at `base` plus the listed sections; the registry's values win."""
    from envmon.water import reference as water

    columns = (*water.SECTION_FILE_COLUMNS, *water.SECTION_OPTIONAL_COLUMNS)
    existing: list[dict[str, str]] = []
    if base.is_file():
        with base.open(encoding="utf-8-sig", newline="") as handle:
            existing = [{c: (row.get(c) or "").strip() for c in columns}
                        for row in csv.DictReader(handle)]
    demo = [row for row in existing if row["demo"].lower() in ("true", "t", "yes", "y", "1")]
    if demo:
        report.notes.append(f"{len(demo)} demo row(s) of {base} left out: the demo sections "
                            "live in water/demo_sections.csv")
    rows = [row for row in existing if row not in demo]
    at = {(row["province_code"], row["feed_name"] or row["section_name"]): row for row in rows}
    used = {row["section_code"] for row in existing}
    seen: set[tuple[str, str]] = set()
    added = 0
    for facts in listed:
        key = (facts["province_code"], facts["feed_name"])
        seen.add(key)
        row = at.get(key)
        if row is not None:
            differ = [f"{c} {row[c]!r} (list: {facts[c]!r})" for c in facts
                      if facts[c] and row[c] and row[c] != facts[c]]
            if differ:
                report.notes.append(f"{row['section_code']} {facts['feed_name']}: the "
                                    f"registry's value kept: {', '.join(differ)}")
            filled = [c for c, value in facts.items() if value and not row[c]]
            for column in filled:
                row[column] = facts[column]
            if filled:
                # What the registry lacked and the list gives: a fact, with its source.
                row["confirmed_facts"] = _joined(row["confirmed_facts"], filled)
                row["to_fill"] = ";".join(c for c in row["to_fill"].split(";")
                                          if c and c not in filled)
                row["sources"] = _joined(row["sources"], [f"import of {source}"])
                report.notes.append(f"{row['section_code']} {facts['feed_name']}: filled "
                                    f"from the list: {', '.join(filled)}")
            continue
        elsewhere = [r["section_code"] for r in rows if r["feed_name"] == facts["feed_name"]]
        if elsewhere:
            report.notes.append(f"{facts['feed_name']} ({facts['province_code']}): the registry "
                                f"has this name in another province ({', '.join(elsewhere)}): "
                                "added as a new section; remove the wrong one")
        code = _next_code(facts["province_code"], used)
        used.add(code)
        given = [c for c in ("section_name", "feed_name", "province_code", "basin", "city_code",
                             "water_name", "water_body") if facts[c]]
        fill = [c for c in ("water_body", "water_name", "basin") if not facts[c]]
        fill += ["cross_boundary", "upstream_code", "downstream_code", "target_class",
                 "mean_flow_m3s", "longitude", "latitude"]
        rows.append({**dict.fromkeys(columns, ""), **facts, "section_code": code,
                     "coords_approximate": "false", "demo": "false",
                     "confirmed_facts": ";".join(given), "sources": f"import of {source}",
                     "to_fill": ";".join(fill)})
        added += 1
    report.notes.append(f"new sections: {added}; already in the registry: "
                        f"{len(listed) - added}")
    absent = [row for row in rows if (row["province_code"], row["feed_name"]
                                      or row["section_name"]) not in seen]
    if absent:
        report.notes.append(f"in the registry but not in this list (kept): {len(absent)}: "
                            + ", ".join(f"{r['section_code']} {r['section_name']}"
                                        for r in absent[:20])
                            + (" ..." if len(absent) > 20 else ""))
    rows.sort(key=lambda r: r["section_code"])
    return rows, columns


def _joined(text: str, more: list[str]) -> str:
    """A `;`-list with `more` appended, each once."""
    items = [item for item in text.split(";") if item]
    return ";".join(dict.fromkeys([*items, *more]))


def _next_code(province: str, used: set[str]) -> str:
    number = 1
    while f"W{province[:2]}{number:03d}" in used:
        number += 1
    return f"W{province[:2]}{number:03d}"


# ---------------------------------------------------------------- shared


def read_text(path: Path, data: bytes | None = None) -> tuple[str, str]:
    """(text, encoding name): UTF-8 with or without BOM, else GB18030."""
    data = path.read_bytes() if data is None else data
    text = decode_text(data, str(path))
    if data.startswith(_UTF8_BOM):
        return text, "UTF-8 with BOM"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return text, "GB18030"
    return text, "UTF-8"


def _header(rows, path: Path, headers: dict[str, str], required: tuple[str, ...]
            ) -> dict[int, str]:
    """Position -> field of the first non-empty row, which must be the published header."""
    for cells in rows:
        if any(cell.strip() for cell in cells):
            return _columns([cell.strip().lstrip("\ufeff") for cell in cells], path, headers,
                            required)
    raise InputError("empty file: no header row", file=str(path))


def _columns(cells: list[str], path: Path, headers: dict[str, str], required: tuple[str, ...]
             ) -> dict[int, str]:
    columns: dict[int, str] = {}
    for position, cell in enumerate(cells):
        key = headers.get(cell)
        if key is None:
            continue  # a column envmon does not read (or the empty one after a trailing comma)
        if key in columns.values():
            raise InputError(f"column {cell!r} appears twice in the header", file=str(path),
                             row=1, field=cell)
        columns[position] = key
    missing = [k for k in required if k not in columns.values()]
    if missing:
        wanted = {v: k for k, v in reversed(list(headers.items()))}
        raise InputError(f"header lacks {', '.join(wanted[m] for m in missing)} (the "
                         f"published header is {','.join(dict.fromkeys(wanted.values()))})",
                         file=str(path), row=1)
    return columns


def _cells(cells: list[str], columns: dict[int, str], line: int, report: Report
           ) -> dict[str, str] | None:
    """The row's fields, or None (reported) when it is too short for them."""
    needed = max(columns) + 1
    if len(cells) < needed:
        report.refused.append(f"line {line}: {len(cells)} field(s), the header needs {needed}: "
                              f"{','.join(cells)[:80]}")
        return None
    return {key: cells[i] for i, key in columns.items()}


def _plain(cell: object) -> str:
    from envmon.water.sources.cnemc_water import section_cell

    return section_cell(cell)[0] if cell is not None else ""


def _present(text: str | None) -> str:
    text = (text or "").strip()
    return "" if text.lower() in MISSING_TOKENS else text


def _csv_bytes(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _install(target: Path, data: bytes, check) -> None:
    """Write `target` atomically, after the registry loader accepted the new bytes."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
        try:
            check(tmp)
        except ConfigError as exc:
            raise ConfigError(f"the imported registry does not load, nothing replaced: "
                              f"{exc}") from None

    write_atomic(target, write)


def _bundled(name: str) -> Path:
    from envmon.core.settings import REFERENCE_DIR

    return REFERENCE_DIR / name

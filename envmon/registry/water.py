"""`envmon registry import water-sections`: release pages or CSVs -> water/sections.csv."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from envmon.core.errors import InputError
from envmon.core.parsing import MISSING_TOKENS
from envmon.registry.common import (
    Report,
    csv_bytes,
    header_columns,
    install,
    read_header,
    read_text,
    row_fields,
)

# Section lists: header -> field. 断面名称 etc. as the release writes them.
WATER_HEADERS = {"省份": "province", "省": "province", "流域": "basin", "断面名称": "section",
                 "断面": "section", "所在地市": "city", "地市": "city", "城市": "city",
                 "所属河流": "river", "河流": "river", "水体类型": "water_type"}
WATER_REQUIRED = ("province", "basin", "section")
WATER_TYPES = {"河流": "river", "河": "river", "river": "river", "湖库": "lake", "湖泊": "lake",
               "湖": "lake", "水库": "lake", "lake": "lake", "reservoir": "lake"}


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
    data = csv_bytes(columns, rows)
    if not dry_run:
        install(target, data, water.check_sections)
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
        columns = header_columns(headers, path, WATER_HEADERS, WATER_REQUIRED)
        for number, cells in enumerate(payload["tbody"], start=1):
            where = f"{path.name} record {number}"
            if not isinstance(cells, list) or len(cells) < len(headers):
                report.refused.append(f"{where}: not a row of {len(headers)} cells")
                continue
            yield where, _section_fields(cells, columns, section_cell)
        return
    rows = csv.reader(io.StringIO(text, newline=""))
    columns = read_header(rows, path, WATER_HEADERS, WATER_REQUIRED)
    for cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{path.name} line {rows.line_num}"
        record = row_fields(cells, columns, rows.line_num, report)
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


def _plain(cell: object) -> str:
    from envmon.water.sources.cnemc_water import section_cell

    return section_cell(cell)[0] if cell is not None else ""


def _present(text: str | None) -> str:
    text = (text or "").strip()
    return "" if text.lower() in MISSING_TOKENS else text


def _bundled(name: str) -> Path:
    from envmon.core.settings import REFERENCE_DIR

    return REFERENCE_DIR / name

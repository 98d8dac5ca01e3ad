"""The report as one self-contained HTML file, and its tables as CSV next to it.

Self-contained: styles, charts (inline SVG from charts.py) and the one small
script are inside the file; no CDN, no web font, no request of any kind, so
it opens offline and can be mailed. The script shows tooltips and records
that the charts drew: it sets `data-charts-drawn` on <body> to the number
of `svg.chart` elements that laid out with marks (the file says how many it
holds in `data-charts-expected`), and `window.onerror` writes a
`#script-error` marker (and `data-script-error`) into the page.
"""

from __future__ import annotations

import csv
import math
import os
from datetime import date, timedelta
from functools import cache
from html import escape
from pathlib import Path

import pandas as pd

from envmon.core.atomic import write_atomic
from envmon.reporting import charts
from envmon.reporting.charts import STATUS_COLOURS, Category, SectionRow, TrendPanel
from envmon.reporting.config import Indicator
from envmon.reporting.report import ReportData, csv_dir_for
from envmon.reporting.status import STATUS_ZH, STATUSES

DOMAIN_TITLES = {"air": ("Air", "大气"), "water": ("Water", "水"),
                 "hazwaste": ("Hazardous waste", "危险废物")}
SEVERITY_COLOURS = {"critical": "#7b1fa2", "high": "#c62828", "warning": "#ef6c00",
                    "info": "#1565c0"}

# The CSV exports: file name -> (table key, what it holds).
CSV_TABLES = {
    "status.csv": ("status", "every indicator for the area: month and year to date"),
    "status_by_area.csv": ("status_by_area", "every indicator for the areas one level down"),
    "commitment_status.csv": ("commitment_status", "the full commitment_status rows of this "
                                                   "report (every area)"),
    "pm25_daily.csv": ("pm25_daily", "valid daily PM2.5 per city"),
    "pm25_monthly.csv": ("pm25_monthly", "monthly PM2.5 means per city"),
    "aqi_calendar.csv": ("aqi_calendar", "daily AQI and category per city"),
    "water_sections.csv": ("water_sections", "cross-boundary sections' monthly classes"),
    "hw_flows.csv": ("hw_flows", "hazardous-waste tonnes between provinces"),
    "open_alerts.csv": ("open_alerts", "open alerts"),
    "open_anomalies.csv": ("open_anomalies", "open high-severity manifest anomalies"),
}


@cache
def categories_with_colours() -> tuple[Category, ...]:
    """HJ 633 categories (reference/standards/aqi_categories.csv) with their
    colours (reference/reporting/aqi_colours.csv)."""
    from envmon.air.standards import categories
    from envmon.core.errors import ConfigError
    from envmon.core.reference import reference_path

    path = reference_path("reporting/aqi_colours.csv")
    colours = pd.read_csv(path, dtype=str, keep_default_na=False)
    by_level = {int(r["level"]): f"#{int(r['r']):02x}{int(r['g']):02x}{int(r['b']):02x}"
                for r in colours.to_dict("records")}
    out = []
    for row in categories().itertuples(index=False):
        if int(row.level) not in by_level:
            raise ConfigError(f"{path}: no colour for AQI category level {row.level}")
        high = None if pd.isna(row.aqi_high) else float(row.aqi_high)
        out.append(Category(int(row.level), float(row.aqi_low), high, row.name_zh, row.name_en,
                            by_level[int(row.level)]))
    return tuple(out)


# ------------------------------------------------------------------ format


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def fmt(value: object, ind: Indicator | None = None, *, unit: bool = True) -> str:
    if _missing(value):
        return "–"
    number = float(value)  # type: ignore[arg-type]
    if ind is not None and ind.measure == "both_down":
        return "yes 是" if number >= 1 else "no 否"
    decimals = ind.decimals if ind is not None else 1
    text = f"{number:,.{decimals}f}"
    if unit and ind is not None:
        text += "%" if ind.unit == "%" else f" {ind.unit}"
    return text


def fmt_target(value: object, ind: Indicator) -> str:
    if _missing(value):
        return "–"
    sign = "≤" if ind.direction == "lower" else "≥"
    return f"{sign} {fmt(value, ind)}"


def pill(status: object) -> str:
    if _missing(status):
        return '<span class="pill none">–</span>'
    s = str(status)
    return (f'<span class="pill" style="background:{STATUS_COLOURS[s]};color:'
            f'{charts.text_colour(STATUS_COLOURS[s])}">{escape(s)} {STATUS_ZH[s]}</span>')


def capture(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):.0%}"  # type: ignore[arg-type]


def h(text: object) -> str:
    return escape("" if _missing(text) else str(text))


# ------------------------------------------------------------------ render


def render_report(data: ReportData, out: Path) -> int:
    """Write the HTML to `out` and the CSVs to `<stem>_csv/`; return the chart count."""
    csv_dir = csv_dir_for(out)
    sections = [
        _summary(data),
        _status_section(data),
        _by_area_section(data),
        _pm25_section(data),
        _aqi_section(data),
        _water_section(data),
        _hw_section(data),
        _alerts_section(data),
        _definitions_section(data, csv_dir.name),
    ]
    body = "\n".join(sections)
    n_charts = body.count('<svg class="chart"')
    page = _page(data, body, n_charts)
    tables = dict(data.tables)
    tables["commitment_status"] = data.status
    write_csvs(tables, csv_dir)
    write_public(out, page.encode("utf-8"))
    return n_charts


def write_public(path: Path, data: bytes) -> None:
    """Write atomically, readable by all (a report is published: a bureau's web
    server or a shared folder serves it), unlike the private temporary file."""
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)

    write_atomic(path, write)


def write_csvs(tables: dict[str, pd.DataFrame], csv_dir: Path) -> None:
    """One CSV per report table, UTF-8 with a BOM so spreadsheet programs read
    the Chinese names correctly."""
    csv_dir.mkdir(parents=True, exist_ok=True)
    for name, (key, _) in CSV_TABLES.items():
        frame = tables.get(key, pd.DataFrame())
        text = frame.to_csv(index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        write_public(csv_dir / name, ("\ufeff" + text).encode("utf-8"))


def _title(data: ReportData) -> tuple[str, str]:
    area = data.area
    return (f"Joint-protection commitments: {area.name_en}, {data.month.start:%B %Y}",
            f"{area.name_zh}生态环境共保联治目标进展 {data.month.start.year}年"
            f"{data.month.start.month}月")


def _page(data: ReportData, body: str, n_charts: int) -> str:
    en, zh = _title(data)
    examples = any(i.example for i in data.config.indicators.values())
    banner = ('<p class="banner">EXAMPLE TARGETS 示例目标: the targets in this report are '
              "examples shipped with envmon (config/commitments.yaml), not a bureau's "
              "commitments. 本报告中的目标为示例值，须由主管部门替换。</p>") if examples else ""
    through = " · ".join(f"{d}: {v}" for d, v in data.data_through.items())
    month_state = "" if data.month.over else " (month not over 本月未结束)"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{h(en)}</title>
<style>{CSS}</style>
<script>{ERROR_SCRIPT}</script>
</head>
<body data-charts-expected="{n_charts}" data-report-period="{data.month.label}"
      data-region="{h(data.area.code)}">
<header>
<h1>{h(en)}<br><span class="zh">{h(zh)}</span></h1>
<p class="meta">Period 报告期 <b>{data.month.label}</b>{month_state} · year to date 年度累计
{data.year.start:%Y-%m-%d} to {data.year.last_day:%Y-%m-%d} · data through 数据截至: {h(through)}
· generated 生成 {data.generated_at:%Y-%m-%d %H:%M} UTC</p>
{banner}
</header>
<main>
{body}
</main>
<div id="tip" class="tip" hidden></div>
<script>{MAIN_SCRIPT}</script>
</body>
</html>
"""


def _indicators(data: ReportData) -> dict[str, Indicator]:
    return data.config.indicators


def _summary(data: ReportData) -> str:
    rows = data.tables["status"]
    inds = _indicators(data)
    items = []
    for kind, label in (("month", f"{data.month.label}"), ("year", f"{data.year.label}")):
        col = f"{kind}_status"
        if col not in rows:
            continue
        for status, css in (("missed", "missed"), ("at risk", "risk")):
            hits = rows[rows[col] == status]
            if len(hits):
                names = ", ".join(
                    f"{r.title} ({fmt(getattr(r, f'{kind}_value'), inds[r.indicator])})"
                    for r in hits.itertuples())
                items.append(f'<li class="{css}"><b>{len(hits)} {status} {STATUS_ZH[status]}'
                             f"</b> in {label}: {h(names)}</li>")
        if kind == "month":
            met = rows[rows[col].isin(["met"])]
            if len(met):
                items.append(f"<li class='ok'><b>{len(met)} met 达标</b> in {label}: "
                             + h(", ".join(r.title for r in met.itertuples())) + "</li>")
    no_data = rows[rows.get("year_status", pd.Series(dtype=str)) == "not enough data"]
    if len(no_data):
        items.append(f"<li class='nodata'><b>{len(no_data)} not enough data 数据不足</b> for the "
                     f"year {data.year.label}: the data so far cannot meet the validity rules "
                     "(see the data capture column)</li>")
    counts = []
    for kind, label in (("month", f"Month 本月 {data.month.label}"),
                        ("year", f"Year 年度 {data.year.label}")):
        col = f"{kind}_status"
        if col in rows:
            counts.append((label, rows[col].dropna().value_counts().to_dict()))
    bars = charts.status_bars(counts, STATUSES, {s: f"{s} {STATUS_ZH[s]}" for s in STATUSES})
    return f"""<section id="summary">
<h2>At a glance 概览 — {h(data.area.label)}</h2>
<div class="two"><ul class="messages">{''.join(items) or '<li>No indicator computed.</li>'}</ul>
<div>{bars}</div></div>
</section>"""


def _status_section(data: ReportData) -> str:
    rows = data.tables["status"]
    inds = _indicators(data)
    out = []
    current = None
    for r in rows.to_dict("records"):
        ind = inds[r["indicator"]]
        if ind.domain != current:
            current = ind.domain
            en, zh = DOMAIN_TITLES[current]
            out.append(f'<tr class="group"><th colspan="10">{en} {zh}</th></tr>')
        name = (f'<td class="name"><b>{h(ind.title)}</b><br><span class="zh">{h(ind.title_zh)}'
                f'</span></td>')
        if not r.get("assessed"):
            out.append(f'<tr>{name}<td colspan="9" class="muted">not assessed at the '
                       f'{data.area.level} level ({", ".join(ind.levels)} only)</td></tr>')
            continue
        month = (f'<td class="num">{fmt(r.get("month_value"), ind)}</td>'
                 f'<td class="num">{fmt_target(r.get("month_target"), ind)}</td>'
                 f'<td>{pill(r.get("month_status"))}</td>') if "month_status" in r and \
            not _missing(r.get("month_status")) else '<td colspan="3" class="muted">–</td>'
        detail = r.get("year_detail") or ""
        method = r.get("projection_method") or ""
        proj = fmt(r.get("year_projection"), ind)
        proj_cell = (f'<td class="num" title="{h(method)}">{proj}</td>')
        tip = h(f"{r.get('month_detail') or ''} | year: {detail}")
        out.append(
            f'<tr title="{tip}">{name}{month}'
            f'<td class="num">{fmt(r.get("year_value"), ind)}</td>'
            f'<td class="num">{fmt_target(r.get("year_target"), ind)}</td>'
            f'<td>{pill(r.get("year_status"))}</td>'
            f'<td class="num">{capture(r.get("year_capture"))}</td>{proj_cell}'
            f'<td class="detail">{h(detail)}</td></tr>')
    return f"""<section id="status">
<h2>1. Commitments 目标进展</h2>
<p class="note">Values are rounded (GB/T 8170) before comparison. For the year (not over),
the status judges the <i>projection</i> of the whole year; the data capture is the share of
the days (air, hazardous waste) or section-months (water) so far that have valid data.
Hover a row for the details. 年度未结束时按全年预测值判断。</p>
<table class="status">
<thead><tr><th rowspan="2">Indicator 指标</th>
<th colspan="3">Month 本月 {data.month.label}</th>
<th colspan="6">Year to date 年度累计 {data.year.label}</th></tr>
<tr><th>value 数值</th><th>target 目标</th><th>status 状态</th>
<th>value 数值</th><th>target 目标</th><th>status 状态</th><th>data capture 数据获取率</th>
<th>projection 全年预测</th><th>detail 说明</th></tr></thead>
<tbody>{''.join(out)}</tbody></table>
</section>"""


def _by_area_section(data: ReportData) -> str:
    table = data.tables["status_by_area"]
    children = data.areas.children(data.area)
    if not children:
        return ""
    inds = [i for i in _indicators(data).values() if children[0].level in i.levels]
    header = "".join(f'<th title="{h(i.title)} {h(i.title_zh)}">{h(i.short)}<br>'
                     f'<span class="zh">{h(i.title_zh)}</span></th>' for i in inds)

    def matrix(kind: str) -> str:
        part = table[table["period_kind"] == kind]
        lookup = {(r["region"], r["indicator"]): r for r in part.to_dict("records")}
        lines = []
        for area in children:
            cells = []
            for ind in inds:
                r = lookup.get((area.code, ind.id))
                if r is None:
                    cells.append('<td class="muted">–</td>')
                    continue
                colour = STATUS_COLOURS[r["status"]]
                cells.append(f'<td class="cell" style="background:{colour};color:'
                             f'{charts.text_colour(colour)}" title="{h(r["status"])} '
                             f'{STATUS_ZH[r["status"]]}; target {fmt_target(r["target"], ind)}">'
                             f'{fmt(r["value"], ind, unit=False)}</td>')
            lines.append(f'<tr><th class="name">{h(area.name_en)} <span class="zh">'
                         f'{h(area.name_zh)}</span></th>{"".join(cells)}</tr>')
        return (f'<table class="matrix"><thead><tr><th></th>{header}</tr></thead>'
                f'<tbody>{"".join(lines)}</tbody></table>')

    level = "provinces 各省市" if children[0].level == "province" else "cities 各城市"
    return f"""<section id="areas">
<h2>2. By area 分地区 — {level}</h2>
<p class="note">Cell colour = status (legend above); cell text = value.
Month {data.month.label}:</p>
{matrix("month")}
<details><summary>Year to date {data.year.label} 年度累计</summary>{matrix("year")}</details>
</section>"""


def _pm25_section(data: ReportData) -> str:
    daily = data.tables["pm25_daily"]
    monthly = data.tables["pm25_monthly"]
    ind = data.config.indicators.get("pm25_mean") or next(
        (i for i in data.config.indicators.values() if i.measure == "air_mean"), None)
    if ind is None or daily.empty:
        return _empty_section("pm25", "3. PM2.5 trend by city 各城市PM2.5变化趋势",
                              data.notes.get("pm25", "no valid daily PM2.5 in the period"))
    status = data.status
    year_rows = status[(status["indicator"] == ind.id) & (status["level"] == "city")
                       & (status["period_kind"] == "year")].set_index("region")
    first = date.fromisoformat(data.notes.get("pm25_first", data.month.start.isoformat()))
    last = data.month.end
    # The axis shows the bulk of the days (98th percentile) and the target;
    # the rare higher day is drawn at the top edge (its tooltip says more).
    y_max = charts.nice_max(max(float(daily["pm25"].quantile(0.98)), ind.target * 1.5))
    panels = []
    order = (year_rows["value"].sort_values(ascending=False).index.tolist()
             if not year_rows.empty else [])
    cities = sorted(daily["city_code"].unique(), key=lambda c: (order.index(c)
                                                               if c in order else 999, c))
    for code in cities:
        rows = daily[daily["city_code"] == code]
        means = monthly[monthly["city_code"] == code]
        mids = [(date.fromisoformat(f"{m}-15"), float(v))
                for m, v in zip(means["month"], means["pm25_mean"], strict=True)]
        yr = year_rows.loc[code] if code in year_rows.index else None
        panel = TrendPanel(f"{rows['city'].iloc[0]} {rows['city_zh'].iloc[0]}",
                           list(rows["date"]), [float(v) for v in rows["pm25"]], mids,
                           None if yr is None or _missing(yr["value"]) else float(yr["value"]),
                           "not enough data" if yr is None else str(yr["status"]))
        target = ind.target_for(code)
        svg = charts.trend_small_multiple(panel, first, last, target, y_max, ind.unit)
        panels.append(f'<div class="panel">{svg}</div>')
    return f"""<section id="pm25">
<h2>3. PM2.5 trend by city against target 各城市PM2.5浓度与目标</h2>
<p class="note">Blue line: valid daily PM2.5 (µg/m³); dots: monthly means (red above the
target, green at or below); dashed red: the annual target ({fmt_target(ind.target, ind)},
{'example' if ind.example else 'target'}). Top right: the mean so far this year, coloured by
the year's status. Cities from the highest mean.</p>
<div class="grid">{''.join(panels)}</div>
</section>"""


def _aqi_section(data: ReportData) -> str:
    frame = data.tables["aqi_calendar"]
    if frame.empty:
        return _empty_section("aqi", "4. Daily AQI calendar 每日空气质量日历",
                              "no daily AQI in the month")
    days = [data.month.start + timedelta(days=i)
            for i in range((data.month.last_day - data.month.start).days + 1)]
    rows = []
    for code in sorted(frame["city_code"].unique()):
        part = frame[frame["city_code"] == code]
        by_day = {d: (float(a), "" if _missing(p) else str(p))
                  for d, a, p in zip(part["date"], part["aqi"], part["primary_pollutant"],
                                     strict=True)}
        rows.append((f"{part['city'].iloc[0]} {part['city_zh'].iloc[0]}", by_day))
    svg = charts.aqi_calendar(rows, days, categories_with_colours())
    counts = frame["category"].value_counts()
    parts = ", ".join(f"{n} {c}" for c, n in counts.items())
    return f"""<section id="aqi">
<h2>4. Daily AQI calendar 每日空气质量指数日历 ({data.month.label})</h2>
<p class="note">Each square is a city-day coloured by its HJ 633 category (colours of
HJ 633-2012 Appendix A); a dashed square has no valid daily AQI. City-days: {h(parts)}.</p>
<div class="scroll">{svg}</div>
</section>"""


def _water_section(data: ReportData) -> str:
    frame = data.tables["water_sections"]
    if frame.empty:
        return _empty_section("water", "5. Cross-boundary sections 跨界断面水质",
                              data.notes.get("water", "no cross-boundary section data"))
    months = sorted(frame["month"].unique())
    colours = data.config.report.get("water_class_colours", {})
    rows = []
    this_month = f"{data.month.start:%Y-%m}"
    table = []
    for code in sorted(frame["section_code"].unique()):
        part = frame[frame["section_code"] == code]
        first = part.iloc[0]
        label = f"{first['section_name']} {code} · {first['upstream']}→{first['downstream']}"
        classes = {r["month"]: (str(r["water_class"]) if not _missing(r["water_class"]) else "?",
                                None if _missing(r["compliant"]) else bool(r["compliant"]))
                   for r in part.to_dict("records")}
        rows.append(SectionRow(label, str(first["target_class"]), classes))
        now = part[part["month"] == this_month]
        off = int((part["compliant"] == False).sum())  # noqa: E712 - NULL stays out
        cls = now["water_class"].iloc[0] if len(now) else None
        comp = now["compliant"].iloc[0] if len(now) else None
        verdict = ("–" if _missing(comp) else ("meets 达标" if comp else "misses 未达标"))
        table.append(f"<tr><td>{h(first['section_name'])} <span class='muted'>{h(code)}</span>"
                     f"</td><td>{h(first['upstream'])} → {h(first['downstream'])}</td>"
                     f"<td class='c'>{h(first['target_class'])}</td><td class='c'>{h(cls)}</td>"
                     f"<td>{verdict}</td><td class='c'>{off} of {len(part)}</td>"
                     f"<td>{h(now['deciding_items'].iloc[0] if len(now) else '')}</td></tr>")
    svg = charts.water_grid(rows, months, colours)
    return f"""<section id="water">
<h2>5. Cross-boundary sections: monthly class against target 跨界断面月度水质类别与目标</h2>
<p class="note">GB 3838-2002 classes by the single-factor method (water domain); a red frame
and ✗ mark a month worse than the section's target class. Colours are a display convention.</p>
<div class="scroll">{svg}</div>
<table class="list"><thead><tr><th>section 断面</th><th>upstream → downstream 上游→下游</th>
<th>target 目标</th><th>{this_month}</th><th>verdict 评价</th><th>months off target 超标月数</th>
<th>deciding items 定类因子</th></tr></thead><tbody>{''.join(table)}</tbody></table>
</section>"""


def _hw_section(data: ReportData) -> str:
    frame = data.tables["hw_flows"]
    if frame.empty:
        return _empty_section("hw", "6. Hazardous-waste flows 危险废物跨省转移",
                              data.notes.get("hw", "no departures in the month"))
    provinces = [(code, f"{a.name_en} {a.name_zh}") for code, a in data.areas.provinces.items()]
    cross = frame[frame["origin_province_code"] != frame["dest_province_code"]]
    flows = [(r["origin_province_code"], r["dest_province_code"], float(r["shipped_t"] or 0),
              int(r["manifests"])) for r in cross.to_dict("records")]
    svg = charts.flow_diagram(flows, provinces)
    codes = [c for c, _ in provinces]
    lookup = {(r["origin_province_code"], r["dest_province_code"]): r
              for r in frame.to_dict("records")}
    head = "".join(f"<th>{h(data.areas.provinces[c].name_en)}<br><span class='zh'>"
                   f"{h(data.areas.provinces[c].name_zh)}</span></th>" for c in codes)
    body = []
    for o in codes:
        cells = []
        for d in codes:
            r = lookup.get((o, d))
            cls = "diag" if o == d else ""
            cells.append(f"<td class='num {cls}'>" + ("–" if r is None else
                         f"{float(r['shipped_t'] or 0):,.1f} t<br><span class='muted'>"
                         f"{int(r['manifests']):,} manifests</span>") + "</td>")
        body.append(f"<tr><th>{h(data.areas.provinces[o].name_en)} <span class='zh'>"
                    f"{h(data.areas.provinces[o].name_zh)}</span></th>{''.join(cells)}</tr>")
    total_cross = sum(t for _, _, t, _ in flows)
    return f"""<section id="hw">
<h2>6. Hazardous-waste flows between provinces 危险废物省际转移 ({data.month.label})</h2>
<p class="note">Declared tonnes of manifests that departed in the month (hw_flows_monthly);
the diagram shows cross-province transfers ({total_cross:,.1f} t), the table every pair
(grey diagonal: within a province). Rows: from 移出; columns: to 移入.</p>
<div class="two">{svg}
<table class="matrix hw"><thead><tr><th>from \\ to</th>{head}</tr></thead>
<tbody>{''.join(body)}</tbody></table></div>
</section>"""


def _alerts_section(data: ReportData) -> str:
    alerts = data.tables["open_alerts"]
    anomalies = data.tables["open_anomalies"]
    limit = int(data.config.report.get("max_listed", 25))
    grouped = (alerts.groupby(["rule", "severity"]).size().reset_index(name="n")
               .sort_values("n", ascending=False) if not alerts.empty else pd.DataFrame())
    bars = charts.alert_bars([(f"{r.rule}", r.severity, int(r.n))
                              for r in grouped.itertuples()], SEVERITY_COLOURS)
    # At most 10 per rule, so one noisy rule does not hide the others.
    shown = alerts.groupby("rule", sort=False).head(10).head(limit) if not alerts.empty \
        else alerts
    alert_rows = "".join(
        f"<tr><td><span class='sev' style='background:{SEVERITY_COLOURS.get(r.severity, '#777')}'>"
        f"{h(r.severity)}</span></td><td>{h(r.title)}<br><span class='zh'>{h(r.title_zh)}</span>"
        f"</td><td>{h(r.subject)} {h(r.subject_name)}</td><td>{h(r.period)}</td>"
        f"<td class='detail'>{h(r.detail)}</td></tr>"
        for r in shown.itertuples())
    kinds = (anomalies.groupby("anomaly").size().sort_values(ascending=False)
             if not anomalies.empty else pd.Series(dtype=int))
    kind_text = ", ".join(f"{k} {n}" for k, n in kinds.items()) or "none"
    anomaly_rows = "".join(
        f"<tr><td>{h(r.manifest_no)}</td><td>{h(r.anomaly)}</td><td>{h(r.origin)} → "
        f"{h(r.destination)}</td><td>{h(r.entered)}</td><td class='detail'>{h(r.detail)}"
        f"<br><span class='muted'>{h(r.rule)}</span></td></tr>"
        for r in anomalies.head(limit).itertuples())
    return f"""<section id="alerts">
<h2>7. Open alerts and anomalies 未关闭的告警与异常</h2>
<p class="note">{len(alerts):,} open alerts (envmon alerts; rules in config/alerts.yaml) and
{len(anomalies):,} open high-severity manifest anomalies in this area. The first {limit} of
each are listed (open alerts: at most 10 per rule); the CSV exports hold them all.
{h(data.notes.get('alerts', ''))}</p>
{bars}
<h3>Open alerts 告警</h3>
<table class="list"><thead><tr><th>severity</th><th>alert 告警</th><th>subject 对象</th>
<th>since 起始</th><th>detail 说明</th></tr></thead><tbody>{alert_rows or
    '<tr><td colspan="5" class="muted">none open</td></tr>'}</tbody></table>
<h3>High-severity manifest anomalies 高风险联单异常</h3>
<p class="note">By kind: {h(kind_text)}</p>
<table class="list"><thead><tr><th>manifest 联单</th><th>anomaly 异常</th>
<th>route 路线</th><th>entered 填报</th><th>detail 说明 / rule 依据</th></tr></thead>
<tbody>{anomaly_rows or '<tr><td colspan="5" class="muted">none open</td></tr>'}</tbody></table>
</section>"""


def _definitions_section(data: ReportData, csv_dir_name: str) -> str:
    rows = "".join(
        f"<tr><td><b>{h(i.title)}</b><br><span class='zh'>{h(i.title_zh)}</span></td>"
        f"<td>{h(i.definition)}</td><td>{h(i.standard)}</td><td>{fmt_target(i.target, i)}"
        + (f" (month {fmt_target(i.target_for('', month=True), i)})"
           if i.monthly_target not in (None, 'same') else "")
        + f"<br><span class='muted'>{h(i.target_source)}</span></td></tr>"
        for i in data.config.indicators.values())
    links = " · ".join(f"<a href='{h(csv_dir_name)}/{name}' title='{h(what)}'>{name}</a>"
                       for name, (_, what) in CSV_TABLES.items())
    rules = ("met / missed: the period is over and the value meets / misses the target; "
             "on track: the projection of the period meets the target with at least "
             f"{data.config.indicators[next(iter(data.config.indicators))].at_risk_margin:.0%}"
             " of the target to spare; at risk: it misses, or meets it more narrowly; a count "
             "or sum already beyond its target is missed before the period ends; not enough "
             "data: the data do not meet, or can no longer meet, the validity rules.")
    return f"""<section id="definitions">
<h2>Indicators, sources and status rules 指标定义、依据与判定规则</h2>
<p class="note">{h(rules)}</p>
<table class="list defs"><thead><tr><th>indicator 指标</th><th>definition 定义</th>
<th>standard 依据</th><th>target 目标 (source 来源)</th></tr></thead><tbody>{rows}</tbody></table>
<p class="note">CSV exports of every table 表格导出: {links}</p>
<p class="note">Computed by envmon from the warehouse (commitment_status); configuration
{h(data.config.path or 'config/commitments.yaml')}.</p>
</section>"""


def _empty_section(anchor: str, title: str, reason: str) -> str:
    return (f'<section id="{anchor}"><h2>{h(title)}</h2><p class="muted">Not shown: '
            f"{h(reason)}.</p></section>")


ERROR_SCRIPT = """
window.onerror = function (message, source, line) {
  var text = 'Report script error: ' + message + (line ? ' (line ' + line + ')' : '');
  function mark() {
    var box = document.getElementById('script-error');
    if (!box) {
      box = document.createElement('div');
      box.id = 'script-error';
      box.className = 'script-error';
      document.body.insertBefore(box, document.body.firstChild);
    }
    box.textContent = text;
    document.body.setAttribute('data-script-error', String(message));
  }
  if (document.body) { mark(); } else { document.addEventListener('DOMContentLoaded', mark); }
  return false;
};
"""

MAIN_SCRIPT = """
(function () {
  var charts = document.querySelectorAll('svg.chart');
  var drawn = 0;
  for (var i = 0; i < charts.length; i++) {
    var box = charts[i].getBBox();
    if (box.width > 0 && box.height > 0 && charts[i].querySelector('[data-mark]')) {
      charts[i].setAttribute('data-drawn', '1');
      drawn++;
    }
  }
  var tip = document.getElementById('tip');
  document.addEventListener('mouseover', function (e) {
    var target = e.target.closest ? e.target.closest('[data-tip]') : null;
    if (!target) { tip.hidden = true; return; }
    tip.textContent = target.getAttribute('data-tip');
    tip.hidden = false;
  });
  document.addEventListener('mousemove', function (e) {
    if (!tip.hidden) {
      tip.style.left = (e.pageX + 14) + 'px';
      tip.style.top = (e.pageY + 14) + 'px';
    }
  });
  document.body.dataset.chartsDrawn = String(drawn);
})();
"""

CSS = """
:root { --ink: #222; --muted: #777; --line: #e3e3e3; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC",
  "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1320px; padding: 16px 22px 40px; font-size: 14px;
  line-height: 1.4; background: #fff; }
h1 { font-size: 22px; margin: 0 0 6px; } h1 .zh { font-size: 18px; font-weight: 500; }
h2 { font-size: 17px; margin: 26px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #444; }
h3 { font-size: 14px; margin: 16px 0 6px; }
.meta { color: #555; margin: 4px 0; font-size: 13px; }
.banner { background: #fff3cd; border: 1px solid #e0b400; padding: 6px 10px; margin: 8px 0;
  font-size: 13px; }
.note { color: #555; font-size: 12.5px; margin: 4px 0 8px; }
.muted { color: var(--muted); } .zh { color: #444; }
.two { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.two > * { flex: 1 1 480px; }
ul.messages { margin: 0; padding-left: 18px; } ul.messages li { margin: 3px 0; }
li.missed b { color: #c62828; } li.risk b { color: #b07d00; } li.ok b { color: #2e7d32; }
li.nodata b { color: #666; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; vertical-align: top;
  text-align: left; }
thead th { background: #f4f4f4; font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; white-space: nowrap; } td.c { text-align: center; }
td.detail { color: #555; font-size: 11.5px; max-width: 360px; }
td.name { min-width: 190px; }
tr.group th { background: #e8eef5; font-size: 13px; }
.pill { display: inline-block; border-radius: 10px; padding: 1px 8px; font-size: 11.5px;
  white-space: nowrap; }
.pill.none { background: #eee; color: #777; }
table.matrix td.cell { text-align: center; font-weight: 600; white-space: nowrap; }
table.matrix th { text-align: center; font-size: 11px; }
table.matrix th.name { text-align: left; white-space: nowrap; }
table.matrix.hw td.diag { background: #f2f2f2; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(232px, 1fr)); gap: 6px; }
.panel { border: 1px solid var(--line); border-radius: 4px; padding: 2px; }
.scroll { overflow-x: auto; }
.sev { color: #fff; border-radius: 3px; padding: 0 5px; font-size: 11px; }
details summary { cursor: pointer; margin: 8px 0; color: #333; }
.tip { position: absolute; background: rgba(20,20,20,.92); color: #fff; padding: 4px 8px;
  border-radius: 4px; font-size: 12px; pointer-events: none; max-width: 420px; z-index: 10; }
.script-error { background: #c62828; color: #fff; padding: 8px 12px; font-weight: 600; }
svg.chart { max-width: 100%; height: auto; }
@media print { body { max-width: none; padding: 0; } details { display: block; }
  .tip { display: none; } h2 { break-after: avoid; } section { break-inside: avoid-page; } }
"""

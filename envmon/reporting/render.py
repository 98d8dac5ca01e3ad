"""The report as one self-contained HTML file, and its tables as CSV next to it.

Self-contained: styles, charts (inline SVG from charts.py) and the one small
script are inside the file; no CDN, no web font, no request of any kind, so
it opens offline and can be mailed. The script shows tooltips and records
that the charts drew: it sets `data-charts-drawn` on <body> to the number
of `svg.chart` elements that laid out with marks (the file says how many it
holds in `data-charts-expected`), and `window.onerror` writes a
`#script-error` marker (and `data-script-error`) into the page.

The page is drawn from the Jinja2 templates in templates/ (autoescaped, with
the escaping of the standard library's html.escape); the charts are SVG
strings from charts.py, marked safe.
"""

from __future__ import annotations

import csv
import math
import os
from datetime import date, timedelta
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, Template, select_autoescape
from markupsafe import Markup

from envmon.core.atomic import write_atomic
from envmon.reporting import charts
from envmon.reporting.charts import STATUS_COLOURS, SectionRow, TrendPanel
from envmon.reporting.config import Indicator
from envmon.reporting.status import STATUS_ZH, STATUSES
from envmon.reporting.tables import ReportData, categories_with_colours

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


def capture(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):.0%}"  # type: ignore[arg-type]


# ------------------------------------------------------------------ templates


def _escape(value: Any) -> Any:
    """Every `{{ value }}`: a missing value is empty, safe markup (a chart, a
    macro) stays as it is, anything else is escaped as html.escape does."""
    if isinstance(value, Markup):
        return value
    return Markup(escape("" if _missing(value) else str(value)))


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("envmon.reporting", "templates"),
                      autoescape=select_autoescape(["html", "html.j2"]), finalize=_escape,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(fmt=fmt, fmt_target=fmt_target, capture=capture, missing=_missing,
                       text_colour=charts.text_colour, STATUS_COLOURS=STATUS_COLOURS,
                       STATUS_ZH=STATUS_ZH, SEVERITY_COLOURS=SEVERITY_COLOURS)
    return env


def template(name: str) -> Template:
    return environment().get_template(name)


def _section(name: str, data: ReportData, **context: Any) -> Markup:
    return Markup(template(f"sections/{name}.html.j2").render(
        area=data.area, month=data.month, year=data.year, **context))


def _empty_section(anchor: str, title: str, reason: str) -> Markup:
    return template("macros.html.j2").module.empty(anchor, title, reason)  # type: ignore[attr-defined]


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
    body = Markup("\n").join(sections)
    n_charts = body.count('<svg class="chart"')
    page = _page(data, body, n_charts)
    tables = dict(data.tables)
    tables["commitment_status"] = data.status
    write_csvs(tables, csv_dir)
    write_public(out, page.encode("utf-8"))
    return n_charts


def csv_dir_for(html: Path) -> Path:
    return html.with_name(f"{html.stem}_csv")


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


def _page(data: ReportData, body: Markup, n_charts: int) -> str:
    en, zh = _title(data)
    return template("report.html.j2").render(
        title_en=en, title_zh=zh, body=body, n_charts=n_charts, area=data.area,
        month=data.month, year=data.year, generated_at=data.generated_at,
        through=" · ".join(f"{d}: {v}" for d, v in data.data_through.items()),
        examples=any(i.example for i in data.config.indicators.values()))


def _indicators(data: ReportData) -> dict[str, Indicator]:
    return data.config.indicators


def _summary(data: ReportData) -> Markup:
    rows = data.tables["status"]
    inds = _indicators(data)
    items: list[dict[str, Any]] = []
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
                items.append({"kind": status, "css": css, "count": len(hits), "label": label,
                              "names": names})
        if kind == "month":
            met = rows[rows[col].isin(["met"])]
            if len(met):
                items.append({"kind": "met", "count": len(met), "label": label,
                              "names": ", ".join(r.title for r in met.itertuples())})
    no_data = rows[rows.get("year_status", pd.Series(dtype=str)) == "not enough data"]
    if len(no_data):
        items.append({"kind": "no data", "count": len(no_data), "label": data.year.label})
    counts = []
    for kind, label in (("month", f"Month 本月 {data.month.label}"),
                        ("year", f"Year 年度 {data.year.label}")):
        col = f"{kind}_status"
        if col in rows:
            counts.append((label, rows[col].dropna().value_counts().to_dict()))
    bars = charts.status_bars(counts, STATUSES, {s: f"{s} {STATUS_ZH[s]}" for s in STATUSES})
    return _section("summary", data, items=items, bars=Markup(bars))


def _status_section(data: ReportData) -> Markup:
    inds = _indicators(data)
    rows = []
    current = None
    for r in data.tables["status"].to_dict("records"):
        ind = inds[r["indicator"]]
        group = None
        if ind.domain != current:
            current = ind.domain
            group = DOMAIN_TITLES[current]
        month = "month_status" in r and not _missing(r.get("month_status"))
        rows.append({"ind": ind, "r": r, "group": group, "month": month})
    return _section("status", data, rows=rows)


def _by_area_section(data: ReportData) -> str:
    table = data.tables["status_by_area"]
    children = data.areas.children(data.area)
    if not children:
        return ""
    inds = [i for i in _indicators(data).values() if children[0].level in i.levels]
    lookup = {kind: {(r["region"], r["indicator"]): r
                     for r in table[table["period_kind"] == kind].to_dict("records")}
              for kind in ("month", "year")}
    level = "provinces 各省市" if children[0].level == "province" else "cities 各城市"
    return _section("areas", data, children=children, inds=inds, lookup=lookup, level=level)


def _pm25_section(data: ReportData) -> Markup:
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
        panels.append(Markup(charts.trend_small_multiple(panel, first, last, target, y_max,
                                                         ind.unit)))
    return _section("pm25", data, ind=ind, panels=panels)


def _aqi_section(data: ReportData) -> Markup:
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
    return _section("aqi", data, svg=Markup(svg), parts=parts)


def _water_section(data: ReportData) -> Markup:
    frame = data.tables["water_sections"]
    if frame.empty:
        return _empty_section("water", "5. Cross-boundary sections 跨界断面水质",
                              data.notes.get("water", "no cross-boundary section data"))
    months = sorted(frame["month"].unique())
    colours = data.config.report.get("water_class_colours", {})
    rows = []
    this_month = f"{data.month.start:%Y-%m}"
    sections = []
    for code in sorted(frame["section_code"].unique()):
        part = frame[frame["section_code"] == code]
        first = part.iloc[0]
        label = f"{first['section_name']} {code} · {first['upstream']}→{first['downstream']}"
        classes = {r["month"]: (str(r["water_class"]) if not _missing(r["water_class"]) else "?",
                                None if _missing(r["compliant"]) else bool(r["compliant"]))
                   for r in part.to_dict("records")}
        rows.append(SectionRow(label, str(first["target_class"]), classes))
        now = part[part["month"] == this_month]
        comp = now["compliant"].iloc[0] if len(now) else None
        sections.append({
            "name": first["section_name"], "code": code, "upstream": first["upstream"],
            "downstream": first["downstream"], "target_class": first["target_class"],
            "water_class": now["water_class"].iloc[0] if len(now) else None,
            "verdict": "–" if _missing(comp) else ("meets 达标" if comp else "misses 未达标"),
            "off": int((part["compliant"] == False).sum()),  # noqa: E712 - NULL stays out
            "months": len(part),
            "deciding_items": now["deciding_items"].iloc[0] if len(now) else ""})
    svg = charts.water_grid(rows, months, colours)
    return _section("water", data, svg=Markup(svg), sections=sections, this_month=this_month)


def _hw_section(data: ReportData) -> Markup:
    frame = data.tables["hw_flows"]
    if frame.empty:
        return _empty_section("hw", "6. Hazardous-waste flows 危险废物跨省转移",
                              data.notes.get("hw", "no departures in the month"))
    provinces = [(code, f"{a.name_en} {a.name_zh}") for code, a in data.areas.provinces.items()]
    cross = frame[frame["origin_province_code"] != frame["dest_province_code"]]
    flows = [(r["origin_province_code"], r["dest_province_code"], float(r["shipped_t"] or 0),
              int(r["manifests"])) for r in cross.to_dict("records")]
    svg = charts.flow_diagram(flows, provinces)
    lookup = {(r["origin_province_code"], r["dest_province_code"]):
              {"tonnes": float(r["shipped_t"] or 0), "manifests": int(r["manifests"])}
              for r in frame.to_dict("records")}
    return _section("hw", data, svg=Markup(svg), lookup=lookup,
                    provinces=list(data.areas.provinces.values()),
                    total_cross=sum(t for _, _, t, _ in flows))


def _alerts_section(data: ReportData) -> Markup:
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
    kinds = (anomalies.groupby("anomaly").size().sort_values(ascending=False)
             if not anomalies.empty else pd.Series(dtype=int))
    return _section("alerts", data, n_alerts=len(alerts), n_anomalies=len(anomalies),
                    limit=limit, note=data.notes.get("alerts", ""), bars=Markup(bars),
                    alerts=list(shown.itertuples()),
                    anomalies=list(anomalies.head(limit).itertuples()),
                    kind_text=", ".join(f"{k} {n}" for k, n in kinds.items()) or "none")


def _definitions_section(data: ReportData, csv_dir_name: str) -> Markup:
    rules = ("met / missed: the period is over and the value meets / misses the target; "
             "on track: the projection of the period meets the target with at least "
             f"{data.config.indicators[next(iter(data.config.indicators))].at_risk_margin:.0%}"
             " of the target to spare; at risk: it misses, or meets it more narrowly; a count "
             "or sum already beyond its target is missed before the period ends; not enough "
             "data: the data do not meet, or can no longer meet, the validity rules.")
    return _section("definitions", data, rules=rules,
                    indicators=list(data.config.indicators.values()),
                    csv_tables=[(name, what) for name, (_, what) in CSV_TABLES.items()],
                    csv_dir=csv_dir_name,
                    config_path=data.config.path or "config/commitments.yaml")

"""The report's tables, gathered from the warehouse for one area.

Every table the report shows is a DataFrame here; render.py draws it and
writes it as CSV next to the HTML (`<name>_csv/<table>.csv`), so the CSVs
are exactly the report's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import pandas as pd

from envmon.air.standards import categories
from envmon.core.errors import ConfigError
from envmon.core.reference import reference_path
from envmon.reporting.areas import Area, Areas, in_area
from envmon.reporting.charts import Category, category_of
from envmon.reporting.config import Commitments
from envmon.reporting.periods import Period, report_periods
from envmon.reporting.status import StatusRun


@dataclass
class ReportData:
    config: Commitments
    areas: Areas
    area: Area
    year: Period
    month: Period
    status: pd.DataFrame  # every row of the run (all areas)
    generated_at: datetime
    data_through: dict[str, str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)



@cache
def categories_with_colours() -> tuple[Category, ...]:
    """HJ 633 categories (reference/standards/aqi_categories.csv) with their
    colours (reference/reporting/aqi_colours.csv)."""
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


def selected_rows(data: ReportData) -> pd.DataFrame:
    s = data.status
    return s[(s["region"] == data.area.code) & (s["level"] == data.area.level)]


# ------------------------------------------------------------------ gather


def gather(run: StatusRun, config: Commitments, areas: Areas, area: Area, con: Any,
           today: date | None = None) -> ReportData:
    year, month = report_periods(run.report_period, run.as_of, today)
    status = pd.DataFrame(run.rows)
    views = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
             .fetchall()}
    data = ReportData(config, areas, area, year, month, status, datetime.now(UTC),
                      _data_through(con, views))
    data.tables["status"] = status_table(data)
    data.tables["status_by_area"] = status_by_area(data)
    data.tables["pm25_daily"], data.tables["pm25_monthly"] = pm25_trend(data, con, views)
    data.tables["aqi_calendar"] = aqi_calendar(data, con, views)
    data.tables["water_sections"] = water_sections(data, con, views)
    data.tables["hw_flows"] = hw_flows(data, con, views)
    data.tables["open_alerts"] = open_alerts(data, con, views)
    data.tables["open_anomalies"] = open_anomalies(data, con, views)
    return data


def _data_through(con: Any, views: set[str]) -> dict[str, str]:
    queries = {
        "air": ("air_daily_city", "SELECT max(date) FROM air_daily_city WHERE aqi IS NOT NULL"),
        "water": ("water_section_monthly", "SELECT max(CAST(month AS VARCHAR)) "
                                           "FROM water_section_monthly"),
        "hazwaste": ("hw_manifests", "SELECT max(CAST(timezone('Asia/Shanghai', entered_at) "
                                     "AS DATE)) FROM hw_manifests"),
    }
    out = {}
    for domain, (view, sql) in queries.items():
        value = con.execute(sql).fetchall()[0][0] if view in views else None
        out[domain] = "no data" if value is None else str(value)
    return out


def status_table(data: ReportData) -> pd.DataFrame:
    """One row per indicator for the selected area: the month and the year to date."""
    rows = []
    selected = selected_rows(data)
    for ind in data.config.indicators.values():
        base = {"indicator": ind.id, "domain": ind.domain, "title": ind.title,
                "title_zh": ind.title_zh, "unit": ind.unit, "direction": ind.direction,
                "target_example": ind.example}
        mine = selected[selected["indicator"] == ind.id]
        if mine.empty:
            rows.append({**base, "assessed": False})
            continue
        row = {**base, "assessed": True}
        for kind in ("month", "year"):
            part = mine[mine["period_kind"] == kind]
            if part.empty:
                continue
            r = part.iloc[0]
            row.update({f"{kind}_period": r["period"], f"{kind}_value": r["value"],
                        f"{kind}_target": r["target"], f"{kind}_status": r["status"],
                        f"{kind}_capture": r["data_capture"], f"{kind}_detail": r["detail"]})
            if kind == "year":
                row.update({"year_projection": r["projection"],
                            "projection_method": r["projection_method"]})
        rows.append(row)
    return pd.DataFrame(rows)


def status_by_area(data: ReportData) -> pd.DataFrame:
    """The areas one level down (provinces of the region, cities of a province)."""
    children = data.areas.children(data.area)
    codes = [a.code for a in children]
    s = data.status
    part = s[s["region"].isin(codes) & (s["level"] == (children[0].level if children else ""))]
    return part[["region", "region_name", "region_name_zh", "indicator", "period",
                 "period_kind", "value", "unit", "target", "status", "data_capture"]].copy()


def _area_cities(data: ReportData) -> list[Area]:
    return [data.areas.cities[c] for c in data.area.cities]


def _first_month_with(con: Any, sql: str, params: list, fallback: date) -> date:
    value = con.execute(sql, params).fetchall()[0][0]
    if value is None:
        return fallback
    first = pd.Timestamp(str(value)).date() if not isinstance(value, date) else value
    return first.replace(day=1)


def pm25_trend(data: ReportData, con: Any, views: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily valid PM2.5 per city from the first month with data this year to the
    report month's end, and the monthly means (with their day counts)."""
    columns = ["city_code", "city", "city_zh", "date", "pm25"]
    monthly_columns = ["city_code", "city", "city_zh", "month", "pm25_mean", "valid_days"]
    if "air_daily_city" not in views:
        data.notes["pm25"] = "air_daily_city is not in the warehouse"
        return pd.DataFrame(columns=columns), pd.DataFrame(columns=monthly_columns)
    first = _first_month_with(con, "SELECT min(date) FROM air_daily_city WHERE pm25_valid "
                                   "AND date BETWEEN ? AND ?",
                              [data.year.start, data.month.end], data.month.start)
    data.notes["pm25_first"] = first.isoformat()
    frame = con.execute(
        "SELECT city_code, date, pm25 FROM air_daily_city WHERE pm25_valid AND pm25 IS NOT "
        "NULL AND date BETWEEN ? AND ? ORDER BY city_code, date",
        [first, data.month.last_day]).df()
    cities = _area_cities(data)
    names = {a.code: (a.name_en, a.name_zh) for a in cities}
    frame = frame[frame["city_code"].isin(names)].copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame["city"] = frame["city_code"].map(lambda c: names[c][0])
    frame["city_zh"] = frame["city_code"].map(lambda c: names[c][1])
    frame["month"] = frame["date"].map(lambda d: f"{d:%Y-%m}")
    monthly = (frame.groupby(["city_code", "city", "city_zh", "month"], as_index=False)
               .agg(pm25_mean=("pm25", "mean"), valid_days=("pm25", "size")))
    monthly["pm25_mean"] = monthly["pm25_mean"].round(1)
    frame["pm25"] = frame["pm25"].round(1)
    return frame[columns].reset_index(drop=True), monthly[monthly_columns]


def aqi_calendar(data: ReportData, con: Any, views: set[str]) -> pd.DataFrame:
    columns = ["city_code", "city", "city_zh", "date", "aqi", "category", "category_zh",
               "primary_pollutant"]
    if "air_daily_city" not in views:
        return pd.DataFrame(columns=columns)
    frame = con.execute(
        "SELECT city_code, date, aqi, primary_pollutant FROM air_daily_city "
        "WHERE aqi IS NOT NULL AND date BETWEEN ? AND ? ORDER BY city_code, date",
        [data.month.start, data.month.last_day]).df()
    cities = {a.code: a for a in _area_cities(data)}
    frame = frame[frame["city_code"].isin(cities)].copy()
    cats = categories_with_colours()
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame["city"] = frame["city_code"].map(lambda c: cities[c].name_en)
    frame["city_zh"] = frame["city_code"].map(lambda c: cities[c].name_zh)
    frame["category"] = frame["aqi"].map(lambda v: category_of(float(v), cats).name_en)
    frame["category_zh"] = frame["aqi"].map(lambda v: category_of(float(v), cats).name_zh)
    return frame[columns].reset_index(drop=True)


def _code_name(areas: Areas, code: Any) -> str:
    if code is None or (isinstance(code, float) and pd.isna(code)) or code == "":
        return ""
    code = str(code)
    if code in areas.provinces:
        return areas.provinces[code].name_en
    if code in areas.cities:
        return areas.cities[code].name_en
    return code


def water_sections(data: ReportData, con: Any, views: set[str]) -> pd.DataFrame:
    """Cross-boundary sections touching the area: monthly class against target, this year."""
    columns = ["section_code", "section_name", "upstream", "downstream", "month",
               "water_class", "target_class", "compliant", "deciding_items"]
    if "water_section_monthly" not in views:
        data.notes["water"] = "water_section_monthly is not in the warehouse"
        return pd.DataFrame(columns=columns)
    available = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = "
        "'water_section_monthly'").fetchall()}
    deciding = "deciding_items" if "deciding_items" in available else "NULL AS deciding_items"
    frame = con.execute(
        f"SELECT section_code, section_name, CAST(month AS VARCHAR) AS month, water_class, "
        f"target_class, compliant, upstream_code, downstream_code, city_code, {deciding} "
        "FROM water_section_monthly WHERE cross_boundary AND CAST(month AS VARCHAR) "
        "BETWEEN ? AND ? ORDER BY section_code, month",
        [f"{data.year.start:%Y-%m}", f"{data.month.start:%Y-%m}"]).df()
    if data.area.level != "region":
        touches = (in_area(frame["upstream_code"], data.area)
                   | in_area(frame["downstream_code"], data.area)
                   | in_area(frame["city_code"], data.area))
        frame = frame[touches]
    frame = frame.copy()
    frame["upstream"] = frame["upstream_code"].map(lambda c: _code_name(data.areas, c))
    frame["downstream"] = frame["downstream_code"].map(lambda c: _code_name(data.areas, c))
    return frame[columns].reset_index(drop=True)


def hw_flows(data: ReportData, con: Any, views: set[str]) -> pd.DataFrame:
    """Tonnes and manifests between provinces in the report month (departures)."""
    columns = ["origin_province_code", "origin", "dest_province_code", "destination",
               "cross_province", "manifests", "shipped_t", "received_t"]
    if "hw_flows_monthly" not in views:
        data.notes["hw"] = "hw_flows_monthly is not in the warehouse"
        return pd.DataFrame(columns=columns)
    frame = con.execute(
        "SELECT origin_province_code, dest_province_code, bool_or(cross_province) AS "
        "cross_province, CAST(sum(manifests) AS BIGINT) AS manifests, "
        "round(sum(shipped_t), 3) AS shipped_t, round(sum(received_t), 3) AS received_t "
        "FROM hw_flows_monthly WHERE month = ? "
        "GROUP BY ALL ORDER BY 1, 2", [f"{data.month.start:%Y-%m}"]).df()
    if data.area.level != "region":
        province = data.area.province_code or data.area.code
        frame = frame[(frame["origin_province_code"] == province)
                      | (frame["dest_province_code"] == province)]
    frame = frame.copy()
    frame["origin"] = frame["origin_province_code"].map(lambda c: _code_name(data.areas, c))
    frame["destination"] = frame["dest_province_code"].map(lambda c: _code_name(data.areas, c))
    return frame[columns].reset_index(drop=True)


def open_alerts(data: ReportData, con: Any, views: set[str]) -> pd.DataFrame:
    """Open alerts (the alerts view), in the area where the subject says where."""
    columns = ["severity", "rule", "title", "title_zh", "subject", "subject_name", "period",
               "value", "unit", "detail", "first_raised_at"]
    if "alerts" not in views:
        data.notes["alerts"] = "the alerts view is not in the warehouse"
        return pd.DataFrame(columns=columns)
    frame = con.execute(
        "SELECT severity, rule, title, title_zh, subject, subject_name, period, value, unit, "
        "detail, first_raised_at FROM alerts WHERE status = 'open'").df()
    if data.area.level != "region" and not frame.empty:
        frame = frame[_alert_in_area(frame, data, con, views)]
    rank = {"critical": 0, "high": 1, "warning": 2, "info": 3}
    frame = frame.assign(_rank=frame["severity"].map(rank).fillna(9))
    frame = frame.sort_values(["_rank", "period", "subject"], ascending=[True, False, True])
    return frame[columns].reset_index(drop=True)


def _alert_in_area(frame: pd.DataFrame, data: ReportData, con: Any, views: set[str]) -> pd.Series:
    """Air alerts name a city, water alerts a section, manifest alerts a manifest;
    anything else (a stale source, a stuck channel) concerns every area."""
    subject = frame["subject"].astype(str)
    first = subject.str.split(" ").str[0]
    known_area = first.isin(set(data.areas.cities) | set(data.areas.provinces))
    keep = pd.Series(True, index=frame.index)
    keep[known_area] = in_area(first[known_area], data.area)
    if "water_section_monthly" in views:
        sections = con.execute(
            "SELECT DISTINCT section_code, upstream_code, downstream_code, city_code "
            "FROM water_section_monthly").df()
        touches = (in_area(sections["upstream_code"], data.area)
                   | in_area(sections["downstream_code"], data.area)
                   | in_area(sections["city_code"], data.area))
        is_section = first.isin(set(sections["section_code"]))
        keep[is_section] = first[is_section].isin(set(sections.loc[touches, "section_code"]))
    if "hw_manifests" in views:
        manifests = con.execute(
            "SELECT DISTINCT manifest_no, coalesce(origin_city_code, origin_province_code) "
            "AS o, coalesce(dest_city_code, dest_province_code) AS d FROM hw_manifests").df()
        touches = in_area(manifests["o"], data.area) | in_area(manifests["d"], data.area)
        is_manifest = first.isin(set(manifests["manifest_no"])) & ~known_area
        keep[is_manifest] = first[is_manifest].isin(set(manifests.loc[touches, "manifest_no"]))
    return keep


def open_anomalies(data: ReportData, con: Any, views: set[str]) -> pd.DataFrame:
    """High-severity manifest anomalies open now, for transfers leaving or entering the area."""
    columns = ["manifest_no", "anomaly", "severity", "origin", "destination", "entered",
               "rule", "detail"]
    if not {"hw_anomalies", "hw_manifests"} <= views:
        return pd.DataFrame(columns=columns)
    severity = _open_anomaly_severity(data.config)
    frame = con.execute(
        "SELECT a.manifest_no, a.anomaly, a.severity, a.rule, a.detail, "
        "m.origin_province AS origin, m.dest_province AS destination, "
        "coalesce(m.origin_city_code, m.origin_province_code) AS o, "
        "coalesce(m.dest_city_code, m.dest_province_code) AS d, "
        "CAST(timezone('Asia/Shanghai', m.entered_at) AS DATE) AS entered "
        "FROM hw_anomalies a LEFT JOIN hw_manifests m USING (manifest_no, version) "
        "WHERE a.severity = ? AND (m.entered_at IS NULL OR "
        "CAST(timezone('Asia/Shanghai', m.entered_at) AS DATE) <= ?) "
        "ORDER BY entered DESC NULLS LAST, a.manifest_no, a.anomaly, a.version",
        [severity, data.month.last_day]).df()
    if data.area.level != "region":
        frame = frame[in_area(frame["o"], data.area) | in_area(frame["d"], data.area)]
    return frame[columns].reset_index(drop=True)


def _open_anomaly_severity(config: Commitments) -> str:
    for ind in config.indicators.values():
        if ind.measure == "hw_open_anomalies":
            return str(ind.params["severity"])
    return "high"


"""Indicator measures: one value per indicator, area and period, from the warehouse.

Every measure returns a Measurement: the value, whether the data are enough
to judge it (`valid`), the data capture, and for a period that is not over a
projection of the whole period:

- "the rest as in the previous year": the period so far plus the previous
  year's data for the days (months) still to come, when those are complete
  enough; this keeps the season (winter PM2.5) in the projection;
- otherwise "the rest at the level so far": means, ratios and percentiles stay
  as they are, counts and sums grow at the rate so far.

Air reads `air_daily_city`, water `water_section_monthly` and
`water_compensation`, hazardous waste `hw_manifests` and `hw_anomalies`; a
view that is missing (a domain not built) makes its indicators "not enough
data", with the reason in `detail`.

Areas: a city's air value is the city's (air_daily_city already averages its
stations); a province's or the region's is the mean of its cities' values
(HJ 663 region assessment). Water and hazardous-waste values are computed
over the sections / manifests the area answers for (see config/commitments.yaml).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from envmon.reporting.areas import Area, Areas, in_area
from envmon.reporting.config import Commitments, Indicator
from envmon.reporting.periods import Period, months_between, shift_year
from envmon.reporting.stats import daily_validity, days_in_year, hj663_percentile

REST_AS_LAST_YEAR = "rest as in the previous year"
REST_AT_LEVEL = "rest at the level so far"


@dataclass(frozen=True)
class Measurement:
    value: float | None
    valid: bool
    capture: float | None
    projection: float | None = None
    projection_method: str = ""
    # For measures that only grow (counts, sums): a value the period's final
    # value cannot be below, whatever data are still missing.
    lower_bound: float | None = None
    detail: str = ""


NO_DATA = Measurement(None, False, None)


def _no_check(params: dict[str, Any]) -> None:
    return None


def _check_column(params: dict[str, Any]) -> None:
    if not str(params["column"]).isidentifier():
        raise ValueError(f"column {params['column']!r} is not a column name")


def _check_percentile(params: dict[str, Any]) -> None:
    _check_column(params)
    if not 0 < float(params["p"]) <= 1:
        raise ValueError("p must be in (0, 1]")


def _check_level(key: str) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        from envmon.air.standards import categories

        if int(params[key]) not in set(categories()["level"]):
            raise ValueError(f"{key} {params[key]} is not an HJ 633 category level")
    return check


def _check_of(count: int) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        of = params["of"]
        names = [of] if isinstance(of, str) else list(of)
        if len(names) != count:
            raise ValueError(f"of must name {count} indicator(s)")
    return check


def _check_rank(key: str) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        if not 1 <= int(params[key]) <= 6:
            raise ValueError(f"{key} must be a class rank 1 (I) .. 6 (worse than V)")
    return check


def _check_list(key: str) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        if not isinstance(params[key], list) or not params[key]:
            raise ValueError(f"{key} must be a non-empty list")
    return check


@dataclass(frozen=True)
class MeasureSpec:
    domain: str  # air, water, hazwaste, or any (derived from other indicators)
    monotone: bool  # the value only grows over a period (counts, sums)
    check: Callable[[dict[str, Any]], None]


MEASURES: dict[str, MeasureSpec] = {
    "air_mean": MeasureSpec("air", False, _check_column),
    "air_percentile": MeasureSpec("air", False, _check_percentile),
    "air_day_ratio": MeasureSpec("air", False, _check_level("max_category_level")),
    "air_day_count": MeasureSpec("air", True, _check_level("min_category_level")),
    "change": MeasureSpec("any", False, _check_of(1)),
    "both_down": MeasureSpec("any", False, _check_of(2)),
    "water_compliance": MeasureSpec("water", False, _no_check),
    "water_share_classes": MeasureSpec("water", False, _check_rank("max_rank")),
    "water_sections_worse": MeasureSpec("water", True, _check_rank("min_rank")),
    "water_compensation": MeasureSpec("water", True, _no_check),
    "hw_electronic_share": MeasureSpec("hazwaste", False, _no_check),
    "hw_xprov_approved_share": MeasureSpec("hazwaste", False, _check_list("invalid_anomalies")),
    "hw_confirmed_in_time": MeasureSpec("hazwaste", False, lambda p: str(p["late_anomaly"])),
    "hw_open_anomalies": MeasureSpec("hazwaste", False, lambda p: str(p["severity"])),
}


def pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def change_pct(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return 100.0 * (now - before) / before


# ------------------------------------------------------------------ context


class Context:
    """The warehouse data of one computation, and the measurements made so far."""

    def __init__(self, config: Commitments, areas: Areas, con: Any, first_day: date,
                 last_day: date) -> None:
        self.config = config
        self.areas = areas
        self.con = con
        # Data from the start of the previous year (year-on-year changes,
        # projections) to the end of the report's year.
        self.first_day = first_day
        self.last_day = last_day
        self._cache: dict[tuple, Measurement] = {}
        self._views = _views(con)
        self._air: AirData | None = None
        self._water: WaterData | None = None
        self._hw: HazwasteData | None = None

    def measure(self, ind: Indicator, area: Area, period: Period) -> Measurement:
        key = (ind.id, area.code, area.level, *period.key())
        if key not in self._cache:
            self._cache[key] = self._measure(ind, area, period)
        return self._cache[key]

    def _measure(self, ind: Indicator, area: Area, period: Period) -> Measurement:
        if ind.measure == "change":
            return self._change(ind, area, period)
        if ind.measure == "both_down":
            return self._both_down(ind, area, period)
        if ind.domain == "air":
            return self.air().measure(ind, area, period)
        if ind.domain == "water":
            return self.water().measure(ind, area, period)
        return self.hazwaste().measure(ind, area, period)

    # ---------------------------------------------------------- derived

    def _change(self, ind: Indicator, area: Area, period: Period) -> Measurement:
        base = self.config.indicators[ind.params["of"]]
        now = self.measure(base, area, period)
        before = self.measure(base, area, period.previous_year())
        value = change_pct(now.value, before.value)
        projection, method = None, ""
        if not period.over:
            whole_before = self.measure(base, area, period.previous_year().whole())
            if whole_before.valid:
                projection = change_pct(now.projection, whole_before.value)
                method = f"projected {period.label} against the whole previous year"
        captures = [c for c in (now.capture, before.capture) if c is not None]
        prev = f"{period.previous_year().label}"
        detail = f"{_fmt(now.value)} against {_fmt(before.value)} {base.unit} in {prev}"
        short = [f"{label} not valid" for label, m in ((prev, before), (period.label, now))
                 if not m.valid]
        if short:
            detail += " (" + ", ".join(short) + ")"
        return Measurement(value, now.valid and before.valid and value is not None,
                           min(captures) if captures else None, projection, method,
                           detail=detail)

    def _both_down(self, ind: Indicator, area: Area, period: Period) -> Measurement:
        parts = [self.measure(self.config.indicators[name], area, period)
                 for name in ind.params["of"]]
        values = [m.value for m in parts]
        value = None if None in values else float(all(v < 0 for v in values))
        projections = [m.projection for m in parts]
        projection = (None if period.over or None in projections
                      else float(all(p < 0 for p in projections)))
        names = " and ".join(ind.params["of"])
        detail = ", ".join(f"{n} {_fmt(v, 1)} %" for n, v in zip(ind.params["of"], values,
                                                                   strict=True))
        captures = [m.capture for m in parts if m.capture is not None]
        return Measurement(value, all(m.valid for m in parts) and value is not None,
                           min(captures) if captures else None, projection,
                           "from the projected changes" if projection is not None else "",
                           detail=detail or names)

    # ---------------------------------------------------------- domains

    def air(self) -> AirData:
        if self._air is None:
            self._air = AirData(self)
        return self._air

    def water(self) -> WaterData:
        if self._water is None:
            self._water = WaterData(self)
        return self._water

    def hazwaste(self) -> HazwasteData:
        if self._hw is None:
            self._hw = HazwasteData(self)
        return self._hw

    def missing_views(self, *names: str) -> list[str]:
        return [n for n in names if n not in self._views]

    def columns(self, view: str) -> set[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
            [view]).fetchall()
        return {r[0] for r in rows}


def _views(con: Any) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}


def _fmt(value: float | None, decimals: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{decimals}f}"


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


# ---------------------------------------------------------------------- air


@dataclass(frozen=True)
class _Series:
    """One city's valid daily values of one column, sorted by day."""

    days: np.ndarray  # datetime64[D]
    values: np.ndarray  # float

    def window(self, first: date, last: date) -> tuple[np.ndarray, np.ndarray]:
        if last < first:
            return self.days[:0], self.values[:0]
        lo = np.searchsorted(self.days, np.datetime64(first, "D"), side="left")
        hi = np.searchsorted(self.days, np.datetime64(last, "D"), side="right")
        return self.days[lo:hi], self.values[lo:hi]


_EMPTY = _Series(np.array([], dtype="datetime64[D]"), np.array([], dtype=float))


class AirData:
    """Daily city values from air_daily_city, as per-city series per column."""

    VIEW = "air_daily_city"

    def __init__(self, ctx: Context) -> None:
        from envmon.air.standards import categories, validity_minimums

        self.ctx = ctx
        self.minimums = validity_minimums()
        self.categories = categories()
        self.problem = ""
        self.series: dict[tuple[str, str], _Series] = {}
        missing = ctx.missing_views(self.VIEW)
        if missing:
            self.problem = f"{self.VIEW} is not in the warehouse (air not loaded)"
            return
        columns = ctx.columns(self.VIEW)
        wanted = sorted({self._column(ind) for ind in ctx.config.indicators.values()
                         if ind.domain == "air" and ind.measure.startswith("air_")})
        absent = [c for c in wanted if c not in columns or
                  (c != "aqi" and f"{c}_valid" not in columns)]
        if absent:
            self.problem = f"{self.VIEW} has no column {absent[0]} (or {absent[0]}_valid)"
            return
        for column in wanted:
            valid = "aqi IS NOT NULL" if column == "aqi" else f"{column}_valid"
            frame = ctx.con.execute(
                f"SELECT city_code, date, {column} AS v FROM {self.VIEW} "
                f"WHERE {valid} AND {column} IS NOT NULL AND date BETWEEN ? AND ? "
                "ORDER BY city_code, date",
                [ctx.first_day, ctx.last_day]).df()
            for city, rows in frame.groupby("city_code", sort=False):
                # One value per city-day: a mart written twice for a day by two
                # runs is an upsert, but guard against duplicates anyway.
                rows = rows.drop_duplicates("date", keep="last")
                self.series[(column, str(city))] = _Series(
                    pd.to_datetime(rows["date"]).to_numpy().astype("datetime64[D]"),
                    rows["v"].to_numpy(dtype=float))

    @staticmethod
    def _column(ind: Indicator) -> str:
        if ind.measure in ("air_day_ratio", "air_day_count"):
            return "aqi"
        return str(ind.params["column"])

    def measure(self, ind: Indicator, area: Area, period: Period) -> Measurement:
        if self.problem:
            return replace(NO_DATA, detail=self.problem)
        if area.level == "city":
            return self.city(ind, area.code, period)
        cities = [self.city(ind, code, period) for code in area.cities]
        return aggregate_cities(cities, area, self.ctx.config.area_min_city_share,
                                MEASURES[ind.measure].monotone,
                                [self.ctx.areas.cities[c] for c in area.cities])

    def _statistic(self, ind: Indicator) -> tuple[Callable[[np.ndarray], float | None], bool]:
        """(statistic over daily values, is it a count)."""
        cats = self.categories
        if ind.measure == "air_mean":
            return (lambda v: float(v.mean()) if len(v) else None), False
        if ind.measure == "air_percentile":
            p = float(ind.params["p"])
            return (lambda v: hj663_percentile(v.tolist(), p)), False
        if ind.measure == "air_day_ratio":
            # Good days: AQI at most the top of the highest category counted
            # (HJ 633 Table 2; level 2 "良" ends at 100).
            level = int(ind.params["max_category_level"])
            top = float(cats.loc[cats["level"] == level, "aqi_high"].iloc[0])
            return (lambda v: pct(float((v <= top).sum()), len(v)) if len(v) else None), False
        # air_day_count: AQI above the top of the category below the first
        # counted one (level 5 "重度污染" starts above 200).
        level = int(ind.params["min_category_level"])
        below = float(cats.loc[cats["level"] == level - 1, "aqi_high"].iloc[0])
        return (lambda v: float((v > below).sum())), True

    def city(self, ind: Indicator, city: str, period: Period) -> Measurement:
        series = self.series.get((self._column(ind), city), _EMPTY)
        days, values = series.window(period.start, period.last_day)
        validity = daily_validity(days.astype(object).tolist(), period.start, period.end,
                                  period.as_of, self.minimums)
        stat, is_count = self._statistic(ind)
        value = stat(values)
        if is_count and value is None:
            value = 0.0
        projection, method = None, ""
        if not period.over and len(values):
            rest_first, rest_last = period.as_of + timedelta(days=1), period.end
            rest_days = (rest_last - rest_first).days + 1
            _, before = series.window(shift_year(rest_first, -1), shift_year(rest_last, -1))
            # The previous year's rest counts when it is as complete as HJ 663
            # asks of a year (324 of 365 days).
            need = math.ceil(rest_days * self.minimums["annual_min_days"]
                             / days_in_year(period.start.year))
            if len(before) >= need:
                method = REST_AS_LAST_YEAR
                if is_count:
                    projection = value + stat(before) * rest_days / len(before)
                else:
                    projection = stat(np.concatenate([values, before]))
            else:
                method = REST_AT_LEVEL
                projection = value + value / len(values) * rest_days if is_count else value
        detail = validity.summary(shown=1)
        return Measurement(value, validity.valid and value is not None, validity.capture,
                           projection, method, value if is_count else None, detail)


def aggregate_cities(cities: list[Measurement], area: Area, min_share: float, monotone: bool,
                     city_areas: list[Area]) -> Measurement:
    """A province's or the region's value: the mean of its cities' values.

    Judged only when at least `min_share` of its cities are valid; the data
    capture is the mean of the cities' captures.
    """
    if not cities:
        return replace(NO_DATA, detail=f"no cities in {area.code}")
    valid = [m for m in cities if m.valid and m.value is not None]
    # With no valid city yet, still show what the data say (the status
    # says "not enough data").
    shown = valid or [m for m in cities if m.value is not None]
    value = _mean([m.value for m in shown])  # type: ignore[misc]
    captures = [m.capture or 0.0 for m in cities]
    projections = [m.projection for m in cities]
    projection = None if None in projections else _mean(projections)  # type: ignore[arg-type]
    methods = {m.projection_method for m in cities if m.projection_method}
    method = methods.pop() if len(methods) == 1 else ("mixed" if methods else "")
    lower = _mean([m.lower_bound or 0.0 for m in cities]) if monotone else None
    ok = bool(valid) and len(valid) / len(cities) >= min_share
    invalid = [a.name_en for a, m in zip(city_areas, cities, strict=True)
               if not (m.valid and m.value is not None)]
    if valid:
        detail = f"mean of {len(valid)} of {len(cities)} cities"
    else:
        example = next(((a.name_en, m.detail) for a, m in zip(city_areas, cities, strict=True)
                        if m.detail), None)
        detail = (f"mean of {len(shown)} cities, none valid yet"
                  + (f"; e.g. {example[0]}: {example[1]}" if example else ""))
        invalid = []
    if invalid:
        detail += ("; not valid: " + ", ".join(invalid[:4])
                   + (f" and {len(invalid) - 4} more" if len(invalid) > 4 else ""))
    return Measurement(value, ok, _mean(captures), projection, method, lower, detail)


# -------------------------------------------------------------------- water


class WaterData:
    """Section-months (water_section_monthly) and compensation (water_compensation)."""

    MONTHLY = "water_section_monthly"
    COMPENSATION = "water_compensation"
    MONTHLY_COLUMNS = ("section_code", "month", "water_class", "class_rank", "target_class",
                       "compliant", "cross_boundary", "upstream_code", "city_code")
    COMPENSATION_COLUMNS = ("section_code", "month", "amount_cny", "payer_code")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.min_capture = ctx.config.min_capture.get("water", 0.0)
        self.problem = {}
        self.monthly = self._load(self.MONTHLY, self.MONTHLY_COLUMNS)
        self.compensation = self._load(self.COMPENSATION, self.COMPENSATION_COLUMNS)

    def _load(self, view: str, columns: tuple[str, ...]) -> pd.DataFrame | None:
        if self.ctx.missing_views(view):
            self.problem[view] = f"{view} is not in the warehouse (water not loaded)"
            return None
        absent = [c for c in columns if c not in self.ctx.columns(view)]
        if absent:
            self.problem[view] = f"{view} has no column {absent[0]}"
            return None
        first, last = f"{self.ctx.first_day:%Y-%m}", f"{self.ctx.last_day:%Y-%m}"
        return self.ctx.con.execute(
            f"SELECT {', '.join(columns)} FROM {view} WHERE CAST(month AS VARCHAR) "
            "BETWEEN ? AND ?", [first, last]).df().astype({"month": "str"})

    def measure(self, ind: Indicator, area: Area, period: Period) -> Measurement:
        if ind.measure == "water_compensation":
            return self._compensation(area, period)
        if self.monthly is None:
            return replace(NO_DATA, detail=self.problem[self.MONTHLY])
        frame = self.monthly
        if ind.measure == "water_compliance":
            # The upstream area answers for the water it hands over.
            scope = frame[frame["cross_boundary"].fillna(False).astype(bool)]
            scope = scope[in_area(scope["upstream_code"], area)]
        else:
            scope = frame[in_area(frame["city_code"], area)]
        return self._sections(ind, scope, period)

    def _capture(self, scope: pd.DataFrame, assessed: pd.DataFrame, months: list[str]) -> float:
        expected = scope["section_code"].nunique() * len(months)
        return len(assessed) / expected if expected else 0.0

    def _sections(self, ind: Indicator, scope: pd.DataFrame, period: Period) -> Measurement:
        months = months_between(period.start, period.last_day)
        if scope.empty:
            return replace(NO_DATA, detail="no sections this area answers for")
        rows = scope[scope["month"].isin(months)]
        if ind.measure == "water_compliance":
            assessed = rows[rows["compliant"].notna()]
            good = assessed["compliant"].astype(bool)
        else:
            assessed = rows[rows["class_rank"].notna()]
            good = None
        capture = self._capture(scope, assessed, months)
        valid = capture >= self.min_capture and len(assessed) > 0

        def stat(part: pd.DataFrame) -> float | None:
            if ind.measure == "water_compliance":
                return pct(float(part["compliant"].astype(bool).sum()), len(part))
            if ind.measure == "water_share_classes":
                rank = int(ind.params["max_rank"])
                return pct(float((part["class_rank"] <= rank).sum()), len(part))
            rank = int(ind.params["min_rank"])
            return float(part.loc[part["class_rank"] >= rank, "section_code"].nunique())

        value = stat(assessed)
        if ind.measure == "water_compliance":
            detail = f"{int(good.sum())} of {len(assessed)} section-months met their target"
            missed = sorted(set(assessed.loc[~good, "section_code"]))
            if missed:
                detail += " (missed: " + ", ".join(missed[:6]) + ")"
        elif ind.measure == "water_share_classes":
            detail = (f"{int((assessed['class_rank'] <= int(ind.params['max_rank'])).sum())} of "
                      f"{len(assessed)} section-months in I-III")
        else:
            worse = sorted(set(assessed.loc[assessed["class_rank"] >= int(ind.params["min_rank"]),
                                            "section_code"]))
            detail = ("sections: " + ", ".join(worse)) if worse else "none"
        detail += f"; {len(assessed)} of {scope['section_code'].nunique() * len(months)} " \
                  "section-months assessed"
        projection, method = None, ""
        if not period.over and len(assessed):
            rest = _rest_months(period)
            before = scope[scope["month"].isin(rest)]
            before = before[before["compliant" if ind.measure == "water_compliance"
                                   else "class_rank"].notna()]
            if rest and self._capture(scope, before, rest) >= max(self.min_capture, 1e-9):
                method = REST_AS_LAST_YEAR
                projection = stat(pd.concat([assessed, before]))
            else:
                method = REST_AT_LEVEL
                projection = value
        monotone = MEASURES[ind.measure].monotone
        return Measurement(value, valid and value is not None, capture, projection, method,
                           value if monotone else None, detail)

    def _name(self, code: str) -> str:
        areas = self.ctx.areas
        found = areas.provinces.get(code) or areas.cities.get(code)
        return found.name_en if found else code

    def _compensation(self, area: Area, period: Period) -> Measurement:
        if self.compensation is None:
            return replace(NO_DATA, detail=self.problem[self.COMPENSATION])
        frame = self.compensation
        months = months_between(period.start, period.last_day)
        scheme = frame  # every scheme section, whoever pays
        rows = frame[frame["month"].isin(months)]
        assessed = rows[rows["amount_cny"].notna()]
        owed = assessed[assessed["payer_code"].notna()]
        owed = owed[in_area(owed["payer_code"], area)]
        value = float(owed["amount_cny"].sum())
        capture = self._capture(scheme, assessed, months)
        valid = capture >= self.min_capture and len(assessed) > 0
        payers = owed.groupby("payer_code")["amount_cny"].sum().sort_values(ascending=False)
        detail = (", ".join(f"{self._name(code)} pays {amount:,.0f}"
                            for code, amount in payers.items()) or "nothing owed")
        detail += f"; {len(assessed)} section-months of the scheme assessed"
        projection, method = None, ""
        if not period.over:
            rest = _rest_months(period)
            before = frame[frame["month"].isin(rest) & frame["amount_cny"].notna()]
            if rest and self._capture(scheme, before, rest) >= max(self.min_capture, 1e-9):
                before_owed = before[before["payer_code"].notna()]
                before_owed = before_owed[in_area(before_owed["payer_code"], area)]
                method = REST_AS_LAST_YEAR
                projection = value + float(before_owed["amount_cny"].sum())
            elif months:
                method = REST_AT_LEVEL
                total = len(months_between(period.start, period.end))
                projection = value * total / len(months)
        return Measurement(value, valid, capture, projection, method, value, detail)


def _rest_months(period: Period) -> list[str]:
    """The previous year's months matching the months still to come."""
    if period.over:
        return []
    first_rest = (period.as_of.replace(day=1) + timedelta(days=32)).replace(day=1)
    if first_rest > period.end:
        return []
    return months_between(shift_year(first_rest, -1), shift_year(period.end, -1))


# ---------------------------------------------------------- hazardous waste


class HazwasteData:
    """Manifests (hw_manifests) and their anomalies (hw_anomalies)."""

    MANIFESTS = "hw_manifests"
    ANOMALIES = "hw_anomalies"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.min_capture = ctx.config.min_capture.get("hazwaste", 0.0)
        self.problem = ""
        missing = ctx.missing_views(self.MANIFESTS, self.ANOMALIES)
        if missing:
            self.problem = f"{missing[0]} is not in the warehouse (hazardous waste not loaded)"
            return
        # Dates are Beijing calendar days; a province answers for its shippers
        # (origin) or receivers (destination); the city code when known, else
        # the adcode the manifest declares.
        self.manifests = ctx.con.execute(f"""
            SELECT manifest_no, version, kind, cross_province,
                   CAST(timezone('Asia/Shanghai', entered_at) AS DATE) AS entered,
                   CAST(timezone('Asia/Shanghai', received_at) AS DATE) AS received,
                   confirmed_at IS NOT NULL AS confirmed,
                   coalesce(origin_city_code, origin_province_code, shipper_adcode) AS origin,
                   coalesce(dest_city_code, dest_province_code, receiver_adcode) AS dest
            FROM {self.MANIFESTS}
            WHERE CAST(timezone('Asia/Shanghai', entered_at) AS DATE) BETWEEN ? AND ?
               OR CAST(timezone('Asia/Shanghai', received_at) AS DATE) BETWEEN ? AND ?
        """, [ctx.first_day, ctx.last_day] * 2).df()
        self.anomalies = ctx.con.execute(
            f"SELECT manifest_no, version, anomaly, severity, CAST(month AS VARCHAR) AS month "
            f"FROM {self.ANOMALIES}").df()
        for column in ("entered", "received"):
            self.manifests[column] = pd.to_datetime(self.manifests[column]).dt.date

    def _flagged(self, kinds: list[str] | None = None, severity: str | None = None) -> set:
        rows = self.anomalies
        if kinds is not None:
            rows = rows[rows["anomaly"].isin(kinds)]
        if severity is not None:
            rows = rows[rows["severity"] == severity]
        return set(zip(rows["manifest_no"], rows["version"], strict=True))

    def measure(self, ind: Indicator, area: Area, period: Period) -> Measurement:
        if self.problem:
            return replace(NO_DATA, detail=self.problem)
        m = self.manifests
        first, last = period.start, period.last_day
        entered = m[(m["entered"] >= first) & (m["entered"] <= last)]
        shipped = entered[in_area(entered["origin"], area)]
        elapsed = (last - first).days + 1
        days_with_entries = shipped["entered"].nunique() if area.level != "region" else \
            entered["entered"].nunique()
        capture = days_with_entries / elapsed if elapsed > 0 else None

        def keys(frame: pd.DataFrame) -> pd.Series:
            return pd.Series(list(zip(frame["manifest_no"], frame["version"], strict=True)),
                             index=frame.index, dtype=object)

        if ind.measure == "hw_electronic_share":
            good, total = (shipped["kind"] == "electronic"), shipped
            detail = f"{int(good.sum()):,} of {len(total):,} manifests electronic"
            return self._share(good, total, capture, period, detail)
        if ind.measure == "hw_xprov_approved_share":
            cross = shipped[shipped["cross_province"].fillna(False).astype(bool)]
            flagged = self._flagged(list(ind.params["invalid_anomalies"]))
            good = ~keys(cross).isin(flagged)
            detail = (f"{int(good.sum()):,} of {len(cross):,} cross-province manifests "
                      "without an approval anomaly")
            return self._share(good, cross, capture, period, detail)
        if ind.measure == "hw_confirmed_in_time":
            received = m[(m["received"] >= first) & (m["received"] <= last)]
            received = received[in_area(received["dest"], area)]
            late = keys(received).isin(self._flagged([str(ind.params["late_anomaly"])]))
            confirmed = received["confirmed"].astype(bool)
            decided = received[confirmed | late]
            good = (confirmed & ~late)[decided.index]
            pending = len(received) - len(decided)
            detail = (f"{int(good.sum()):,} of {len(decided):,} decided receipts confirmed in "
                      f"time; {pending:,} received and still within the deadline")
            return self._share(good, decided, capture, period, detail)
        # hw_open_anomalies: a stock (what is open now), not a flow.
        severity = str(ind.params["severity"])
        anomalies = self.anomalies[self.anomalies["severity"] == severity]
        in_scope = entered[in_area(entered["origin"], area) | in_area(entered["dest"], area)]
        attributed = anomalies[pd.Series(
            list(zip(anomalies["manifest_no"], anomalies["version"], strict=True)),
            index=anomalies.index, dtype=object).isin(set(keys(in_scope)))]
        count = len(attributed)
        if area.level == "region":
            # Anomalies on no known manifest (a status update for an unknown
            # number) count for the region, by the month they were filed under.
            months = months_between(first, last)
            known = set(zip(m["manifest_no"], m["version"], strict=True))
            orphan = anomalies[anomalies["month"].isin(months) & ~pd.Series(
                list(zip(anomalies["manifest_no"], anomalies["version"], strict=True)),
                index=anomalies.index, dtype=object).isin(known)]
            count += len(orphan)
        kinds = attributed["anomaly"].value_counts()
        detail = ", ".join(f"{k} {n}" for k, n in kinds.head(4).items()) or "none"
        # Open anomalies are a fact however incomplete the data: only "none
        # open" needs the data capture to be believed.
        valid = count > 0 or (capture is not None and capture >= self.min_capture)
        projection = None if period.over else float(count)
        return Measurement(float(count), valid, capture, projection,
                           "" if period.over else "open now (a stock, not projected)",
                           None, detail)

    def _share(self, good: pd.Series, total: pd.DataFrame, capture: float | None,
               period: Period, detail: str) -> Measurement:
        value = pct(float(good.sum()), len(total))
        valid = value is not None and capture is not None and capture >= self.min_capture
        projection = None if period.over else value
        method = "" if period.over else REST_AT_LEVEL
        if capture is not None:
            detail += f"; manifests entered on {capture:.0%} of the days"
        return Measurement(value, valid, capture, projection, method, None, detail)

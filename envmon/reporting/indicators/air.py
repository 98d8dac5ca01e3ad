"""Air measures: daily city values from air_daily_city; a province's or the
region's value is the mean of its cities' values (HJ 663 region assessment)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from envmon.air.standards import categories, validity_minimums
from envmon.reporting.areas import Area
from envmon.reporting.config import Indicator
from envmon.reporting.indicators.common import (
    NO_DATA,
    REST_AS_LAST_YEAR,
    REST_AT_LEVEL,
    Measurement,
    Sources,
    pct,
)
from envmon.reporting.indicators.measures import MEASURES
from envmon.reporting.periods import Period, shift_year
from envmon.reporting.stats import daily_validity, days_in_year, hj663_percentile


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


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

    def __init__(self, ctx: Sources) -> None:
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


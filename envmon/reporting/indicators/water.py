"""Water measures: section-months (water_section_monthly) and the
upstream-downstream compensation (water_compensation)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd

from envmon.reporting.areas import Area, in_area
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
from envmon.reporting.periods import Period, months_between, shift_year


class WaterData:
    """Section-months (water_section_monthly) and compensation (water_compensation)."""

    MONTHLY = "water_section_monthly"
    COMPENSATION = "water_compensation"
    MONTHLY_COLUMNS = ("section_code", "month", "water_class", "class_rank", "target_class",
                       "compliant", "cross_boundary", "upstream_code", "city_code")
    COMPENSATION_COLUMNS = ("section_code", "month", "amount_cny", "payer_code")

    def __init__(self, ctx: Sources) -> None:
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

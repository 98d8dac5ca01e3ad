"""Context: the data of one computation, the measurements made so far, and the
measures derived from other indicators (a change, "both down")."""

from __future__ import annotations

from datetime import date
from typing import Any

from envmon.reporting.areas import Area, Areas
from envmon.reporting.config import Commitments, Indicator
from envmon.reporting.indicators.air import AirData
from envmon.reporting.indicators.common import Measurement, Sources, change_pct
from envmon.reporting.indicators.hazwaste import HazwasteData
from envmon.reporting.indicators.water import WaterData
from envmon.reporting.periods import Period


class Context(Sources):
    """The warehouse data of one computation, and the measurements made so far."""

    def __init__(self, config: Commitments, areas: Areas, con: Any, first_day: date,
                 last_day: date) -> None:
        super().__init__(config, areas, con, first_day, last_day)
        self._cache: dict[tuple, Measurement] = {}
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


def _fmt(value: float | None, decimals: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{decimals}f}"


"""Hazardous-waste measures: manifests (hw_manifests) and their anomalies (hw_anomalies)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from envmon.reporting.areas import Area, in_area
from envmon.reporting.config import Indicator
from envmon.reporting.indicators.common import (
    NO_DATA,
    REST_AT_LEVEL,
    Measurement,
    Sources,
    pct,
)
from envmon.reporting.periods import Period, months_between


class HazwasteData:
    """Manifests (hw_manifests) and their anomalies (hw_anomalies)."""

    MANIFESTS = "hw_manifests"
    ANOMALIES = "hw_anomalies"

    def __init__(self, ctx: Sources) -> None:
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

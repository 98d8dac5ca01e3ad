"""Status of every commitment: the rules, the table, and its Parquet store.

Statuses (docs/report.md):

- not enough data: the data do not meet (or, for a period not over, can no
  longer meet) the validity rules, so the value cannot be judged;
- met / missed: the period is over and the value meets / misses the target;
- missed before the period is over: a value that only grows (a count, a
  sum) is already beyond the target, whatever data are still to come
  (this is decided even when data are missing: missing days can only add);
- on track: the period is not over and the projection of the whole period
  meets the target with at least `at_risk_margin` x |target| to spare;
- at risk: the period is not over and the projection misses the target,
  or meets it by less than that margin.

Values are rounded to the indicator's decimals by GB/T 8170 before they are
compared with the target.

The table is written at report time, each report period's rows replaced
whole: on the lakehouse into its `commitment_status` table (one
transaction), which every host reads; on the files layout to
$ENVMON_HOME/reporting/commitment_status/<report period>.parquet (atomic
rename). The warehouse view `commitment_status` reads either
(warehouse/70_commitments.sql, envmon.core.stores).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from envmon.core import lakehouse, stores
from envmon.core.atomic import write_atomic
from envmon.core.locks import dataset_lock
from envmon.core.settings import home
from envmon.reporting.areas import Area, Areas, load_areas
from envmon.reporting.config import Commitments, Indicator, load_config
from envmon.reporting.indicators.common import Measurement
from envmon.reporting.indicators.context import Context
from envmon.reporting.indicators.measures import MEASURES
from envmon.reporting.periods import Period, report_periods, shift_year
from envmon.reporting.stats import gbt8170_round

MET = "met"
ON_TRACK = "on track"
AT_RISK = "at risk"
MISSED = "missed"
NOT_ENOUGH_DATA = "not enough data"
STATUSES = (MET, ON_TRACK, AT_RISK, MISSED, NOT_ENOUGH_DATA)
STATUS_ZH = {MET: "达标", ON_TRACK: "进度正常", AT_RISK: "有风险", MISSED: "未达标",
             NOT_ENOUGH_DATA: "数据不足"}

LOCK_NAME = "commitment_status"

STATUS_SCHEMA = pa.schema([
    ("report_period", pa.string()),  # the month the report is for, YYYY-MM
    ("as_of", pa.date32()),  # last day whose data count
    ("computed_at", pa.timestamp("us", tz="UTC")),
    ("indicator", pa.string()),
    ("title", pa.string()),
    ("title_zh", pa.string()),
    ("domain", pa.string()),
    ("level", pa.string()),  # city, province, region
    ("region", pa.string()),  # adcode, or the region's code (yrd)
    ("region_name", pa.string()),
    ("region_name_zh", pa.string()),
    ("period", pa.string()),  # YYYY (the commitment's year) or YYYY-MM (a month)
    ("period_kind", pa.string()),  # year, month
    ("period_start", pa.date32()),
    ("period_end", pa.date32()),
    ("period_over", pa.bool_()),
    ("value", pa.float64()),  # rounded (GB/T 8170) to the indicator's decimals
    ("unit", pa.string()),
    ("target", pa.float64()),
    ("direction", pa.string()),  # lower / higher is better
    ("status", pa.string()),
    ("data_capture", pa.float64()),  # 0..1, NULL where not defined
    ("valid", pa.bool_()),  # the data meet (can still meet) the validity rules
    ("projection", pa.float64()),  # the whole period, where it is not over
    ("projection_method", pa.string()),
    ("detail", pa.string()),
    ("target_example", pa.bool_()),
    ("target_source", pa.string()),
    ("standard", pa.string()),
])


def meets(value: float, target: float, direction: str) -> bool:
    return value <= target if direction == "lower" else value >= target


def judge(value: float | None, target: float, direction: str, *, period_over: bool,
          valid: bool, projection: float | None = None, lower_bound: float | None = None,
          margin: float = 0.0) -> str:
    """The status of one value against its target (rules in the module docstring)."""
    if lower_bound is not None and direction == "lower" and lower_bound > target:
        return MISSED
    if value is None or not valid:
        return NOT_ENOUGH_DATA
    if period_over:
        return MET if meets(value, target, direction) else MISSED
    expected = value if projection is None else projection
    if not meets(expected, target, direction):
        return AT_RISK
    spare = (target - expected) if direction == "lower" else (expected - target)
    return ON_TRACK if spare >= margin * abs(target) else AT_RISK


@dataclass(frozen=True)
class StatusRun:
    report_period: str
    as_of: date
    rows: list[dict[str, Any]]
    seconds: float


def compute(month: str, *, as_of: date | None = None, today: date | None = None,
            config: Commitments | None = None, con: Any = None) -> StatusRun:
    """Every indicator x area x period of a report for `month`, with its status."""
    from envmon.core.warehouse import connect_read_only

    started = time.perf_counter()
    config = config or load_config()
    year, month_period = report_periods(month, as_of, today)
    areas = load_areas(config.region_code, config.region_name_en, config.region_name_zh)
    own = con is None
    con = con or connect_read_only()
    try:
        ctx = Context(config, areas, con, shift_year(year.start, -1), year.end)
        rows = status_rows(ctx, areas, year, month_period, month)
    finally:
        if own:
            con.close()
    return StatusRun(month, year.as_of, rows, time.perf_counter() - started)


def status_rows(ctx: Context, areas: Areas, year: Period, month_period: Period,
                report_period: str) -> list[dict[str, Any]]:
    computed_at = datetime.now(UTC)
    rows = []
    for ind in ctx.config.indicators.values():
        periods = [year] + ([month_period] if ind.monthly_target is not None else [])
        for level in ind.levels:
            for area in areas.of_level(level):
                for period in periods:
                    m = ctx.measure(ind, area, period)
                    rows.append(_row(ind, area, period, m, report_period, computed_at))
    return rows


def _row(ind: Indicator, area: Area, period: Period, m: Measurement, report_period: str,
         computed_at: datetime) -> dict[str, Any]:
    target = ind.target_for(area.code, month=period.kind == "month")
    value = gbt8170_round(m.value, ind.decimals)
    projection = gbt8170_round(m.projection, ind.decimals)
    lower = (gbt8170_round(m.lower_bound, ind.decimals) if MEASURES[ind.measure].monotone
             else None)
    status = judge(value, target, ind.direction, period_over=period.over, valid=m.valid,
                   projection=projection, lower_bound=lower, margin=ind.at_risk_margin)
    return {
        "report_period": report_period, "as_of": period.as_of, "computed_at": computed_at,
        "indicator": ind.id, "title": ind.title, "title_zh": ind.title_zh,
        "domain": ind.domain, "level": area.level, "region": area.code,
        "region_name": area.name_en, "region_name_zh": area.name_zh,
        "period": period.label, "period_kind": period.kind, "period_start": period.start,
        "period_end": period.end, "period_over": period.over, "value": value,
        "unit": ind.unit, "target": target, "direction": ind.direction, "status": status,
        "data_capture": None if m.capture is None else round(m.capture, 4),
        "valid": m.valid, "projection": projection,
        "projection_method": m.projection_method or None, "detail": m.detail or None,
        "target_example": ind.example, "target_source": ind.target_source,
        "standard": ind.standard,
    }


STORE = "commitment_status"  # envmon.core.stores


def status_dir() -> Path:
    """Where the files layout keeps one file per report period."""
    return (home().root / stores.store(STORE).files).parent


def write(run: StatusRun) -> str:
    """Store the run's rows, replacing those of its report period; returns where."""
    table = pa.Table.from_pylist(run.rows, schema=STATUS_SCHEMA)
    if lakehouse.active():
        with dataset_lock(LOCK_NAME):
            stores.rewrite(STORE, table, report_period=run.report_period)
        return f"lakehouse table {STORE}, report period {run.report_period}"
    path = status_dir() / f"{run.report_period}.parquet"

    def write_table(tmp: Path) -> None:
        pq.write_table(table, tmp)
        os.chmod(tmp, 0o644)  # analysts read it through the warehouse view

    with dataset_lock(LOCK_NAME):
        write_atomic(path, write_table)
    return str(path)

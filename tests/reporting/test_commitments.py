"""Every indicator on the scenario world (tests/reporting/scenario.py), worked by hand.

The report is for 2026-10, judged on 2026-11-15: October is over, 2026 is not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from envmon.core import lakehouse
from envmon.reporting.status import (
    AT_RISK,
    MET,
    MISSED,
    NOT_ENOUGH_DATA,
    ON_TRACK,
    compute,
    write,
)
from tests.reporting.conftest import TODAY
from tests.support import stored


@pytest.fixture(scope="module")
def rows(world: Path) -> dict[tuple[str, str, str], dict]:
    run = compute("2026-10", today=TODAY)
    assert run.as_of.isoformat() == "2026-10-31"
    return {(r["indicator"], r["region"], r["period"]): r for r in run.rows}


def check(rows, indicator, region, period, value, status, *, projection=None,
          capture=None) -> dict:
    row = rows[(indicator, region, period)]
    assert (row["value"], row["status"]) == (value, status), row
    if projection is not None:
        assert row["projection"] == projection, row
    if capture is not None:
        assert row["data_capture"] == pytest.approx(capture), row
    return row


def test_pm25_annual_mean_city(rows) -> None:
    # 2026 to date: (273 x 30 + 31 x 36) / 304 = 9306 / 304 = 30.61 -> 31 (GB/T 8170).
    # Projection, rest as in 2025 (61 days of 40): (9306 + 2440) / 365 = 32.18 -> 32
    # > 30: at risk.
    row = check(rows, "pm25_mean", "320100", "2026", 31.0, AT_RISK, projection=32.0,
                capture=1.0)
    assert row["projection_method"] == "rest as in the previous year"
    assert row["period_over"] is False and row["target_example"] is True
    # October: 36 > 30, the month is over.
    check(rows, "pm25_mean", "320100", "2026-10", 36.0, MISSED)


def test_pm25_validity_and_areas(rows) -> None:
    # Wuxi has only October: the year cannot reach 27 days in January..September.
    row = check(rows, "pm25_mean", "320200", "2026", 50.0, NOT_ENOUGH_DATA)
    assert "2026-01 0/31 (needs 27)" in row["detail"]
    check(rows, "pm25_mean", "320200", "2026-10", 50.0, MISSED)
    # Hangzhou misses 4 February days: 24 < 25.
    row = check(rows, "pm25_mean", "330100", "2026", 20.0, NOT_ENOUGH_DATA)
    assert "2026-02 24/28 (needs 25)" in row["detail"]
    # Jiangsu = mean of its cities; Wuxi is not valid, so the province is not judged
    # (its value is Nanjing's alone).
    row = check(rows, "pm25_mean", "320000", "2026", 31.0, NOT_ENOUGH_DATA)
    assert "not valid: Wuxi" in row["detail"]
    # October: every city valid; the region = (36 + 50 + 20) / 3 = 35.3 -> 35.
    check(rows, "pm25_mean", "yrd", "2026-10", 35.0, MISSED)
    check(rows, "pm25_mean", "320000", "2026-10", 43.0, MISSED)  # (36 + 50) / 2


def test_pm25_change(rows) -> None:
    # (30.61 - 40) / 40 = -23.47 % -> -23.5; projected (32.18 - 40) / 40 = -19.5 %.
    check(rows, "pm25_change", "320100", "2026", -23.5, ON_TRACK, projection=-19.5)
    # October: (36 - 40) / 40 = -10 %.
    check(rows, "pm25_change", "320100", "2026-10", -10.0, MET)
    # Hangzhou has no 2025 data.
    check(rows, "pm25_change", "330100", "2026-10", None, NOT_ENOUGH_DATA)


def test_good_days_and_heavy_days(rows) -> None:
    # Good days: (273 - 9) + 25 = 289 of 304 = 95.07 % -> 95.1; projected with 2025's
    # 61 good November-December days: 350 / 365 = 95.9 %.
    check(rows, "good_day_ratio", "320100", "2026", 95.1, ON_TRACK, projection=95.9)
    check(rows, "good_day_ratio", "320100", "2026-10", 80.6, MISSED)  # 25 / 31
    # Six days above 200 already exceed the year's 3: missed before the year ends.
    check(rows, "heavy_days", "320100", "2026", 6.0, MISSED, projection=6.0)
    check(rows, "heavy_days", "320100", "2026-10", 6.0, MISSED)  # month target 0
    # Wuxi: 2 so far (not above 3), too little data to say more.
    check(rows, "heavy_days", "320200", "2026", 2.0, NOT_ENOUGH_DATA)
    # Jiangsu: the mean per city of what is already counted, (6 + 2) / 2 = 4 > 3, is
    # a floor the year cannot go below: missed although Wuxi is not valid.
    row = rows[("heavy_days", "320000", "2026")]
    assert row["status"] == MISSED


def test_o3_percentile(rows) -> None:
    # October: 30 valid values 10..300 (31st not valid): k = 1 + 29 x 0.9 = 27.1
    # -> 270 + 10 x 0.1 = 271 > 160.
    check(rows, "o3_p90", "320100", "2026-10", 271.0, MISSED)
    # Year: 273 days of 100 and October's 30 values; sorted, X9 = 90 and X10..X283 =
    # 100; k = 1 + 302 x 0.9 = 272.8 -> 100.
    check(rows, "o3_p90", "320100", "2026", 100.0, ON_TRACK, projection=100.0)
    # 2025 same days: 304 values of 100 -> 100; change 0 %, not below zero.
    check(rows, "o3_change", "320100", "2026", 0.0, ON_TRACK)
    # PM2.5 down (-23.5 %) but O3 not (0 %): not "both down"; projected the same.
    check(rows, "pm25_o3_both_down", "320100", "2026", 0.0, AT_RISK, projection=0.0)


def test_water(rows) -> None:
    # Jiangsu is upstream of S1: 9 of 10 months compliant = 90 %, capture 10 / 10.
    # Projection: no 2025 data -> stays 90, exactly the target: no margin -> at risk.
    check(rows, "water_xb_compliance", "320000", "2026", 90.0, AT_RISK, projection=90.0,
          capture=1.0)
    check(rows, "water_xb_compliance", "320000", "2026-10", 0.0, MISSED)
    # Zhejiang is upstream of S2, seen in October only: 1 of 10 section-months.
    check(rows, "water_xb_compliance", "330000", "2026", 100.0, NOT_ENOUGH_DATA, capture=0.1)
    # Region: 10 of 11 = 90.9 %, 11 of 20 expected section-months (0.55 < 0.8).
    check(rows, "water_xb_compliance", "yrd", "2026", 90.9, NOT_ENOUGH_DATA, capture=0.55)
    # Sections located in Jiangsu (S1, S3): 18 of 20 section-months in I-III.
    check(rows, "water_share_i_iii", "320000", "2026", 90.0, ON_TRACK, capture=1.0)
    # S3 was worse than V in March: the year is missed, October is not.
    check(rows, "water_worse_than_v", "320000", "2026", 1.0, MISSED)
    check(rows, "water_worse_than_v", "320000", "2026-10", 0.0, MET)
    # Jiangsu owes 1,000 CNY for October; Zhejiang nothing.
    check(rows, "water_compensation_owed", "320000", "2026", 1000.0, MISSED)
    check(rows, "water_compensation_owed", "330000", "2026-10", 0.0, MET)
    check(rows, "water_compensation_owed", "yrd", "2026-10", 1000.0, MISSED)
    assert "Jiangsu pays 1,000" in rows[("water_compensation_owed", "yrd", "2026-10")]["detail"]


def test_hazardous_waste(rows) -> None:
    # Jiangsu ships all five: 4 electronic of 5 = 80 %.
    check(rows, "hw_electronic_share", "320000", "2026-10", 80.0, MISSED)
    check(rows, "hw_electronic_share", "330000", "2026-10", None, NOT_ENOUGH_DATA)
    # Cross-province M1..M4, M2 without approval: 3 of 4.
    check(rows, "hw_xprov_approved_share", "320000", "2026-10", 75.0, MISSED)
    # Zhejiang receives M1..M4: M4 not confirmed yet (undecided), M3 late: 2 of 3.
    check(rows, "hw_confirmed_in_time", "330000", "2026-10", 66.7, MISSED)
    check(rows, "hw_confirmed_in_time", "320000", "2026-10", 100.0, MET)  # M5, Wuxi
    # M2's high anomaly counts for both ends, once for the region.
    for region in ("320000", "330000", "yrd"):
        check(rows, "hw_open_high_anomalies", region, "2026-10", 1.0, MISSED)
    # The year: the same manifests, not over; one open anomaly against 0: at risk.
    check(rows, "hw_open_high_anomalies", "320000", "2026", 1.0, AT_RISK)


def test_levels_follow_the_config(rows) -> None:
    assert ("pm25_mean", "320100", "2026") in rows  # air: cities too
    assert ("water_xb_compliance", "320100", "2026") not in rows  # water: province, region
    regions = {k[1] for k in rows}
    assert regions == {"320100", "320200", "330100", "320000", "330000", "yrd"}


def test_status_file_and_view(world: Path) -> None:
    run = compute("2026-10", today=TODAY)
    stored_at = write(run)
    if lakehouse.active():
        assert stored_at == "lakehouse table commitment_status, report period 2026-10"
        assert not (world / "reporting").exists()
    else:
        assert stored_at == str(world / "reporting" / "commitment_status" / "2026-10.parquet")
    con = stored.open_warehouse(world / "warehouse.duckdb")
    try:
        # The view was built before the file existed and still reads it.
        count = con.execute("SELECT count(*) FROM commitment_status").fetchall()[0][0]
        assert count == len(run.rows)
        latest = con.execute(
            "SELECT value, status FROM commitment_status_latest WHERE indicator = "
            "'pm25_mean' AND region = '320100' AND period = '2026'").fetchall()
        assert latest == [(31.0, "at risk")]
    finally:
        con.close()
    # Writing the same report period again replaces the file: no duplicates.
    write(compute("2026-10", today=TODAY))
    con = stored.open_warehouse(world / "warehouse.duckdb")
    try:
        assert con.execute("SELECT count(*) FROM commitment_status").fetchall()[0][0] == \
            len(run.rows)
    finally:
        con.close()

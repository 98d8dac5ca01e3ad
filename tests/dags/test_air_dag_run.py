"""`airflow dags test` runs the air DAG on demo data; the warehouse shows the result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import stored
from tests.support.airflow import dags_test, migrated_env


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return migrated_env(tmp_path_factory.mktemp("airflow_run"),
                        ENVMON_AIR_START="2026-10-01T00:00:00+08:00")


@pytest.mark.slow
def test_air_dag_loads_demo_day_into_warehouse(airflow_env: dict[str, str]) -> None:
    # 03:00 Beijing on 2 October: the hour that just ended belongs to 2 October.
    dags_test("air_quality", "2026-10-02T03:00:00+08:00", airflow_env)

    home = Path(airflow_env["ENVMON_HOME"])
    con = stored.open_warehouse(home / "warehouse.duckdb")
    try:
        runs = con.sql("SELECT source, status, rows_in, rows_loaded + rows_quarantined "
                       "FROM ingest_runs").fetchall()
        assert len(runs) == 1
        source, status, rows_in, accounted = runs[0]
        assert (source, status) == ("demo", "ok") and rows_in == accounted > 1000
        days = dict(con.sql("SELECT date::VARCHAR, count(*) FROM air_hourly GROUP BY 1").fetchall())
        # hours 1-23 of the file belong to 2 October, hour 0 to 1 October
        assert set(days) == {"2026-10-01", "2026-10-02"}
        assert days["2026-10-02"] > 20 * days["2026-10-01"]
        valid = con.execute("SELECT count(*) FROM air_daily_city "
                            "WHERE date = DATE '2026-10-02' AND pm25_valid").fetchall()[0][0]
        assert valid == 41
    finally:
        con.close()

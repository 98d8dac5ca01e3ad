"""Stations the registry flags as 对照点 stay out of the city mean (HJ 663 城市点 only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from envmon.air.ingest import ingest_files
from envmon.air.registry import city_assessment_stations, station_places
from tests.support import stored
from tests.support.feeds import write_china_sites

YANGZHOU = "321000"
FLAGGED, ASSESSED = "1185A", "1186A"  # 市监测站 (对照点 = Y), 邗江监测站 (N)


def _mart(home: Path, name: str, day: str) -> pd.DataFrame:
    rows = stored.lake_rows(name)
    return rows[rows["_partition"] == f"date={day}"].reset_index(drop=True)


def test_the_city_mean_leaves_out_flagged_stations(envmon_home: Path, tmp_path: Path) -> None:
    assessed = city_assessment_stations()
    assert FLAGGED not in set(assessed["station_code"])
    assert FLAGGED in set(station_places()["station_code"])
    # the flagged station reads 100 µg/m3 of PM2.5 every hour, the other 40
    override = {(hour, "PM2.5", FLAGGED): "100" for hour in range(24)}
    path = write_china_sites(tmp_path, "20261001", [FLAGGED, ASSESSED], override=override)
    [record] = ingest_files([path], "china-sites", data_docs=False)
    assert record.status == "ok", record.message

    stations = _mart(envmon_home, "air_daily_station", "2026-10-01").set_index("station_code")
    assert stations.loc[FLAGGED, "pm25"] > stations.loc[ASSESSED, "pm25"]
    city = _mart(envmon_home, "air_daily_city", "2026-10-01").set_index("city_code").loc[YANGZHOU]
    assert city["pm25_stations"] == 1
    assert city["pm25"] == stations.loc[ASSESSED, "pm25"]

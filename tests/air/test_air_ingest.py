"""Air files through the whole load: landing, checks, lake, quarantine, ledger."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from envmon.air.ingest import ingest_files
from envmon.domains import build_warehouse
from tests.support import stored
from tests.support.feeds import china_sites_text, write_china_sites

STATIONS = ["9001A", "9002A", "9016A"]  # registered demo stations (Shanghai, Shanghai, Nanjing?)


def lake_rows(home: Path, dataset: str = "air_hourly") -> pd.DataFrame:
    return stored.lake_rows(dataset)


def quarantine_rows(home: Path) -> pd.DataFrame:
    return stored.quarantine_rows()


def ingest(path: Path, **kwargs):
    [record] = ingest_files([path], "china-sites", **kwargs)
    return record


def test_good_file_loads_and_balances(envmon_home: Path, tmp_path: Path) -> None:
    record = ingest(write_china_sites(tmp_path, "20261001", STATIONS))
    assert record.status == "ok", record.message
    assert record.rows_in == record.rows_loaded + record.rows_quarantined == 72
    rows = lake_rows(envmon_home)
    assert len(rows) == 72
    # hour 0 (ending 00:00 on 1 October) belongs to 30 September's natural day
    assert sorted(set(rows["_partition"])) == [
        "date=2026-09-30", "date=2026-10-01"]
    assert rows["registered"].all()
    assert set(rows["aqi_standard"]) == {"HJ 633-2026"}
    # HJ 633-2026 daily tables: PM2.5 40 -> 50/25*(40-35)+50 = 60;
    # PM10 65 -> 50/70*(65-50)+50 = 60.7 -> 61, so PM10 is primary.
    assert set(rows["aqi"]) == {61}
    assert set(rows["primary_pollutant"]) == {"PM10"}
    daily = lake_rows(envmon_home, "air_daily_station")
    oct1 = daily[daily["_partition"] == "date=2026-10-01"]
    assert len(oct1) == 3 and oct1["pm25_valid"].all() and (oct1["pm25"] == 40).all()


def test_same_file_twice_changes_nothing(envmon_home: Path, tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", STATIONS)
    first = ingest(path)
    before = stored.lake_state()
    second = ingest(path)
    assert second.status == "duplicate" and first.run_id in second.message
    assert stored.lake_state() == before
    # forced: rewritten, but the same rows, no duplicates
    forced = ingest(path, force=True)
    assert forced.status == "ok"
    rows = lake_rows(envmon_home)
    assert len(rows) == 72 and not rows.duplicated(["station_code", "ts"]).any()


def test_corrected_redelivery_replaces_values_and_keeps_old_bytes(envmon_home: Path,
                                                                  tmp_path: Path) -> None:
    ingest(write_china_sites(tmp_path / "v1", "20261001", STATIONS))
    corrected = write_china_sites(tmp_path / "v2", "20261001", STATIONS,
                                  override={(5, "PM2.5", "9001A"): "90"})
    record = ingest(corrected)
    assert record.status == "ok"
    rows = lake_rows(envmon_home)
    assert len(rows) == 72
    hit = rows[(rows["station_code"] == "9001A") & (rows["ts"].dt.hour == 5)]
    assert hit["pm25"].tolist() == [90] and hit["run_id"].tolist() == [record.run_id]
    landed = list((envmon_home / "landing" / "air" / "china-sites").glob("*.csv"))
    assert len(landed) == 2


def test_unregistered_station_is_loaded_and_flagged(envmon_home: Path, tmp_path: Path) -> None:
    ingest(write_china_sites(tmp_path, "20261001", ["9001A", "0999A"]))
    rows = lake_rows(envmon_home)
    unregistered = rows[rows["station_code"] == "0999A"]
    assert len(unregistered) == 24
    assert not unregistered["registered"].any() and unregistered["city_code"].isna().all()
    build_warehouse()
    con = stored.open_warehouse(envmon_home / "warehouse.duckdb")
    assert con.sql("SELECT station_code, station_hours FROM air_unregistered_stations"
                   ).fetchall() == [("0999A", 24)]


def test_feed_aqi_disagreement_is_flagged(envmon_home: Path, tmp_path: Path) -> None:
    path = write_china_sites(tmp_path, "20261001", ["9001A"], hours=[3, 4],
                             override={(3, "AQI", "9001A"): "61", (4, "AQI", "9001A"): "75"})
    ingest(path)
    rows = lake_rows(envmon_home).sort_values("ts")
    assert rows["aqi_mismatch"].tolist() == [False, True]
    assert rows["feed_aqi"].tolist() == [61, 75]


@pytest.mark.parametrize("override, reason", [
    ({(4, "PM2.5", "9002A"): "n/a"}, "not a number 'n/a' for PM2.5"),
    ({(4, "PM2.5", "9002A"): "-3"}, "negative value '-3' for PM2.5"),
])
def test_bad_cell_is_quarantined_and_its_hour_keeps_other_values(
        envmon_home: Path, tmp_path: Path, override: dict, reason: str) -> None:
    record = ingest(write_china_sites(tmp_path, "20261001", STATIONS, override=override))
    assert record.rows_quarantined == 1 and record.rows_loaded == 72
    q = quarantine_rows(envmon_home)
    assert len(q) == 1 and reason in q["reason"][0]
    assert (q["line"][0], q["field"][0]) == (4 * 15 + 3, "9002A")
    rows = lake_rows(envmon_home)
    hour = rows[(rows["station_code"] == "9002A") & (rows["ts"].dt.hour == 4)].iloc[0]
    assert pd.isna(hour["pm25"]) and hour["pm10"] == 65
    assert not hour["aqi_complete"]


def test_impossible_value_quarantines_its_station_hour(envmon_home: Path,
                                                       tmp_path: Path) -> None:
    record = ingest(write_china_sites(tmp_path, "20261001", STATIONS,
                                      override={(4, "PM2.5", "9002A"): "2500"}))
    assert record.rows_quarantined == 1 and record.rows_loaded == 71
    q = quarantine_rows(envmon_home)
    assert "expect_column_values_to_be_between(pm25" in q["reason"][0]
    assert q["field"][0] == "pm25" and q["value"][0] == "2500.0"


def test_unknown_type_line_is_quarantined(envmon_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "china_sites_20261001.csv"
    path.write_text(china_sites_text("20261001", STATIONS, hours=range(24))
                    + "20261001,5,PM1,3,4,5\n", encoding="utf-8")
    record = ingest(path)
    q = quarantine_rows(envmon_home)
    assert record.rows_quarantined == 1 and "unknown type" in q["reason"][0]
    assert q["field"][0] == "type" and q["value"][0] == "PM1"


def test_file_name_date_disagreeing_with_rows(envmon_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "china_sites_20261002.csv"
    path.write_text(china_sites_text("20261001", STATIONS), encoding="utf-8")
    record = ingest(path)
    assert record.rows_loaded == 0 and record.rows_quarantined == 72
    q = quarantine_rows(envmon_home)
    assert q["reason"].str.fullmatch(
        r"date 20261001 hour \d+ is outside the window 2026-10-02 00:00 - 23:00 inferred "
        r"from the file name china_sites_20261002\.csv").all()
    assert (q["rule"] == "parse").all()
    assert (q["field"] == "date").all() and (q["value"] == "20261001").all()
    assert record.status == "failed" and "no row passed the checks" in record.message


def test_co_in_micrograms_fails_the_batch_and_keeps_earlier_loads(envmon_home: Path,
                                                                  tmp_path: Path) -> None:
    good = ingest(write_china_sites(tmp_path / "ok", "20261001", STATIONS))
    ug = {(h, kind, s): "700" for h in range(24) for kind in ("CO", "CO_24h") for s in STATIONS}
    bad = ingest(write_china_sites(tmp_path / "bad", "20261001", STATIONS, override=ug))
    assert good.status == "ok" and bad.status == "failed"
    assert "CO looks like µg/m³" in bad.message
    assert bad.rows_loaded == 0 and bad.rows_quarantined == 72
    rows = lake_rows(envmon_home)
    assert len(rows) == 72 and (rows["co"] == 0.7).all() and (rows["run_id"] == good.run_id).all()


def test_duplicated_station_hours_in_long_format(envmon_home: Path, tmp_path: Path) -> None:
    """A repeated (date, hour, type) line: the repeat is refused, with the first line named."""
    text = china_sites_text("20261001", STATIONS) + "20261001,7,PM2.5,41,41,41\n"
    path = tmp_path / "china_sites_20261001.csv"
    path.write_text(text, encoding="utf-8")
    record = ingest(path)
    assert record.rows_quarantined == 1 and record.rows_loaded == 72
    assert "duplicate line" in quarantine_rows(envmon_home)["reason"][0]


def test_unreadable_file_is_a_failed_run_and_nothing_else_changes(envmon_home: Path,
                                                                  tmp_path: Path) -> None:
    good = ingest(write_china_sites(tmp_path, "20261001", STATIONS))
    empty = tmp_path / "china_sites_20261002.csv"
    empty.write_text("", encoding="utf-8")
    record = ingest(empty)
    assert record.status == "failed" and "empty file" in record.message
    assert "china_sites_20261002.csv" in record.message
    assert len(lake_rows(envmon_home)) == 72 and good.status == "ok"
    # the bytes were still kept
    assert len(list((envmon_home / "landing" / "air" / "china-sites").glob("*.csv"))) == 2


def test_batch_with_far_fewer_stations_is_incomplete_but_loads(envmon_home: Path,
                                                               tmp_path: Path) -> None:
    record = ingest(write_china_sites(tmp_path, "20261001", STATIONS),
                    source_cfg={"min_stations": 100})
    assert record.status == "incomplete" and "far fewer stations" in record.message
    assert record.rows_loaded == 72

"""`envmon pull air` against real HTTP servers on 127.0.0.1 and directories."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from envmon.air.pull import pull
from envmon.core.errors import SourceError
from tests.support import stored
from tests.support.feeds import china_sites_text
from tests.support.http_server import FixtureServer, Scripted

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "air" / "openaq"
STATIONS = ["9001A", "9002A"]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    monkeypatch.setenv("ENVMON_CONFIG_DIR", str(directory))
    return directory


def write_sources(config_dir: Path, sources: dict) -> None:
    air = {"hour_label": "ending", "pm_hourly_basis": "hourly",
           "source_priority": ["china-sites", "openaq"], "sources": sources}
    (config_dir / "sources.yaml").write_text(yaml.safe_dump({"air": air}), encoding="utf-8")


def stored_rows(home: Path) -> int:
    return len(stored.lake_rows("air_hourly"))


def test_url_template_pulls_each_day(envmon_home: Path, config_dir: Path,
                                     fixture_server: FixtureServer) -> None:
    for day in ("20261001", "20261002"):
        fixture_server.add(f"/archive/china_sites_{day}.csv",
                           Scripted(200, {}, china_sites_text(day, STATIONS).encode()))
    write_sources(config_dir, {"bureau": {
        "format": "china-sites", "min_stations": 2, "min_hours": 20,
        "url_template": fixture_server.url("/archive/china_sites_{date:%Y%m%d}.csv")}})
    records = pull("bureau", date(2026, 10, 1), date(2026, 10, 2))
    assert [r.status for r in records] == ["ok", "ok"]
    assert [r.files for r in records] == [["china_sites_20261001.csv"],
                                          ["china_sites_20261002.csv"]]
    assert stored_rows(envmon_home) == 96
    assert len(fixture_server.requests) == 2
    landed = list((envmon_home / "landing" / "air" / "bureau").glob("*.meta.json"))
    assert len(landed) == 2 and all("/archive/" in p.read_text() for p in landed)


def test_missing_day_fails_the_pull_and_keeps_earlier_days(envmon_home: Path, config_dir: Path,
                                                           fixture_server: FixtureServer) -> None:
    fixture_server.add("/archive/china_sites_20261001.csv",
                       Scripted(200, {}, china_sites_text("20261001", STATIONS).encode()))
    write_sources(config_dir, {"bureau": {
        "format": "china-sites",
        "url_template": fixture_server.url("/archive/china_sites_{date:%Y%m%d}.csv")}})
    with pytest.raises(SourceError, match="404"):
        pull("bureau", date(2026, 10, 1), date(2026, 10, 2))
    assert stored_rows(envmon_home) == 48


def test_directory_source(envmon_home: Path, config_dir: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "china_sites_20261001.csv").write_text(china_sites_text("20261001", STATIONS))
    write_sources(config_dir, {"drop": {"format": "china-sites", "directory": str(drop)}})
    [record] = pull("drop", date(2026, 10, 1), date(2026, 10, 1))
    assert record.status == "ok" and record.rows_loaded == 48
    with pytest.raises(SourceError, match="not delivered yet"):
        pull("drop", date(2026, 10, 2), date(2026, 10, 2))


def test_openaq_pull_pages_lands_and_loads(envmon_home: Path, config_dir: Path,
                                           fixture_server: FixtureServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_OPENAQ_KEY", "secret-key-123")
    for number in (1, 2, 3):
        fixture_server.add("/v3/sensors/2001/hours",
                           Scripted.from_file(FIXTURES / f"pm25_page{number}.json"),
                           query={"page": str(number)})
    write_sources(config_dir, {"openaq": {
        "format": "openaq", "base_url": fixture_server.base_url, "page_limit": 2,
        "api_key_env": "TEST_OPENAQ_KEY",
        "sensors": [{"sensor_id": 2001, "station_code": "9001A", "pollutant": "pm25"}]}})
    [record] = pull("openaq", date(2026, 10, 1), date(2026, 10, 1))
    assert record.status == "ok", record.message
    assert record.rows_in == record.rows_loaded + record.rows_quarantined
    assert record.rows_loaded >= 1 and len(record.files) == 3
    assert all(r.headers.get("x-api-key") == "secret-key-123" for r in fixture_server.requests)
    # the key is never written anywhere envmon keeps
    kept = b"".join(p.read_bytes() for p in envmon_home.rglob("*") if p.is_file())
    assert b"secret-key-123" not in kept


def test_openaq_without_key_is_a_clear_error(envmon_home: Path, config_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAQ_API_KEY", raising=False)
    write_sources(config_dir, {"openaq": {
        "format": "openaq", "base_url": "http://127.0.0.1:9",
        "sensors": [{"sensor_id": 1, "station_code": "9001A", "pollutant": "pm25"}]}})
    with pytest.raises(SourceError, match="OPENAQ_API_KEY"):
        pull("openaq", date(2026, 10, 1), date(2026, 10, 1))


def test_demo_source_generates_on_demand(envmon_home: Path) -> None:
    [record] = pull("demo", date(2026, 10, 5), date(2026, 10, 5))
    assert record.status == "ok" and record.rows_loaded > 3000
    again = pull("demo", date(2026, 10, 5), date(2026, 10, 5))
    assert again[0].status == "duplicate"

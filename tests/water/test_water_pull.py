"""`envmon pull water` against a real HTTP server on 127.0.0.1, directories and the demo."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from envmon.core.errors import SourceError
from envmon.core.settings import CONFIG_DIR
from envmon.core.timeutil import BEIJING
from envmon.water.pull import pull
from tests.support.http_server import FixtureServer, Scripted
from tests.support.stored import lake_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "water"
ENDPOINT = "/GJZ/Ajax/Publish.ashx"


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    shutil.copy(CONFIG_DIR / "water_compensation.yaml", directory)
    monkeypatch.setenv("ENVMON_CONFIG_DIR", str(directory))
    return directory


def write_sources(config_dir: Path, sources: dict) -> None:
    water = {"source_priority": ["cnemc-water"], "fetch_tolerance_hours": 24,
             "max_reading_age_days": 3650, "sources": sources}
    (config_dir / "sources.yaml").write_text(yaml.safe_dump({"water": water}), encoding="utf-8")


def release(server: FixtureServer, **extra) -> dict:
    return {"format": "cnemc-water", "url": server.url(ENDPOINT), "page_size": 3,
            "params": {"AreaID": "", "RiverID": "", "MNName": "", "action": "getRealDatas"},
            "max_retries": 1, "backoff_s": 0.0, "min_sections": 1, **extra}


def stored(home: Path) -> int:
    return len(lake_rows("water_readings"))


def serve_pages(server: FixtureServer, second: Scripted | None = None) -> None:
    server.add(ENDPOINT, Scripted.from_file(FIXTURES / "cnemc" / "realtime_p1.json"),
               query={"PageIndex": "1"})
    server.add(ENDPOINT, second or Scripted.from_file(FIXTURES / "cnemc" / "realtime_p2.json"),
               query={"PageIndex": "2"})


def test_pages_are_fetched_landed_and_loaded_as_one_run(envmon_home: Path, config_dir: Path,
                                                        fixture_server: FixtureServer) -> None:
    serve_pages(fixture_server)
    write_sources(config_dir, {"release": release(fixture_server)})
    [record] = pull("release")
    assert record.status == "ok", record.message
    assert record.rows_loaded == 5 and len(record.files) == 2
    pages = [r.query["PageIndex"] for r in fixture_server.requests]
    assert pages == [["1"], ["2"]]
    assert all(r.query["action"] == ["getRealDatas"] and r.query["PageSize"] == ["3"]
               for r in fixture_server.requests)
    metas = list((envmon_home / "landing" / "water" / "release").glob("*.meta.json"))
    assert len(metas) == 2 and all("fetched_at" in m.read_text() for m in metas)


def test_a_failing_page_fails_the_pull_and_loads_nothing(envmon_home: Path, config_dir: Path,
                                                         fixture_server: FixtureServer) -> None:
    serve_pages(fixture_server, Scripted.json({"detail": "gone"}, status=404))
    write_sources(config_dir, {"release": release(fixture_server)})
    with pytest.raises(SourceError, match="404"):
        pull("release")
    assert stored(envmon_home) == 0
    # page 1's bytes are kept
    assert len(list((envmon_home / "landing" / "water" / "release").glob("*.meta.json"))) == 1


def test_a_server_error_is_retried(envmon_home: Path, config_dir: Path,
                                   fixture_server: FixtureServer) -> None:
    serve_pages(fixture_server)
    fixture_server.fail_first(ENDPOINT, 1, status=503, query={"PageIndex": "2"})
    write_sources(config_dir, {"release": release(fixture_server)})
    [record] = pull("release")
    assert record.status == "ok" and len(fixture_server.requests) == 3


def test_a_broken_page_fails_the_pull(envmon_home: Path, config_dir: Path,
                                      fixture_server: FixtureServer) -> None:
    serve_pages(fixture_server, Scripted.from_file(FIXTURES / "cnemc" / "broken.json"))
    write_sources(config_dir, {"release": release(fixture_server)})
    with pytest.raises(SourceError, match="page 2 .*not valid JSON"):
        pull("release")
    assert stored(envmon_home) == 0


def test_far_fewer_rows_than_records_is_a_failed_pull(envmon_home: Path, config_dir: Path,
                                                      fixture_server: FixtureServer) -> None:
    # the release claims 50 sections (records) but its 2 pages hold 5 rows
    page = (FIXTURES / "cnemc" / "realtime_p1.json").read_text(encoding="utf-8")
    short = page.replace('"records":5', '"records":50')
    fixture_server.add(ENDPOINT, Scripted(200, {"Content-Type": "application/json"},
                                          short.encode()), query={"PageIndex": "1"})
    fixture_server.add(ENDPOINT, Scripted.from_file(FIXTURES / "cnemc" / "realtime_p2.json"),
                       query={"PageIndex": "2"})
    write_sources(config_dir, {"release": release(fixture_server)})
    with pytest.raises(SourceError, match="says 50 records.*delivered 5"):
        pull("release")
    assert stored(envmon_home) == 0


def test_an_empty_release_is_a_failed_pull(envmon_home: Path, config_dir: Path,
                                            fixture_server: FixtureServer) -> None:
    fixture_server.add(ENDPOINT, Scripted.json({"result": 0, "message": "busy", "thead": [],
                                                "tbody": [], "total": 0, "records": 0}))
    write_sources(config_dir, {"release": release(fixture_server)})
    with pytest.raises(SourceError, match="delivered no rows"):
        pull("release")


def test_directory_source(envmon_home: Path, config_dir: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_sources(config_dir, {"lab": {"format": "lab-monthly", "directory": str(drop),
                                       "pattern": "*.csv"}})
    with pytest.raises(SourceError, match="nothing delivered"):
        pull("lab")
    shutil.copy(FIXTURES / "lab" / "lab_monthly_202610.csv", drop)
    [record] = pull("lab")
    assert record.status == "ok" and record.rows_loaded == 3
    assert pull("lab")[0].status == "duplicate"


def test_demo_source_generates_the_page_of_its_time(envmon_home: Path) -> None:
    at = datetime(2026, 10, 2, 4, 0, tzinfo=BEIJING)
    [record] = pull("demo", at=at, data_docs=False)
    assert record.status == "ok", record.message
    assert record.rows_loaded >= 20
    assert pull("demo", at=at, data_docs=False)[0].status == "duplicate"
    days = set(lake_rows("water_readings")["_partition"])
    assert days == {"date=2026-10-02"}

"""`envmon pull hazwaste` from a directory, an HTTP server on 127.0.0.1, and the demo."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from envmon.core.errors import ConfigError, SourceError
from envmon.hazwaste.pull import pull
from tests.hazwaste.builders import events, export, manifest, t
from tests.hazwaste.conftest import lake
from tests.support.http_server import FixtureServer, Scripted


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    root = Path(__file__).resolve().parents[2] / "config"
    (directory / "hazwaste.yaml").write_text((root / "hazwaste.yaml").read_text("utf-8"),
                                            encoding="utf-8")
    monkeypatch.setenv("ENVMON_CONFIG_DIR", str(directory))
    return directory


def write_sources(config_dir: Path, sources: dict) -> None:
    (config_dir / "sources.yaml").write_text(
        yaml.safe_dump({"hazwaste": {"scheduled": list(sources), "sources": sources}}),
        encoding="utf-8")


def day_export(day: str, serial: int) -> bytes:
    doc = export([manifest(f"20263205{serial:06d}",
                           lifecycle=events(created=t(day, "08:00"), departed=t(day, "09:00"),
                                            received=t(day, "15:00"), confirmed=None))],
                 exported_at=t(day, "23:00"))
    return json.dumps(doc).encode()


def test_directory_source_and_a_missing_day(envmon_home: Path, config_dir: Path,
                                            tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "manifests_20261012.json").write_bytes(day_export("10-12", 1))
    write_sources(config_dir, {"js": {"format": "manifest-json", "directory": str(drop)}})
    [record] = pull("js", date(2026, 10, 12), date(2026, 10, 12), data_docs=False)
    assert record.status == "ok" and record.rows_loaded == 1
    with pytest.raises(SourceError, match="manifests_20261013.json: not delivered yet"):
        pull("js", date(2026, 10, 12), date(2026, 10, 13), data_docs=False)
    # What was there stays, and the state was recomputed anyway.
    assert len(lake(envmon_home, "hw_manifest_state")) == 1


def test_url_template_fetches_each_day(envmon_home: Path, config_dir: Path,
                                       fixture_server: FixtureServer) -> None:
    for day, serial in (("12", 1), ("13", 2)):
        fixture_server.add(f"/export/manifests_202610{day}.json",
                           Scripted(200, {}, day_export(f"10-{day}", serial)))
    write_sources(config_dir, {"js": {
        "format": "manifest-json",
        "url_template": fixture_server.url("/export/manifests_{date:%Y%m%d}.json")}})
    records = pull("js", date(2026, 10, 12), date(2026, 10, 13), data_docs=False)
    assert [r.status for r in records] == ["ok", "ok"]
    assert len(fixture_server.requests) == 2
    assert sorted(lake(envmon_home, "hw_manifests")["manifest_no"]) == ["20263205000001",
                                                                       "20263205000002"]
    metas = list((envmon_home / "landing" / "hazwaste" / "js").glob("*.meta.json"))
    assert len(metas) == 2 and all("/export/" in p.read_text() for p in metas)


def test_demo_source_writes_the_day_it_is_asked_for(envmon_home: Path, config_dir: Path
                                                    ) -> None:
    write_sources(config_dir, {"demo": {"format": "manifest-json",
                                        "generator": "envmon.demo.sources:hazwaste_day",
                                        "seed": 7, "directory": str(envmon_home / "feeds")}})
    [record] = pull("demo", date(2026, 10, 12), date(2026, 10, 12), data_docs=False)
    assert record.status == "ok" and record.rows_loaded > 300
    assert (envmon_home / "feeds" / "manifests_20261012.json").exists()


def test_unknown_source_or_format_is_a_config_error(envmon_home: Path, config_dir: Path
                                                    ) -> None:
    write_sources(config_dir, {"x": {"format": "xml", "directory": "/tmp"}})
    with pytest.raises(ConfigError, match="unknown format 'xml'"):
        pull("x", date(2026, 10, 12), date(2026, 10, 12))
    with pytest.raises(ConfigError, match="unknown hazwaste source 'y'"):
        pull("y", date(2026, 10, 12), date(2026, 10, 12))

"""The store: typed empty views on a fresh home, a crash between writes, concurrent runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from envmon.alerts import store
from envmon.alerts.service import run
from envmon.domains import build_warehouse
from tests.alerts.conftest import make_config
from tests.alerts.scenario import load_days
from tests.support import stored

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = [{"dataset": "air_hourly", "source": "china-sites", "max_age_hours": 26}]


def test_fresh_home_has_typed_empty_alert_views(envmon_home: Path) -> None:
    build_warehouse()
    con = stored.open_warehouse(envmon_home / "warehouse.duckdb")
    try:
        for view, schema in (("alerts", store.ALERT_SCHEMA), ("alert_events", store.EVENT_SCHEMA),
                             ("alert_outbox", store.OUTBOX_SCHEMA)):
            described = con.execute(f"DESCRIBE {view}").fetchall()
            assert [r[0] for r in described] == schema.names, view
            assert con.execute(f"SELECT count(*) FROM {view}").fetchall() == [(0,)]
        types = dict((r[0], r[1]) for r in con.execute("DESCRIBE alerts").fetchall())
        assert types["first_raised_at"] == "TIMESTAMP WITH TIME ZONE"
        assert types["value"] == "DOUBLE" and types["transitions"] == "INTEGER"
    finally:
        con.close()
    # Building wrote no store file: the views' empty stand-in file lies in
    # alerts/_empty/ (core/warehouse.py), which the store never reads.
    assert not list((envmon_home / "alerts").glob("*.parquet"))
    assert store.read("alerts") == []


def test_crash_after_queueing_notices_sends_none_twice(envmon_home: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(expected_sources=EXPECTED)
    load_days(tmp_path / "feeds", [1, 2, 3])
    build_warehouse()
    real_write = store.write

    def crash_on_state(name, rows):
        if name == "alerts":
            raise OSError("simulated crash before the state was written")
        real_write(name, rows)

    monkeypatch.setattr(store, "write", crash_on_state)
    with pytest.raises(OSError):
        run(config=config, deliver_notices=False)
    queued = store.read("outbox")
    assert store.read("alerts") == [] and queued == []  # no enabled channel in this config
    events_before = store.read("alert_events")
    assert len(events_before) == 6
    monkeypatch.setattr(store, "write", real_write)
    summary = run(config=config, deliver_notices=False)
    # The same transitions, with the same ids: history is not doubled.
    assert summary.transitions == {"raised": 6}
    assert len(store.read("alert_events")) == 6
    assert len(store.read("alerts")) == 6


def test_crash_after_outbox_write_queues_each_notice_once(envmon_home: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          webhook, webhook_secret) -> None:
    config = make_config(webhook=webhook, expected_sources=EXPECTED)
    load_days(tmp_path / "feeds", [1, 2, 3])
    build_warehouse()
    real_append = store.append_events

    def crash(rows):
        raise OSError("simulated crash after the outbox write")

    monkeypatch.setattr(store, "append_events", crash)
    with pytest.raises(OSError):
        run(config=config, deliver_notices=False)
    assert len(store.read("outbox")) == 6 and store.read("alerts") == []
    monkeypatch.setattr(store, "append_events", real_append)
    summary = run(config=config)
    assert summary.queued == 0  # already queued by the run that died
    assert summary.delivery.sent == 6
    assert len(webhook.requests) == 6


def test_concurrent_runs_raise_and_queue_each_alert_once(envmon_home: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    load_days(tmp_path / "feeds", [1, 2, 3])
    build_warehouse()
    # Two processes at once, through the real entry point and config file.
    cfg = tmp_path / "alerts.yaml"
    import yaml

    from tests.alerts.conftest import shipped_config_data

    data = shipped_config_data()
    data["channels"]["bureau-webhook"].update(enabled=True, url="http://127.0.0.1:9/down",
                                              secret_env="ENVMON_TEST_WEBHOOK_SECRET")
    data["rules"]["source_stale"]["params"]["expected"] = EXPECTED
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**__import__("os").environ, "ENVMON_ALERTS_CONFIG": str(cfg)}
    code = "from envmon.alerts.service import run; run(deliver_notices=False)"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    assert len(store.read("alerts")) == 6
    outbox = store.read("outbox")
    assert len(outbox) == 6 and len({r["outbox_id"] for r in outbox}) == 6
    assert sorted(e["event"] for e in store.read("alert_events")) == ["raised"] * 6

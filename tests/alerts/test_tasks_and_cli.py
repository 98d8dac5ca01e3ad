"""The Airflow failure callback and the `envmon alerts` commands."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from envmon.alerts import store
from envmon.alerts.cli import configure, demo_alerts
from envmon.core.progress import ConsoleReporter
from envmon.domains import build_warehouse
from tests.alerts.conftest import SECRET_ENV, shipped_config_data
from tests.alerts.scenario import load_days

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook, webhook_secret) -> Path:
    data = shipped_config_data()
    data["channels"]["bureau-webhook"].update(enabled=True, url=webhook.url, secret_env=SECRET_ENV)
    data["rules"]["source_stale"]["params"]["expected"] = [
        {"dataset": "air_hourly", "source": "china-sites", "max_age_hours": 26}]
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("ENVMON_ALERTS_CONFIG", str(path))
    return path


def test_task_failure_notifies_operators_once(envmon_home: Path, config_file: Path,
                                              webhook) -> None:
    from envmon.alerts.tasks import notify_task_failure

    ti = SimpleNamespace(dag_id="air_quality", task_id="pull", run_id="scheduled__2026-10-02",
                         map_index=0, try_number=4, log_url="http://airflow/log")
    context = {"ti": ti, "exception": RuntimeError("china_sites_20261002.csv: not delivered")}
    notify_task_failure(context)
    notify_task_failure(context)  # the same task run again: no second notice
    assert len(webhook.requests) == 1
    notice = webhook.requests[0].json()
    assert notice["kind"] == "notified"
    assert notice["alert"]["subject"] == "air_quality.pull[0]"
    assert notice["alert"]["period"] == "scheduled__2026-10-02"
    assert "try 4; RuntimeError: china_sites_20261002.csv: not delivered" in notice["alert"][
        "detail"]
    [row] = store.read("alerts")
    assert row["status"] == "notified" and row["rule"] == "task_failure"


def test_task_failure_callback_never_raises(envmon_home: Path, monkeypatch, tmp_path) -> None:
    from envmon.alerts.tasks import notify_task_failure

    monkeypatch.setenv("ENVMON_ALERTS_CONFIG", str(tmp_path / "missing.yaml"))
    notify_task_failure({"ti": None, "exception": None})  # logs, does not raise


def test_tasks_module_is_cheap_to_import() -> None:
    probe = ("import sys; import envmon.alerts.tasks; "
             "print(','.join(m for m in ('pandas', 'pyarrow', 'duckdb', 'great_expectations') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="envmon")
    configure(parser.add_subparsers())
    return parser.parse_args(argv)


def test_alerts_run_and_list(envmon_home: Path, tmp_path: Path, config_file: Path, webhook,
                             capsys) -> None:
    load_days(tmp_path / "feeds", [1, 2, 3])
    build_warehouse()
    args = parse(["alerts", "run"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert "alerts: 6 raised, 0 resolved, 0 reopened; 6 open; 6 notice(s) queued" in out
    assert "delivery: 6 sent, 0 failed" in out
    assert len(webhook.requests) == 6

    args = parse(["alerts", "list", "--open"])
    assert args.handler(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "6 alert(s) open"
    # Most severe first: the two oranges (high) before the warnings.
    assert lines[1].split()[:3] == ["open", "high", "heavy_pollution_orange"]
    assert "310000 Shanghai 上海市" in "\n".join(lines)

    args = parse(["alerts", "run"])
    assert args.handler(args) == 0
    assert "alerts: 0 raised, 0 resolved, 0 reopened; 6 open" in capsys.readouterr().out
    assert len(webhook.requests) == 6


def test_alerts_run_now_needs_an_offset(capsys) -> None:
    with pytest.raises(SystemExit):
        parse(["alerts", "run", "--now", "2026-11-01T08:00"])
    assert "has no offset" in capsys.readouterr().err


def test_alerts_run_fails_on_a_broken_rule_after_running_the_others(
        envmon_home: Path, tmp_path: Path, config_file: Path, capsys) -> None:
    data = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    data["rules"]["air_city_daily_aqi_heavy"]["sql"] = "SELECT no_such_column FROM air_daily_city"
    config_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    load_days(tmp_path / "feeds", [1, 2, 3])
    build_warehouse()
    args = parse(["alerts", "run", "--no-deliver"])
    assert args.handler(args) == 1
    captured = capsys.readouterr()
    assert "rule air_city_daily_aqi_heavy: Binder Error" in captured.err
    assert "alerts: 5 raised" in captured.out  # the other rules ran and were recorded


def test_demo_step_lists_what_it_raised(envmon_home: Path, tmp_path: Path, config_file: Path,
                                        capsys) -> None:
    load_days(tmp_path / "feeds", [1, 2, 3, 4, 5])
    build_warehouse()
    demo_alerts(ConsoleReporter())
    out = capsys.readouterr().out
    assert "alerts: 7 raised, 7 resolved" in out
    assert "stored alerts: 7:" in out and "heavy_pollution_red resolved 1" in out
    demo_alerts(ConsoleReporter())
    assert "alerts: 0 raised, 0 resolved" in capsys.readouterr().out

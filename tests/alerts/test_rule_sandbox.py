"""Rule SQL runs on the locked warehouse connection: it reads the views, no other file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from envmon.alerts.rules import parse_config
from envmon.alerts.service import run
from envmon.domains import build_warehouse
from tests.alerts.conftest import config_data

NOW = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def rule(sql: str) -> dict:
    return {"title": "sandbox probe", "severity": "warning", "requires": ["ingest_runs"],
            "sql": sql}


def test_rule_sql_cannot_read_or_write_other_files(envmon_home: Path, tmp_path: Path) -> None:
    build_warehouse()
    outside = tmp_path / "outside.csv"
    outside.write_text("subject,period\nleak,2026-10\n", encoding="utf-8")
    copied = tmp_path / "copied.csv"
    data = config_data()
    data["rules"] = {
        "reads_outside": rule(f"SELECT subject, period FROM read_csv('{outside}')"),
        "writes_a_file": rule(f"COPY (SELECT 'x' AS subject, 'y' AS period) TO '{copied}'"),
        "reopens_access": rule("SET enable_external_access = true"),
        "reads_views": rule("SELECT 'runs' AS subject, count(*)::VARCHAR AS period "
                            "FROM ingest_runs"),
    }
    summary = run(now=NOW, config=parse_config(data), deliver_notices=False)
    outcomes = {o.rule: o for o in summary.outcomes}
    assert outcomes["reads_views"].status == "evaluated"
    assert [(b.subject, b.period) for b in outcomes["reads_views"].breaches] == [("runs", "0")]
    for name, message in (("reads_outside", "Permission Error"),
                          ("writes_a_file", "COPY statement refused"),
                          ("reopens_access", "configuration has been locked")):
        assert outcomes[name].status == "failed", (name, outcomes[name])
        assert message in outcomes[name].message, (name, outcomes[name].message)
    assert not copied.exists()

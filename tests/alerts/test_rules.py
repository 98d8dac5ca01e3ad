"""The shipped rules on hand-made views, and how the engine treats missing views and bad rules.

The water and hazardous-waste rules are written before their views are
final: here they run on tables with the columns those views are expected
to have (envmon/water/schema.py, envmon/hazwaste/schema.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from envmon.alerts.engine import evaluate, plan
from envmon.alerts.rules import parse_config
from envmon.core.errors import ConfigError
from tests.alerts.conftest import make_config, shipped_config_data

NOW = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def breaches(con, rule: str, config=None):
    [outcome] = evaluate(con, config or make_config(), NOW, only={rule})
    assert outcome.status == "evaluated", outcome.message
    return sorted((b.subject, b.period, b.value, b.ongoing) for b in outcome.breaches)


def test_shipped_config_is_complete() -> None:
    config = make_config()
    assert {"air_city_hourly_pm25", "air_city_daily_aqi_heavy", "heavy_pollution_yellow",
            "heavy_pollution_orange", "heavy_pollution_red", "source_stale",
            "water_section_off_target", "water_section_worse_than_v", "water_nh3n_tp_jump",
            "hw_high_severity_anomaly"} <= set(config.rules)
    for rule in config.rules.values():
        assert rule.standard and rule.recipients and rule.requires, rule.id
    assert config.rules["heavy_pollution_red"].severity == "critical"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["channels"]["duty-email"].update(password="x"), "secrets never go in the file"),
    (lambda d: d["rules"]["source_stale"].update(recipients=["pager"]), "not a configured"),
    (lambda d: d["rules"]["source_stale"]["params"].pop("expected"), "$expected"),
    (lambda d: d["rules"]["source_stale"].update(severity="urgent"), "severity 'urgent'"),
    (lambda d: d["rules"]["source_stale"].update(treshold=3), "unknown key 'treshold'"),
    (lambda d: d["channels"]["bureau-webhook"].pop("secret_env"), "webhooks are signed"),
])
def test_bad_configuration_is_one_clear_error(change, message: str) -> None:
    data = shipped_config_data()
    change(data)
    with pytest.raises(ConfigError, match=message.replace("$", r"\$")):
        parse_config(data)


def test_rule_whose_view_is_absent_is_skipped_and_its_alerts_left_alone() -> None:
    con = duckdb.connect()
    config = make_config()
    outcomes = evaluate(con, config, NOW, only={"hw_high_severity_anomaly"})
    assert [(o.status, o.message) for o in outcomes] == [
        ("skipped", "view hw_anomalies not in the warehouse yet")]
    open_row = {"alert_id": "a1", "rule": "hw_high_severity_anomaly", "subject": "x",
                "period": "2026", "status": "open", "first_raised_at": NOW, "transitions": 1}
    result = plan([open_row], outcomes, config, NOW, "run")
    assert result.events == [] and result.alerts[0]["status"] == "open"


def test_failing_rule_does_not_stop_the_others() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE hw_anomalies (manifest_no VARCHAR, severity VARCHAR)")  # no anomaly
    con.execute("CREATE TABLE ingest_runs AS SELECT 'air_hourly' AS dataset, 'demo' AS source, "
                "'ok' AS status, TIMESTAMPTZ '2026-10-31 23:00:00+00' AS finished_at")
    outcomes = {o.rule: o for o in evaluate(con, make_config(), NOW,
                                            only={"hw_high_severity_anomaly", "source_stale"})}
    assert outcomes["hw_high_severity_anomaly"].status == "failed"
    assert "anomaly" in outcomes["hw_high_severity_anomaly"].message
    assert outcomes["source_stale"].status == "evaluated"


def test_water_section_off_target_and_worse_than_v() -> None:
    con = duckdb.connect()
    # Section A misses its target III in Aug and Sep (IV, V), meets it in Oct;
    # section B is worse than V in Sep and Oct (the latest month: ongoing).
    con.execute("""
        CREATE TABLE water_section_monthly AS SELECT * FROM (VALUES
          ('A', 'Section A', DATE '2026-07-01', 'III', 3, 'III', true, true, 'codmn'),
          ('A', 'Section A', DATE '2026-08-01', 'IV', 4, 'III', false, true, 'nh3n'),
          ('A', 'Section A', DATE '2026-09-01', 'V', 5, 'III', false, true, 'tp'),
          ('A', 'Section A', DATE '2026-10-01', 'III', 3, 'III', true, true, 'codmn'),
          ('B', 'Section B', DATE '2026-08-01', 'V', 5, 'IV', false, false, 'tp'),
          ('B', 'Section B', DATE '2026-09-01', '劣V', 6, 'IV', false, false, 'nh3n'),
          ('B', 'Section B', DATE '2026-10-01', '劣V', 6, 'IV', false, false, 'nh3n'))
        AS t(section_code, section_name, month, water_class, class_rank, target_class,
             compliant, cross_boundary, deciding_items)""")
    # B is not cross-boundary: only A's months count for the target rule.
    assert breaches(con, "water_section_off_target") == [("A", "2026-08", 2.0, False)]
    assert breaches(con, "water_section_worse_than_v") == [("B", "2026-09", 2.0, True)]


def test_water_jump_against_the_median_of_previous_readings() -> None:
    con = duckdb.connect()
    # NH3-N every 4 hours: 0.5 x 6, then 1.4 (> 2 x median 0.5 and > 1.0:
    # a jump), 1.6 (> 2 x median 0.5 of the 6 before: still one), 0.6 (ends it).
    # TP 0.3 after 0.1s: > 2 x 0.1 and > 0.2, the last reading: ongoing.
    values = [(0.5, 0.1)] * 6 + [(1.4, 0.1), (1.6, 0.1), (0.6, 0.3)]
    rows = ", ".join(f"('S1', 'Section 1', TIMESTAMPTZ '2026-10-01 00:00:00+08' "
                     f"+ INTERVAL {4 * i} HOUR, {n}, {p})" for i, (n, p) in enumerate(values))
    con.execute(f"CREATE TABLE water_readings AS SELECT * FROM (VALUES {rows}) "
                "AS t(section_code, section_name, ts, nh3n, tp)")
    assert breaches(con, "water_nh3n_tp_jump") == [
        ("S1 nh3n", "2026-10-02 00:00", 1.6, False),
        ("S1 tp", "2026-10-02 08:00", 0.3, True)]


def test_high_severity_manifest_anomalies_one_alert_per_manifest_and_kind() -> None:
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE hw_anomalies AS SELECT * FROM (VALUES
          ('20263205000123', 'xprov_no_approval', 'high', 'no approval number'),
          ('20263205000123', 'xprov_no_approval', 'high', 'line 2: no approval number'),
          ('20263205000124', 'confirmation_late', 'medium', '6 working days'),
          ('20253401000007', 'in_transit_too_long', 'high', '9 days'))
        AS t(manifest_no, anomaly, severity, detail)""")
    assert breaches(con, "hw_high_severity_anomaly") == [
        ("20253401000007 in_transit_too_long", "2025", None, True),
        ("20263205000123 xprov_no_approval", "2026", None, True)]


def test_delivery_stuck_rule_reads_the_outbox_view() -> None:
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE alert_outbox AS SELECT * FROM (VALUES
          ('duty-email', 'pending', TIMESTAMPTZ '2026-10-31 22:00:00+00', 'refused',
           TIMESTAMPTZ '2026-10-31 23:50:00+00'),
          ('duty-email', 'pending', TIMESTAMPTZ '2026-10-31 23:30:00+00', NULL, NULL),
          ('bureau-webhook', 'pending', TIMESTAMPTZ '2026-10-31 23:30:00+00', NULL, NULL),
          ('bureau-webhook', 'sent', TIMESTAMPTZ '2026-10-30 00:00:00+00', NULL, NULL))
        AS t(channel, status, created_at, last_error, last_attempt_at)""")
    # Only duty-email has waited over 60 minutes (2 h at NOW = 1 Nov 00:00 UTC).
    assert breaches(con, "alert_delivery_stuck") == [
        ("duty-email", "2026-11-01 06:00", 2.0, True)]

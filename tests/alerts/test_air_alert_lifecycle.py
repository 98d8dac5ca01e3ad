"""An air-pollution episode through a real warehouse, a real SMTP server and a real webhook.

The episode (tests/alerts/scenario.py, AQI worked by hand there) arrives a
day at a time, as Airflow would load it; each stage runs the alert rules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from envmon.alerts import store
from envmon.alerts.channels.webhook import verify_signature
from envmon.alerts.service import list_alerts, run
from envmon.domains import build_warehouse
from tests.alerts.conftest import make_config
from tests.alerts.scenario import load_days
from tests.support import stored

EXPECTED_SOURCES = [{"dataset": "air_hourly", "source": "china-sites", "max_age_hours": 26}]


def keys(rows, status=None):
    return sorted((r["rule"], r["subject"], r["period"]) for r in rows
                  if status is None or r["status"] == status)


def test_episode_raises_escalates_resolves_once(envmon_home: Path, tmp_path: Path, smtp_server,
                                                webhook, webhook_secret) -> None:
    config = make_config(smtp=smtp_server, webhook=webhook, expected_sources=EXPECTED_SOURCES)
    feeds = tmp_path / "feeds"

    # Days 1-3. Shanghai 61, 230, 230: one day > 200 -> yellow; two days
    # > 200 -> orange; not red (needs three). Nanjing 186 x 3: > 150 for
    # 48 h -> yellow, for 72 h -> orange. Shanghai's city hours are above
    # 150 µg/m³ from the hour ending 2 Oct 01:00 on.
    load_days(feeds, [1, 2, 3])
    build_warehouse()
    first = run(config=config)
    assert first.failed_rules == []
    assert first.transitions == {"raised": 6}
    assert keys(store.read("alerts"), "open") == [
        ("air_city_daily_aqi_heavy", "310000", "2026-10-02"),
        ("air_city_hourly_pm25", "310000", "2026-10-02 01:00"),
        ("heavy_pollution_orange", "310000", "2026-10-02"),
        ("heavy_pollution_orange", "320100", "2026-10-01"),
        ("heavy_pollution_yellow", "310000", "2026-10-02"),
        ("heavy_pollution_yellow", "320100", "2026-10-01"),
    ]
    hourly = next(r for r in store.read("alerts") if r["rule"] == "air_city_hourly_pm25")
    # hours ending 2 Oct 01:00 .. 3 Oct 23:00: 24 + 23 = 47, all at 180
    assert hourly["value"] == 180.0 and hourly["detail"].startswith("47 hour(s) above 150")
    assert first.delivery.sent == 12 and first.delivery.failed == 0  # 6 notices x 2 channels

    # Day 4: Shanghai 370 -> a third day > 200 with one > 300: red. Nanjing
    # 61 ends its episode: its yellow and orange are resolved.
    load_days(feeds, [4])
    second = run(config=config)
    assert second.transitions == {"raised": 1, "resolved": 2}
    red = [r for r in store.read("alerts") if r["rule"] == "heavy_pollution_red"]
    assert [(r["subject"], r["period"], r["status"], r["value"]) for r in red] == [
        ("310000", "2026-10-02", "open", 370.0)]
    heavy = next(r for r in store.read("alerts") if r["rule"] == "air_city_daily_aqi_heavy")
    assert heavy["value"] == 370.0 and heavy["status"] == "open"  # late data updates, no notice

    # Day 5: Shanghai 61 ends everything; the hourly episode ends after 3
    # clear hours.
    load_days(feeds, [5])
    third = run(config=config)
    assert third.transitions == {"resolved": 5}
    assert keys(store.read("alerts"), "open") == []
    assert all(r["resolve_reason"] == "ended" for r in store.read("alerts"))

    # Nothing new: a re-run, and the same files delivered again, change nothing.
    load_days(feeds, [1, 2, 3, 4, 5])
    again = run(config=config)
    assert again.transitions == {} and again.queued == 0 and again.delivery.sent == 0

    # 7 alerts: 7 raised + 7 resolved = 14 notices, each delivered once per channel.
    assert len(smtp_server.messages) == 14
    message_ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(set(message_ids)) == 14
    assert len(webhook.requests) == 14
    assert len({r.headers["idempotency-key"] for r in webhook.requests}) == 14
    events = store.read("alert_events")
    assert sorted({e["event"] for e in events}) == ["delivered", "raised", "resolved"]
    assert sum(e["event"] == "delivered" for e in events) == 28

    # Order per alert: raised before resolved, on both channels.
    kinds = [(r.json()["alert"]["alert_id"], r.json()["kind"]) for r in webhook.requests]
    for aid in {a for a, _ in kinds}:
        assert [k for a, k in kinds if a == aid] == ["raised", "resolved"]

    # Every webhook is verifiable with the shared secret, over the raw body.
    for request in webhook.requests:
        assert verify_signature(webhook_secret, request.headers["x-envmon-timestamp"],
                                request.body, request.headers["x-envmon-signature"])
        assert request.headers["idempotency-key"] == request.json()["notice_id"]

    # The red email, parsed as a mail client would.
    [red_mail] = [m for m in smtp_server.messages
                  if "heavy_pollution_red" in m.get_body(("plain",)).get_content()
                  and "RAISED" in m["Subject"]]
    assert red_mail["Subject"].startswith("[envmon] CRITICAL RAISED: Heavy-pollution alert "
                                          "level red reached (observed) - Shanghai 上海市 (310000)")
    body = red_mail.get_body(("plain",)).get_content()
    assert "环大气〔2024〕6号" in body and "重污染天气红色预警" in body
    attachment = next(red_mail.iter_attachments())
    notice = json.loads(attachment.get_content())
    assert red_mail["Message-ID"] == f"<{notice['notice_id']}@envmon.example.gov.cn>"
    assert notice["alert"]["value"] == 370.0 and notice["alert"]["period"] == "2026-10-02"
    assert smtp_server.inbox.envelopes[0][1] == ["duty@example.test", "deputy@example.test"]

    # The warehouse views show state and history, with the store's columns.
    con = stored.open_warehouse(envmon_home / "warehouse.duckdb")
    try:
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'resolved') "
                           "FROM alerts").fetchall() == [(7, 7)]
        assert con.execute("SELECT count(*) FROM alert_outbox WHERE status = 'sent'"
                           ).fetchall() == [(28,)]
        history = con.execute("SELECT event, count(*) FROM alert_events GROUP BY 1 ORDER BY 1"
                              ).fetchall()
        assert history == [("delivered", 28), ("raised", 7), ("resolved", 7)]
        columns = [r[0] for r in con.execute("DESCRIBE alerts").fetchall()]
        assert columns == store.ALERT_SCHEMA.names
    finally:
        con.close()


def test_backfill_of_a_past_episode_notifies_each_alert_once(envmon_home: Path, tmp_path: Path,
                                                             webhook, webhook_secret) -> None:
    """All five days at once (a backfill): every episode is already over when first seen."""
    config = make_config(webhook=webhook, expected_sources=EXPECTED_SOURCES)
    load_days(tmp_path / "feeds", [1, 2, 3, 4, 5])
    build_warehouse()
    summary = run(config=config)
    # Shanghai: daily heavy, hourly, yellow, orange, red; Nanjing: yellow, orange.
    assert summary.transitions == {"raised": 7, "resolved": 7}
    assert [r["status"] for r in store.read("alerts")] == ["resolved"] * 7
    assert len(webhook.requests) == 7
    assert {r.json()["kind"] for r in webhook.requests} == {"raised"}
    assert {r.json()["alert"]["status"] for r in webhook.requests} == {"resolved"}
    assert run(config=config).transitions == {}
    assert len(webhook.requests) == 7
    assert [r["notices_sent"] for r in list_alerts()] == [1] * 7


def test_corrected_data_clears_an_open_alert(envmon_home: Path, tmp_path: Path) -> None:
    """A re-delivery that removes the breach resolves the alert (reason: cleared), once."""
    config = make_config(expected_sources=EXPECTED_SOURCES)
    feeds = tmp_path / "feeds"
    load_days(feeds, [1, 2, 3])
    build_warehouse()
    run(config=config)
    assert ("air_city_daily_aqi_heavy", "310000", "2026-10-02") in keys(store.read("alerts"),
                                                                          "open")
    # Shanghai's days 2-3 corrected to PM2.5 40 (AQI 61): no episode any more.
    corrected = {"9001A": [40, 40, 40, 40, 40], "9010A": [140, 140, 140, 40, 40]}
    load_days(tmp_path / "corrected", [2, 3], corrected)
    summary = run(config=config)
    assert summary.transitions == {"resolved": 4}
    shanghai = [r for r in store.read("alerts") if r["subject"] == "310000"]
    assert {(r["status"], r["resolve_reason"]) for r in shanghai} == {("resolved", "cleared")}
    assert run(config=config).transitions == {}


def test_staleness_against_an_injected_now(envmon_home: Path, tmp_path: Path) -> None:
    config = make_config(expected_sources=[
        {"dataset": "air_hourly", "source": "china-sites", "max_age_hours": 26},
        {"dataset": "air_hourly", "source": "openaq", "max_age_hours": 2}])
    load_days(tmp_path / "feeds", [1])
    build_warehouse()
    delivered = datetime.now(UTC)
    run(config=config, only={"source_stale"}, now=delivered)
    [never] = store.read("alerts")
    assert (never["subject"], never["period"], never["status"]) == (
        "air_hourly/openaq", "never", "open")
    # 27 hours later china-sites is late too (26 h allowed).
    later = delivered + timedelta(hours=27)
    summary = run(config=config, only={"source_stale"}, now=later)
    assert summary.transitions == {"raised": 1}
    late = next(r for r in store.read("alerts") if r["subject"] == "air_hourly/china-sites")
    assert late["status"] == "open" and 27.0 <= late["value"] <= 27.1
    # A new delivery (now) resolves it when evaluated at a time after it.
    load_days(tmp_path / "feeds", [2])
    summary = run(config=config, only={"source_stale"}, now=datetime.now(UTC))
    assert summary.transitions == {"resolved": 1}

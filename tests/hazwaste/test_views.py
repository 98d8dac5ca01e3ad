"""The warehouse views over a small hand-made lake: grain, joins and tonnes."""

from __future__ import annotations

from pathlib import Path

from envmon.domains import build_warehouse
from tests.hazwaste.builders import AH01_RECEIVER, approval, events, export, line, manifest, t
from tests.support import stored


def test_flows_and_manifest_views(load, envmon_home: Path) -> None:
    docs = [
        # Suzhou -> Suzhou, two lines, departed 10-12.
        manifest("20263205000001", lines=[line(1), line(2, code="900-249-08", quantity=1200,
                                                       unit="kg", received=1190)]),
        # Suzhou -> Hefei (cross-province), departed 10-30, not received yet.
        manifest("20263205000002", receiver=AH01_RECEIVER, approval="JS-XP-1",
                 lines=[line(code="900-039-49", quantity=0.8, received=None)],
                 lifecycle=events(created=t("10-30", "14:00"), departed=t("10-30", "16:00"),
                                  received=None, confirmed=None)),
        # Created, never departed: not a flow.
        manifest("20263205000003", lines=[line(received=None)],
                 lifecycle=events(created=t("10-31", "09:00"), departed=None, received=None,
                                  confirmed=None)),
        # Departed in September.
        manifest("20263205000004", lines=[line(quantity=1.0, received=1.0)],
                 lifecycle=events(created=t("09-30", "08:00"), departed=t("09-30", "09:00"),
                                  received=t("09-30", "15:00"), confirmed=t("10-08", "10:00"))),
    ]
    load(export(docs, approvals=[approval("JS-XP-1", codes=("HW49",))]))
    con = stored.open_warehouse(build_warehouse())
    try:
        flows = con.execute("""
            SELECT month, origin_province_code, dest_province_code, category, manifests, lines,
                   shipped_t, received_t
            FROM hw_flows_monthly ORDER BY ALL""").fetchall()
        assert flows == [
            ("2026-09", "320000", "320000", "HW49", 1, 1, 1.0, 1.0),
            ("2026-10", "320000", "320000", "HW08", 1, 1, 1.2, 1.19),
            ("2026-10", "320000", "320000", "HW49", 1, 1, 2.0, 1.98),
            ("2026-10", "320000", "340000", "HW49", 1, 1, 0.8, None),
        ]
        rows = con.execute("""
            SELECT manifest_no, state, origin_city, dest_city, dest_province, cross_province,
                   shipped_t, received_t, anomalies, month
            FROM hw_manifests ORDER BY manifest_no""").fetchall()
        assert rows == [
            ("20263205000001", "confirmed", "Suzhou", "Suzhou", "Jiangsu", False, 3.2, 3.17, 0,
             "2026-10"),
            ("20263205000002", "in_transit", "Suzhou", "Hefei", "Anhui", True, 0.8, None, 0,
             "2026-10"),
            ("20263205000003", "created", "Suzhou", "Suzhou", "Jiangsu", False, 2.0, None, 0,
             "2026-10"),
            ("20263205000004", "confirmed", "Suzhou", "Suzhou", "Jiangsu", False, 1.0, 1.0, 0,
             "2026-09"),
        ]
        lines = con.execute("SELECT count(*), count(DISTINCT category) FROM hw_waste_lines"
                            ).fetchall()
        assert lines == [(5, 2)]
        beijing = con.execute("""
            SELECT event_at_beijing::VARCHAR FROM hw_events
            WHERE manifest_no = '20263205000002' AND event_type = 'departed'""").fetchall()
        assert beijing == [("2026-10-30 16:00:00",)]
        assert con.execute("SELECT approval_no FROM hw_approvals").fetchall() == [("JS-XP-1",)]
        assert con.execute("SELECT count(*) FROM hw_anomalies").fetchall() == [(0,)]
    finally:
        con.close()


def test_views_exist_on_an_empty_lake(envmon_home: Path) -> None:
    con = stored.open_warehouse(build_warehouse())
    try:
        for view in ("hw_manifests", "hw_waste_lines", "hw_events", "hw_anomalies",
                     "hw_flows_monthly", "hw_approvals", "hw_manifest_versions",
                     "hw_manifest_copies"):
            assert con.execute(f"SELECT count(*) FROM {view}").fetchall() == [(0,)], view
    finally:
        con.close()

"""manifest-json through the load: landing, checks, lake, quarantine, ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hazwaste.builders import approval, events, export, line, manifest, t
from tests.hazwaste.conftest import found, lake, quarantine
from tests.support import stored

N1, N2 = "20263205000001", "20263205000002"


def test_export_lands_in_four_datasets_and_balances(load, envmon_home: Path) -> None:
    record = load(export([manifest(N1, lines=[line(1), line(2, code="900-249-08")]),
                          manifest(N2)], approvals=[approval("JS-XP-1")]))
    # rows: 2 + 1 waste lines and 1 approval
    assert (record.status, record.rows_in, record.rows_loaded, record.rows_quarantined) == (
        "ok", 4, 4, 0)
    assert record.partitions == ["2026-10"]
    manifests = lake(envmon_home, "hw_manifests")
    assert sorted(manifests["manifest_no"]) == [N1, N2]
    assert manifests.set_index("manifest_no").loc[N1, "quantity_t"] == 4.0
    assert set(manifests["_partition"]) == {"month=2026-10"}
    assert len(lake(envmon_home, "hw_waste_lines")) == 3
    assert len(lake(envmon_home, "hw_events")) == 8
    assert lake(envmon_home, "hw_approvals")["approval_no"].tolist() == ["JS-XP-1"]
    assert len(stored.ledger_rows()) == 1


def test_kg_is_converted_and_the_same_transfer_in_t_is_the_same_version(
        load, envmon_home: Path) -> None:
    load(export([manifest(N1, lines=[line(quantity=2350, unit="kg", received=2330)])]))
    stored = lake(envmon_home, "hw_waste_lines").iloc[0]
    assert (stored["quantity"], stored["unit"], stored["quantity_t"], stored["received_t"]) == (
        2350, "kg", 2.35, 2.33)
    # A corrected export giving the same line in tonnes declares the same content.
    load(export([manifest(N1, lines=[line(quantity=2.35, unit="t", received=2.33)])],
                exported_at=t("11-01", "23:00")))
    versions = lake(envmon_home, "hw_manifests")["version"]
    assert len(versions) == 1


def test_same_bytes_twice_is_a_duplicate_run(load, envmon_home: Path, tmp_path: Path) -> None:
    from envmon.hazwaste.ingest import ingest_files
    from tests.hazwaste.builders import write

    path = write(tmp_path / "e.json", export([manifest(N1)]))
    [first] = ingest_files([path], "manifest-json", data_docs=False)
    derived = ("hw_anomalies", "hw_manifest_state", "hw_flows")  # rewritten by each refresh
    before = stored.lake_state(exclude=derived)
    [second] = ingest_files([path], "manifest-json", data_docs=False)
    assert second.status == "duplicate" and first.run_id in second.message
    assert stored.lake_state(exclude=derived) == before
    [forced] = ingest_files([path], "manifest-json", data_docs=False, force=True)
    assert forced.status == "ok"
    assert len(lake(envmon_home, "hw_manifests")) == 1
    assert len(lake(envmon_home, "hw_events")) == 4


def test_redelivery_with_progress_replaces_and_older_export_does_not_turn_back(
        load, envmon_home: Path) -> None:
    early = manifest(N1, lines=[line(received=None)],
                     lifecycle=events(received=None, confirmed=None))
    load(export([early], exported_at=t("10-12", "23:00")))
    assert found(envmon_home) == {}
    # The next day's export carries the receipt and the confirmation.
    load(export([manifest(N1)], exported_at=t("10-13", "23:00")))
    events_ = lake(envmon_home, "hw_events")
    assert sorted(events_["event_type"]) == ["confirmed", "created", "departed", "received"]
    assert lake(envmon_home, "hw_waste_lines")["received_t"].tolist() == [1.98]
    state = lake(envmon_home, "hw_manifest_state")
    assert state["state"].tolist() == ["confirmed"]
    # A backfill re-sends the older export (changed bytes): the lake keeps the later one.
    record = load(export([early], exported_at=t("10-12", "23:00"), system="TEST-BACKFILL"))
    assert "1 manifests not applied" in record.message
    assert lake(envmon_home, "hw_manifest_state")["state"].tolist() == ["confirmed"]


def test_two_sources_of_one_manifest_make_one_manifest(load, envmon_home: Path) -> None:
    # The origin province's system knows the departure, the destination's the receipt.
    origin = manifest(N1, lifecycle=events(received=None, confirmed=None),
                      lines=[line(received=None)])
    load(export([origin], exported_at=t("10-12", "23:00")), source="js-system")
    dest = manifest(N1, lifecycle=events(created=t("10-12", "08:00"), departed=None))
    load(export([dest], exported_at=t("10-14", "23:00")), source="ah-system")
    state = lake(envmon_home, "hw_manifest_state")
    assert len(state) == 1
    row = state.iloc[0]
    assert (row["state"], row["sources"], row["events"]) == ("confirmed", "ah-system;js-system",
                                                             4)
    # Header and received quantities from the latest export (the destination's).
    assert row["source"] == "ah-system"


def test_stale_feed_is_judged_at_its_own_export_time(load, envmon_home: Path) -> None:
    # Source B last exported 10-20 23:00. Its manifest departed 10-18 08:00 is
    # 2.6 days on the road as of then (not overdue), though source A has
    # exported up to 10-31; one departed 10-15 08:00 is 5.6 days (overdue).
    in_transit = dict(lines=[line(received=None)])
    load(export([manifest(N1)], exported_at=t("10-31", "23:00")), source="a")
    load(export([
        manifest(N2, **in_transit, lifecycle=events(created=t("10-18", "07:00"),
                                                    departed=t("10-18", "08:00"),
                                                    received=None, confirmed=None)),
        manifest("20263205000003", **in_transit,
                 lifecycle=events(created=t("10-15", "07:00"), departed=t("10-15", "08:00"),
                                  received=None, confirmed=None))],
        exported_at=t("10-20", "23:00")), source="b")
    assert found(envmon_home) == {"20263205000003": {"in_transit_too_long"}}


def test_correction_supersedes_and_is_not_a_duplicate(load, envmon_home: Path) -> None:
    first = manifest(N1, lines=[line(quantity=2.0, received=None)],
                     lifecycle=events(received=None, confirmed=None))
    load(export([first], exported_at=t("10-12", "23:00")))
    corrected = manifest(N1, lines=[line(quantity=2.1, received=2.09)],
                         lifecycle=events(corrected=t("10-13", "08:00"),
                                          received=t("10-13", "15:00"),
                                          confirmed=t("10-14", "10:00")))
    load(export([corrected], exported_at=t("10-14", "23:00")))
    state = lake(envmon_home, "hw_manifest_state").sort_values("corrected_at", na_position="first")
    assert state["current"].tolist() == [False, True]
    assert state["superseded_by"].iloc[0] == state["version"].iloc[1]
    assert found(envmon_home) == {}


def test_identical_repeat_loads_once_and_conflicting_copies_are_refused(
        load, envmon_home: Path) -> None:
    same = manifest(N1)
    record = load(export([same, same]))
    assert (record.rows_loaded, record.rows_quarantined) == (2, 0)
    assert "delivered twice identically" in record.message
    assert len(lake(envmon_home, "hw_manifests")) == 1
    # Same declared content, but the copies disagree on the confirmation.
    other = manifest(N2, lifecycle=events(confirmed=t("10-14", "10:00")))
    record = load(export([manifest(N2), other]))
    assert (record.rows_loaded, record.rows_quarantined) == (0, 2)
    reasons = quarantine(envmon_home)["reason"]
    assert reasons.str.contains("appears 2 times").all()


# --- bad input: each gets a quarantine row or a one-line error ---------------------------


def test_malformed_json_is_a_one_line_error_and_nothing_is_lost(load, envmon_home: Path
                                                                ) -> None:
    load(export([manifest(N1)]))
    text = json.dumps(export([manifest(N2)]))[:-40]  # cut off mid-document
    record = load(text)
    assert record.status == "failed" and record.rows_in == 0
    assert record.message.startswith("export_2.json, row 1: not valid JSON:")
    assert lake(envmon_home, "hw_manifests")["manifest_no"].tolist() == [N1]
    landed = list((envmon_home / "landing" / "hazwaste").rglob("*.json"))
    assert len([p for p in landed if not p.name.endswith(".meta.json")]) == 2


@pytest.mark.parametrize("document, message", [
    ('{"manifests": []}', "missing key 'export'"),
    ('{"export": {"system": "X", "province": "320000", "exported_at": "2026-10-31T23:00:00"},'
     ' "manifests": []}', "time without a zone"),
    ('{"export": {"system": "X", "province": "320000", "exported_at": '
     '"2026-10-31T23:00:00+08:00"}, "manifests": [], "extra": 1}', "key 'extra' is not in"),
    ('[1, 2]', "must be a JSON object"),
    ('{"export": {"system": "X", "province": "320000", "exported_at": '
     '"2026-10-31T23:00:00+08:00"}, "manifests": [{"q": NaN}]}', "NaN is not a JSON value"),
    ("", "empty file"),
])
def test_unreadable_envelope_fails_the_delivery(load, document: str, message: str) -> None:
    record = load(document)
    assert record.status == "failed" and message in record.message


def _bad(envmon_home: Path) -> dict:
    rows = quarantine(envmon_home)
    assert len(rows) >= 1
    return rows.iloc[0].to_dict()


@pytest.mark.parametrize("bad_manifest, field, reason", [
    # a manifest with no lines
    (manifest(N2, lines=[]), "manifests[2].lines", "manifest has no waste lines"),
    # zero and negative quantities
    (manifest(N2, lines=[line(quantity=0)]), "quantity",
     "expect_column_values_to_be_between(quantity, min_value=0, strict_min=True)"),
    (manifest(N2, lines=[line(quantity=-1.5)]), "quantity",
     "expect_column_values_to_be_between(quantity"),
    # a unit the contract does not know
    (manifest(N2, lines=[line(unit="L")]), "unit", "expect_column_values_to_be_in_set(unit"),
    # a quantity in kg written as tonnes: 2,350 t on one truck
    (manifest(N2, lines=[line(quantity=2350, received=None)]), "quantity_t",
     "expect_column_values_to_be_between(quantity_t, max_value=100.0)"),
    # times without a zone
    (manifest(N2, entered="2026-10-12T08:00:00"), "manifests[2].entered_at",
     "time without a zone"),
    (manifest(N2, entered=t("10-12", "08:00"),
              lifecycle=[{"type": "created", "at": "2026-10-12 08:00", "actor": "shipper"}]),
     "manifests[2].events[1].at", "time without a zone"),
    # a quantity given as text
    (manifest(N2, lines=[line(quantity="2.0")]), "manifests[2].lines[1].quantity",
     "must be a JSON number"),
    # an unknown event type and an event after the export
    (manifest(N2, lifecycle=events(confirmed=None, archived=None) + [
        {"type": "archived", "at": t("10-13"), "actor": "receiver"}]), "event_type",
     "expect_column_values_to_be_in_set(event_type"),
    (manifest(N2, lifecycle=events(confirmed=t("11-02"))), "at",
     "expect_column_values_to_be_between(at"),
    # a key outside the contract
    (dict(manifest(N2), remarks="x"), "manifests[2].remarks", "not in the manifest-json"),
    # a number given as a JSON number loses nothing here, but is refused
    (dict(manifest(N2), manifest_no=20263205000002), "manifests[2].manifest_no",
     "must be a string"),
])
def test_bad_manifest_is_quarantined_and_the_good_one_loads(
        load, envmon_home: Path, bad_manifest: dict, field: str, reason: str) -> None:
    record = load(export([manifest(N1), bad_manifest]))
    assert record.status == "ok"
    assert record.rows_in == record.rows_loaded + record.rows_quarantined
    assert (record.rows_loaded, record.rows_quarantined) == (1, 1)
    row = _bad(envmon_home)
    assert row["field"] == field, row
    assert reason in row["reason"], row
    assert row["line"] == 2  # the manifest's position in the export
    assert lake(envmon_home, "hw_manifests")["manifest_no"].tolist() == [N1]


def test_one_bad_line_refuses_its_whole_manifest(load, envmon_home: Path) -> None:
    record = load(export([manifest(N1, lines=[line(1), line(2, quantity=0), line(3)])]))
    assert (record.status, record.rows_loaded, record.rows_quarantined) == ("failed", 0, 3)
    rows = quarantine(envmon_home).sort_values("reason")
    assert rows["reason"].str.contains("manifest refused because of another line").sum() == 2
    assert lake(envmon_home, "hw_manifests").empty


def test_event_for_unknown_manifest_is_kept_and_reported_until_it_arrives(
        load, envmon_home: Path) -> None:
    status = [{"manifest_no": N2, "type": "confirmed", "at": t("10-13", "10:00"),
               "actor": "receiver"}]
    record = load(export([manifest(N1)], status=status, exported_at=t("10-13", "23:00")))
    assert (record.rows_loaded, record.rows_quarantined) == (2, 0)
    assert found(envmon_home) == {N2: {"event_unknown_manifest"}}
    # The manifest arrives the next day: the update joins its lifecycle.
    load(export([manifest(N2, lifecycle=events(confirmed=None))],
                exported_at=t("10-14", "23:00")))
    assert found(envmon_home) == {}
    state = lake(envmon_home, "hw_manifest_state").set_index("manifest_no")
    assert state.loc[N2, "state"] == "confirmed"


def test_bad_approval_and_status_update_are_quarantined_alone(load, envmon_home: Path) -> None:
    bad_approval = dict(approval("JS-XP-9"), approved_tonnes=-1)
    bad_status = {"manifest_no": N1, "type": "confirmed", "at": "2026-10-13", "actor": "receiver"}
    record = load(export([manifest(N1)], approvals=[bad_approval], status=[bad_status]))
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (3, 1, 2)
    fields = set(quarantine(envmon_home)["field"])
    assert fields == {"approvals[1].approved_tonnes", "events[1].at"}


def test_two_lines_with_one_number_refuse_the_manifest(load, envmon_home: Path) -> None:
    record = load(export([manifest(N1, lines=[line(1), line(1, code="900-249-08")])]))
    assert (record.status, record.rows_quarantined) == ("failed", 2)
    reasons = quarantine(envmon_home)["reason"]
    assert reasons.str.contains("expect_compound_columns_to_be_unique").all()
    assert "all 1 manifests refused" in record.message


def test_identical_copies_of_a_bad_manifest_are_all_refused(load, envmon_home: Path) -> None:
    bad = manifest(N1, lines=[line(quantity=0)])
    record = load(export([bad, bad, manifest(N2)]))
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (3, 1, 2)
    reasons = sorted(quarantine(envmon_home)["reason"])
    assert "identical copy of record 1, which was refused" in reasons[0] + reasons[1]

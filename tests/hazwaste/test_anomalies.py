"""Every anomaly rule on hand-made manifests, through the real pipeline.

One export holds a clean manifest or a planted violation per case; each
case's expected anomaly set is worked out by hand from the measures and
config/hazwaste.yaml in the comments, and the test compares the whole
result, so a rule that fires on a clean manifest fails it as surely as a
rule that misses. "Now" is the export time, 2026-10-31 23:00 Beijing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hazwaste.builders import approval, events, export, line, manifest, t
from tests.hazwaste.conftest import found, lake
from tests.support import stored

SH = ("DEMO-S-310112-01", "310112")
AH_SHIPPER = ("DEMO-S-340104-01", "340104")
ZJ_SHIPPER = ("DEMO-S-330106-01", "330106")
AH01 = ("DEMO-R-AH01", "340104")


def n(serial: int) -> str:
    return f"20263205{serial:06d}"


def shipped(day: str) -> list[dict]:
    """Created 07:00, departed 08:00, received 15:00 on `day`; confirmed 17:00 the
    same day, or on 10-08 (the first working day after Golden Week) for days before."""
    confirm = "10-08" if day < "10-08" else day
    return events(created=t(day, "07:00"), departed=t(day, "08:00"),
                  received=t(day, "15:00"), confirmed=t(confirm, "17:00"))


CASES: list[tuple[dict, set[str]]] = [
    # --- clean ---
    (manifest(n(1)), set()),
    # 500 kg received 480 kg: -4% is inside the 5% tolerance.
    (manifest(n(2), lines=[line(quantity=500, unit="kg", received=480)]), set()),
    # Refused at the gate: rejected, never received: no deadline applies.
    (manifest(n(3), lines=[line(received=None)],
              lifecycle=events(received=None, confirmed=None, rejected=t("10-12", "14:00"))),
     set()),
    # Paper, received Mon 09-28; 10 working days: 09-29, 09-30, 10-08, 10-09,
    # 10-10 (make-up Saturday), 10-12 .. 10-16 -> entered 10-16 15:00 is in time.
    (manifest(n(4), kind="paper", entered=t("10-16", "15:00"),
              lifecycle=events(created=t("09-28", "07:00"), departed=t("09-28", "08:00"),
                               received=t("09-28", "10:00"), confirmed=t("09-29", "10:00"))),
     set()),
    # Shanghai is a municipality: its manifest numbers carry prefecture 01.
    (manifest("20263101000005", shipper=SH, receiver=("DEMO-R-SH01", "310116")), set()),
    # Shanghai -> Anhui under the bundled reference approval DEMO-XP-2026-0001.
    (manifest("20263101000006", shipper=SH, receiver=("DEMO-R-AH02", "340700"),
              approval="DEMO-XP-2026-0001", lines=[line(code="772-003-18")]), set()),
    (manifest(n(7), receiver=AH01, approval="JS-XP-1", lifecycle=shipped("10-05")), set()),
    # White list: AH01 is listed for HW49; shipped 9 days after approval.
    (manifest(n(8), receiver=AH01, approval="WL-1", lifecycle=shipped("10-10")), set()),
    # Received Wed 09-30. Working days after it: 10-08, 10-09, 10-10 (make-up
    # Saturday), 10-12, 10-13 -> deadline 10-13 24:00; confirmed 10-13 16:00.
    (manifest(n(9), lifecycle=events(created=t("09-30", "07:00"), departed=t("09-30", "08:00"),
                                     received=t("09-30", "10:00"),
                                     confirmed=t("10-13", "16:00"))), set()),
    # Received Wed 10-28: deadline 11-04 (10-29, 10-30, 11-02, 11-03, 11-04).
    (manifest(n(10), lifecycle=events(created=t("10-28", "07:00"), departed=t("10-28", "08:00"),
                                      received=t("10-28", "10:00"), confirmed=None)), set()),
    # Departed 10-29 08:00: 2.6 days by 10-31 23:00, within 3.
    (manifest(n(11), lines=[line(received=None)],
              lifecycle=events(created=t("10-29", "07:00"), departed=t("10-29", "08:00"),
                               received=None, confirmed=None)), set()),
    # 0.1 t received 0.092 t: -8%, but 0.008 t is below the 0.01 t floor.
    (manifest(n(12), lines=[line(quantity=0.1, received=0.092)]), set()),
    (manifest(n(13), lines=[line(received=1.92)]), set()),  # -4%
    # Its confirmation arrives as a status update (see STATUS below).
    (manifest(n(14), lifecycle=events(confirmed=None)), set()),

    # --- planted ---
    # Received 09-30; deadline 10-13 24:00 (make-up Saturday 10-10 counts);
    # confirmed 10-14 09:00 is late (without the make-up day it would not be).
    (manifest(n(101), lifecycle=events(created=t("09-30", "07:00"), departed=t("09-30", "08:00"),
                                       received=t("09-30", "10:00"),
                                       confirmed=t("10-14", "09:00"))), {"confirmation_late"}),
    # Received Tue 10-20; deadline 10-27 24:00 (10-21..23, 10-26, 10-27); unconfirmed.
    (manifest(n(102), lifecycle=events(created=t("10-20", "07:00"), departed=t("10-20", "08:00"),
                                       received=t("10-20", "10:00"), confirmed=None)),
     {"confirmation_late"}),
    # Departed 10-27 08:00, not received: 4.6 days > 3.
    (manifest(n(103), lines=[line(received=None)],
              lifecycle=events(created=t("10-27", "07:00"), departed=t("10-27", "08:00"),
                               received=None, confirmed=None)), {"in_transit_too_long"}),
    # 2.0 t shipped, 1.85 t received: -7.5% > 5% and 0.15 t > 0.01 t.
    (manifest(n(104), lines=[line(received=1.85)]), {"quantity_mismatch"}),
    (manifest(n(105), receiver=AH01, lifecycle=shipped("10-12")), {"xprov_no_approval"}),
    (manifest(n(106), receiver=AH01, approval="JS-XP-UNKNOWN", lifecycle=shipped("10-12")),
     {"xprov_no_approval"}),
    # JS-XP-2 approves AH02, the waste went to AH01.
    (manifest(n(107), receiver=AH01, approval="JS-XP-2", lifecycle=shipped("10-12")),
     {"xprov_receiver_not_approved"}),
    # JS-XP-1 lists 900-041-49 and HW08; 900-039-49 is HW49 but not listed.
    (manifest(n(108), receiver=AH01, approval="JS-XP-1", lines=[line(code="900-039-49")],
              lifecycle=shipped("10-12")), {"xprov_code_not_approved"}),
    # JS-XP-3 approves 5 t: 3 t on 10-06 (3 <= 5), 3 t on 10-07 (6 > 5).
    (manifest(n(109), receiver=AH01, approval="JS-XP-3", lines=[line(quantity=3, received=3)],
              lifecycle=shipped("10-06")), set()),
    (manifest(n(110), receiver=AH01, approval="JS-XP-3", lines=[line(quantity=3, received=3)],
              lifecycle=shipped("10-07")), {"xprov_tonnes_exceeded"}),
    # JS-XP-4 was valid in 2025 only.
    (manifest(n(111), receiver=AH01, approval="JS-XP-4", lifecycle=shipped("10-12")),
     {"xprov_approval_expired"}),
    # JS-XP-1 belongs to DEMO-S-320506-01, not to this Wujiang shipper.
    (manifest(n(112), shipper=("DEMO-S-320509-02", "320509"), receiver=AH01,
              approval="JS-XP-1", lifecycle=shipped("10-12")), {"xprov_no_approval"}),
    # White list approval from 09-01: transport must be done by 10-01; shipped 10-10.
    (manifest(n(113), receiver=AH01, approval="WL-2", lifecycle=shipped("10-10")),
     {"xprov_approval_expired"}),
    # AH01 is licensed for HW12 but listed on the white list only for HW06/08/49.
    (manifest(n(114), receiver=AH01, approval="WL-3", lines=[line(code="900-252-12")],
              lifecycle=shipped("10-10")), {"whitelist_not_listed"}),
    # JS04 is licensed for HW01 only.
    (manifest(n(115), receiver=("DEMO-R-JS04", "320612")), {"receiver_not_licensed"}),
    # Unknown receiver: reported as unregistered, never as "not licensed".
    (manifest(n(116), receiver=("DEMO-R-NOBODY", "320506")), {"facility_unregistered"}),
    (manifest(n(117), carrier=("DEMO-C-NOBODY", "苏E00000")), {"facility_unregistered"}),
    # AH03's licence ended 2025-12-31.
    (manifest("20263401000118", shipper=AH_SHIPPER, receiver=("DEMO-R-AH03", "340207"),
              lines=[line(code="900-249-08")]), {"receiver_licence_expired"}),
    # ZJ04 may take 10 t a year: 5.99 t on 10-03, then 5.0 t on 10-05 (10.99 > 10).
    (manifest("20263301000119", shipper=ZJ_SHIPPER, receiver=("DEMO-R-ZJ04", "330522"),
              lines=[line(code="900-249-08", quantity=6.0, received=5.99)],
              lifecycle=shipped("10-03")), set()),
    (manifest("20263301000120", shipper=ZJ_SHIPPER, receiver=("DEMO-R-ZJ04", "330522"),
              lines=[line(code="900-249-08", quantity=5.0, received=5.0)],
              lifecycle=shipped("10-05")), {"receiver_capacity_exceeded"}),
    (manifest("2026320500121"), {"invalid_manifest_no"}),  # 13 digits
    (manifest("20263305000122"), {"invalid_manifest_no"}),  # prefecture 3305, shipper 320506
    (manifest("20253205000123"), {"invalid_manifest_no"}),  # year 2025, created 2026
    (manifest("20263205000000"), {"invalid_manifest_no"}),  # serial 000000
    (manifest(n(125), lines=[line(code="900-999-49")]), {"unknown_waste_code"}),
    # Malformed code to a receiver not licensed for HW49: the licence rule skips it.
    (manifest(n(126), receiver=("DEMO-R-JS04", "320612"), lines=[line(code="90-041-49")]),
     {"unknown_waste_code"}),
    (manifest(n(127), lines=[line(code="261-001-43")]), {"unknown_waste_code"}),  # HW43 unused
    # Two different manifests under one number, no correction between them.
    (manifest(n(128)), {"duplicate_manifest_no"}),
    (manifest(n(128), lines=[line(quantity=3.0, received=3.0)],
              lifecycle=events(created=t("10-14", "08:00"), departed=t("10-14", "09:00"),
                               received=t("10-14", "15:00"), confirmed=t("10-15", "10:00"))),
     {"duplicate_manifest_no"}),
    # Paper received Mon 09-28, deadline 10-16 24:00 (see n(4)); entered 10-20.
    (manifest(n(129), kind="paper", entered=t("10-20", "10:00"),
              lifecycle=events(created=t("09-28", "07:00"), departed=t("09-28", "08:00"),
                               received=t("09-28", "10:00"), confirmed=t("09-29", "10:00"))),
     {"paper_late_entry"}),
    (manifest(n(130), lifecycle=events(departed=t("10-12", "10:00"),
                                       received=t("10-12", "09:00"))), {"lifecycle_order"}),
    (manifest(n(131), lifecycle=events(confirmed_2=t("10-14", "10:00"))), {"lifecycle_order"}),
]

APPROVALS = [
    approval("JS-XP-1", codes=("900-041-49", "HW08"), tonnes=10),
    approval("JS-XP-2", receiver="DEMO-R-AH02"),
    approval("JS-XP-3", tonnes=5),
    approval("JS-XP-4", valid_from="2025-01-01", valid_to="2025-12-31"),
    approval("WL-1", codes=("HW49",), tonnes=5, valid_from="2026-10-01", whitelist=True),
    approval("WL-2", codes=("HW49",), tonnes=5, valid_from="2026-09-01", whitelist=True),
    approval("WL-3", codes=("HW12",), tonnes=5, valid_from="2026-10-01", whitelist=True),
]
STATUS = [
    {"manifest_no": n(14), "type": "confirmed", "at": t("10-13", "10:00"), "actor": "receiver"},
    {"manifest_no": "20263205999999", "type": "received", "at": t("10-20", "10:00"),
     "actor": "receiver"},
]


@pytest.fixture
def scenario(load, envmon_home: Path) -> Path:
    record = load(export([m for m, _ in CASES], approvals=APPROVALS, status=STATUS))
    assert record.status == "ok" and record.rows_quarantined == 0, record.message
    return envmon_home


def test_every_rule_finds_its_case_and_nothing_else(scenario: Path) -> None:
    expected: dict[str, set[str]] = {}
    for doc, kinds in CASES:
        expected.setdefault(doc["manifest_no"], set()).update(kinds)
    expected["20263205999999"] = {"event_unknown_manifest"}
    expected = {no: kinds for no, kinds in expected.items() if kinds}
    assert found(scenario) == expected


def test_every_anomaly_kind_is_covered_here(scenario: Path) -> None:
    from envmon.hazwaste.anomalies import RULES

    kinds = set().union(*found(scenario).values())
    assert kinds == set(RULES)


def test_rows_say_severity_rule_fields_and_detail(scenario: Path) -> None:
    rows = lake(scenario, "hw_anomalies").set_index(["manifest_no", "anomaly"])
    late = rows.loc[(n(101), "confirmation_late")]
    assert late["severity"] == "medium" and "第十八条" in late["rule"]
    assert late["fields"] == "received_at;confirmed_at"
    assert late["detail"] == ("received 2026-09-30 10:00; deadline 2026-10-13 24:00 "
                              "(5 working days); confirmed 2026-10-14 09:00")
    tonnes = rows.loc[(n(110), "xprov_tonnes_exceeded")]
    assert tonnes["severity"] == "high"
    assert tonnes["detail"] == ("approval JS-XP-3: cumulative 6.000 t > approved 5 t "
                                "(this shipment 3.000 t)")
    capacity = rows.loc[("20263301000120", "receiver_capacity_exceeded")]
    assert "10.990 t in 2026" in capacity["detail"]
    unregistered = rows.loc[(n(117), "facility_unregistered")]
    assert unregistered["fields"] == "carrier_id"
    assert str(late["as_of"]) == "2026-10-31 23:00:00+08:00"
    assert set(rows["_partition"]) == {"month=2026-09", "month=2026-10"}


def test_states_replay_the_lifecycle(scenario: Path) -> None:
    state = lake(scenario, "hw_manifest_state").set_index("manifest_no")
    assert state.loc[n(1), "state"] == "confirmed"
    assert state.loc[n(3), "state"] == "rejected"
    assert state.loc[n(103), "state"] == "in_transit"
    assert state.loc[n(10), "state"] == "received"
    # The status update confirmed it, though the manifest itself says nothing.
    assert state.loc[n(14), "state"] == "confirmed"
    assert state.loc[n(130), "lifecycle_violations"] == 2
    assert bool(state.loc[n(105), "cross_province"])
    assert state.loc[n(105), ["origin_city", "dest_province"]].tolist() == ["Suzhou", "Anhui"]
    assert state.loc["20263101000005", "origin_city_code"] == "310000"


def test_recomputing_changes_nothing(scenario: Path) -> None:
    from envmon.hazwaste.derive import refresh

    before = lake(scenario, "hw_anomalies").drop(columns=["_part"])
    refresh()
    after = lake(scenario, "hw_anomalies").drop(columns=["_part"])
    # Row order within a part is the storage's own (DuckLake keeps none).
    assert stored.sorted_rows(before).equals(stored.sorted_rows(after))


def test_as_of_moves_the_time_based_rules_only(scenario: Path) -> None:
    from datetime import datetime

    from envmon.core.timeutil import BEIJING
    from envmon.hazwaste.derive import refresh

    # As of 10-27 12:00: n(102)'s deadline (10-27 24:00) has not passed and
    # n(103) departed 4 hours ago; the rest does not depend on "now".
    refresh(as_of=datetime(2026, 10, 27, 12, 0, tzinfo=BEIJING))
    now = found(scenario)
    assert n(102) not in now and n(103) not in now
    assert now[n(101)] == {"confirmation_late"} and now[n(104)] == {"quantity_mismatch"}

"""manifest-csv: the flat layout, its strictness, and its equivalence to manifest-json."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envmon.core.errors import InputError
from envmon.hazwaste.sources.manifest_csv import COLUMNS, parse_manifest_csv
from tests.hazwaste.conftest import found, lake, quarantine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hazwaste"
CSV = FIXTURES / "manifests_20261031.csv"
JSON = FIXTURES / "manifests_20261031.json"


def test_rows_group_into_manifests_with_their_events() -> None:
    delivery = parse_manifest_csv(CSV, name=CSV.name)
    assert [e.header["manifest_no"] for e in delivery.entries] == ["20263205000001",
                                                                   "20263205000002"]
    first = delivery.entries[0]
    assert [ln["source_line"] for ln in first.lines] == [2, 3]
    assert [ln["quantity_t"] for ln in first.lines] == [2.35, 1.2]
    assert [e["event_type"] for e in first.events] == ["created", "departed", "received",
                                                       "confirmed"]
    assert first.events[2]["actor"] == "receiver"
    # No export time in the format: the latest time written in the file.
    assert delivery.exported_at.isoformat() == "2026-10-30T16:00:00+08:00"
    assert delivery.rows_in == 3


def test_csv_and_json_of_one_export_store_the_same_manifests(load, envmon_home: Path,
                                                            tmp_path: Path) -> None:
    from datetime import datetime

    from envmon.hazwaste.ingest import ingest_files

    exported = datetime.fromisoformat("2026-10-31T23:00:00+08:00")
    [csv_run] = ingest_files([CSV], "manifest-csv", source="csv", exported_at=exported,
                             data_docs=False)
    [json_run] = ingest_files([JSON], "manifest-json", source="json", data_docs=False)
    assert (csv_run.rows_loaded, json_run.rows_loaded) == (3, 4)  # json adds the approval
    manifests = lake(envmon_home, "hw_manifests")
    by_source = {s: sorted(zip(g["manifest_no"], g["version"], strict=True))
                 for s, g in manifests.groupby("source")}
    assert by_source["csv"] == by_source["json"]
    lines = lake(envmon_home, "hw_waste_lines")
    columns = ["manifest_no", "version", "line", "waste_code", "quantity_t", "received_t"]
    csv_lines = lines[lines["source"] == "csv"][columns].sort_values(columns[:3])
    json_lines = lines[lines["source"] == "json"][columns].sort_values(columns[:3])
    assert csv_lines.reset_index(drop=True).equals(json_lines.reset_index(drop=True))
    # Both copies make one manifest each; the approval came with the JSON.
    state = lake(envmon_home, "hw_manifest_state")
    assert len(state) == 2 and set(state["sources"]) == {"csv;json"}
    assert found(envmon_home) == {}


@pytest.mark.parametrize("header, message", [
    (",".join(c for c in COLUMNS if c != "unit"), "missing column(s) unit"),
    (",".join([*COLUMNS, "remarks"]), "column(s) remarks not in the manifest-csv contract"),
    (",".join([*COLUMNS, "unit"]), "column 'unit' appears twice"),
])
def test_header_must_follow_the_contract(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(header + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)) as info:
        parse_manifest_csv(path, name="bad.csv")
    assert str(info.value).startswith("bad.csv, row 1:")


def test_ragged_row_and_bad_cells_are_quarantined_with_their_line(
        load, envmon_home: Path) -> None:
    rows = CSV.read_text(encoding="utf-8").splitlines()
    ragged = rows[3].rsplit(",", 3)[0]  # a row cut short
    no_zone = rows[3].replace("2026-10-30T14:00:00+08:00", "2026-10-30T14:00:00", 1)
    text = "\n".join([rows[0], rows[1], rows[2], ragged]) + "\n"
    record = load(text, name="ragged.csv", fmt="manifest-csv")
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (3, 2, 1)
    row = quarantine(envmon_home).iloc[0]
    assert (row["line"], row["reason"]) == (4, "26 fields, the header has 29")
    record = load("\n".join([rows[0], no_zone]) + "\n", name="zone.csv", fmt="manifest-csv")
    assert (record.rows_loaded, record.rows_quarantined) == (0, 1)
    rows_q = quarantine(envmon_home)
    hit = rows_q[rows_q["file"] == "zone.csv"].iloc[0]
    assert (hit["line"], hit["field"]) == (2, "entered_at")
    assert "time without a zone" in hit["reason"]


def test_one_number_with_two_manifest_headers_is_two_manifests(load, envmon_home: Path
                                                               ) -> None:
    rows = CSV.read_text(encoding="utf-8").splitlines()
    # Same number, another entry time and quantity: a second manifest under it.
    other = rows[1].replace("2026-10-12T08:12:00+08:00", "2026-10-14T08:12:00+08:00", 1)
    other = other.replace(",2.35,t,2.33,", ",3.1,t,3.1,")
    text = "\n".join([rows[0], rows[1], rows[2], other]) + "\n"
    record = load(text, name="dup.csv", fmt="manifest-csv")
    assert (record.rows_loaded, record.rows_quarantined) == (3, 0)
    assert found(envmon_home) == {"20263205000001": {"duplicate_manifest_no"}}

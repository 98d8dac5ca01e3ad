"""`make bench-national` (benchmarks/national.py, issue 7's scale benchmark): the derived water
registry, and water on 30 sections x 1 day."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from benchmarks import local, national


def test_derived_sections_keep_template_and_get_unique_feed_names() -> None:
    rows = [{"section_code": "YW001", "section_name": "甲", "feed_name": "", "name_en": "A",
             "province_code": "320000", "cross_boundary": "true", "demo": "false"},
            {"section_code": "YW002", "section_name": "乙", "feed_name": "乙站", "name_en": "B",
             "province_code": "330000", "cross_boundary": "false", "demo": "true"}]
    out = national.derived_sections(rows, 5)
    assert [r["section_code"] for r in out] == ["YW001", "YW002", "BW00001", "BW00002",
                                                "BW00003"]
    # Copy 3 repeats template 1 (index 2 % 2 == 0): same province and flag, new feed name.
    assert out[4]["province_code"] == "320000" and out[4]["cross_boundary"] == "true"
    assert out[4]["feed_name"] == "甲3号" and out[3]["feed_name"] == "乙站2号"
    assert len({(r["province_code"], r["feed_name"] or r["section_name"]) for r in out}) == 5


def test_write_sections_is_a_valid_registry(tmp_path: Path, monkeypatch) -> None:
    count = national.write_sections(tmp_path, 60)
    assert count == 60
    with (tmp_path / "water" / "sections.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 60
    # The water registry loader accepts it (unique codes and feed names per province).
    from envmon.water.reference import clear_cache, load_sections

    monkeypatch.setenv("ENVMON_REFERENCE_DIR", str(tmp_path))
    clear_cache()
    try:
        sections = load_sections()
        # the demo sections are the templates: targets and boundary pairs for the marts
        assert len(sections) == 60 and sections["demo"].all()
        assert sections["cross_boundary"].sum() > 0 and sections["target_class"].notna().any()
    finally:
        monkeypatch.delenv("ENVMON_REFERENCE_DIR")
        clear_cache()


def test_tiny_water_run_balances_with_the_floor(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    output.write_text(f"# B\n\n{local.RESULTS_START}\nair kept\n{local.RESULTS_END}\n")
    code = national.main(["water", "--days", "1", "--sections", "30", "--no-profile",
                                "--no-dagbag", "--workdir", str(tmp_path / "work"),
                                "--results", str(tmp_path / "res"), "--output", str(output)])
    assert code == 0
    result = json.loads((tmp_path / "res" / "water.json").read_text())
    ingest, floor = result["ingest"], result["floor"]
    assert result["files"] == 6  # one fetch every 4 hours
    assert ingest["statuses"] == {"ok": 6}
    # The floor keeps every tbody row; envmon loads each reading once (none is
    # refused whole in the demo: a bad cell is quarantined, its row kept), and
    # the ledger's rows_in counts those refused cells on top.
    assert floor["rows"] == ingest["rows_loaded"] > 0
    assert ingest["rows_in"] == ingest["rows_loaded"] + ingest["rows_quarantined"]
    text = output.read_text()
    assert "air kept" in text  # the air results block is not touched
    assert national.START_MARK in text and "water_compliance_monthly" in text
    assert not (tmp_path / "work" / "water").exists()


def test_each_bench_rewrites_only_its_own_block(tmp_path: Path) -> None:
    path = tmp_path / "docs" / "benchmarks.md"  # missing: created with the air markers
    local.write_report(path, "air numbers\n")
    national.write_report(path, "national numbers\n")  # no national markers: appended
    text = path.read_text()
    assert text.startswith("# Benchmarks\n") and "## National scale (issue 7)" in text
    assert text.index(local.RESULTS_END) < text.index(national.START_MARK)
    local.write_report(path, "air again\n")
    national.write_report(path, "national again\n")
    text = path.read_text()
    assert "air again" in text and "national again" in text
    assert "numbers" not in text and text.count(national.START_MARK) == 1

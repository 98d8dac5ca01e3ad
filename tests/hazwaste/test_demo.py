"""The demo month: every planted violation found, nothing found on clean manifests.

The generator records what it planted (planted_<first>_<last>.json, which the
pipeline never reads); the month of October 2026 runs through the real
pipeline (landing, Great Expectations, lake, lifecycle, anomalies, warehouse)
and the anomalies must be exactly the planted ones: per manifest number, the
same set of kinds, and an empty set for every clean manifest.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from envmon.hazwaste.anomalies import RULES
from tests.hazwaste.conftest import found, ingest_demo_month, lake, quarantine
from tests.support import stored


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory):
    from envmon.domains import build_warehouse

    home = tmp_path_factory.mktemp("hazwaste_demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVMON_HOME", str(home))
        records = ingest_demo_month(home)
        build_warehouse()
        yield home, records


@pytest.fixture(scope="module")
def planted(demo_home) -> dict:
    home, _ = demo_home
    return json.loads((home / "feeds" / "planted_20261001_20261031.json").read_text("utf-8"))


def test_every_planted_violation_is_found_and_nothing_else(demo_home, planted) -> None:
    home, _ = demo_home
    expected = {no: set(entry["expected"]) for no, entry in planted["manifests"].items()
                if entry["expected"]}
    got = found(home)
    missed = {no: kinds - got.get(no, set()) for no, kinds in expected.items()
              if kinds - got.get(no, set())}
    false = {no: kinds - expected.get(no, set()) for no, kinds in got.items()
             if kinds - expected.get(no, set())}
    assert missed == {} and false == {}
    # The clean manifests are most of the month, and every kind was planted.
    clean = [no for no, entry in planted["manifests"].items()
             if not entry["expected"] and not entry["pending"]]
    assert len(clean) > 8000
    assert set().union(*expected.values()) == set(RULES)


def test_planted_but_not_yet_due_is_not_reported(demo_home, planted) -> None:
    home, _ = demo_home
    pending = {no for no, e in planted["manifests"].items() if e["pending"]}
    assert pending  # e.g. a receipt on 10-29 whose 5 working days run into November
    got = found(home)
    for no in pending:
        assert not set(planted["manifests"][no]["pending"]) & got.get(no, set()), no


def test_bad_input_is_quarantined_and_never_loaded(demo_home, planted) -> None:
    home, records = demo_home
    assert all(r.status == "ok" for r in records)
    assert all(r.rows_in == r.rows_loaded + r.rows_quarantined for r in records)
    bad = planted["bad_input"]
    assert len(bad) >= 31
    loaded = set(lake(home, "hw_manifests")["manifest_no"])
    assert not set(bad) & loaded
    reasons = " ".join(quarantine(home)["reason"])
    for words in set(bad.values()):
        assert words in reasons


def test_views_answer_the_questions(demo_home) -> None:
    home, _ = demo_home
    con = stored.open_warehouse(home / "warehouse.duckdb")
    try:
        manifests = con.execute("SELECT count(*), count(DISTINCT manifest_no || version), "
                                "round(sum(shipped_t), 3) FROM hw_manifests").fetchall()[0]
        current = int(lake(home, "hw_manifest_state")["current"].sum())
        assert manifests[0] == manifests[1] == current
        flows = con.execute("SELECT round(sum(shipped_t), 3) FROM hw_flows_monthly").fetchall()
        departed = con.execute("SELECT round(sum(shipped_t), 3) FROM hw_manifests "
                               "WHERE departed_at IS NOT NULL").fetchall()
        assert flows == departed
        cross = con.execute("""
            SELECT count(*) FROM hw_flows_monthly
            WHERE cross_province AND origin_province_code = dest_province_code""").fetchall()
        assert cross == [(0,)]
        provinces = {r[0] for r in con.execute(
            "SELECT DISTINCT origin_province FROM hw_flows_monthly").fetchall()}
        assert provinces == {"Shanghai", "Jiangsu", "Zhejiang", "Anhui"}
        kinds = con.execute("SELECT count(DISTINCT anomaly) FROM hw_anomalies").fetchall()
        assert kinds == [(len(RULES),)]
        statuses = con.execute("SELECT count(*) FROM hw_events WHERE delivered_as = 'status'"
                               ).fetchall()[0][0]
        assert statuses > 31  # status confirmations and the planted orphans
    finally:
        con.close()


def test_demo_summary_prints_kinds_and_flows(demo_home) -> None:
    from envmon.demo.summaries import summarise_hazwaste

    home, _ = demo_home
    con = stored.open_warehouse(home / "warehouse.duckdb")
    try:
        lines = summarise_hazwaste(con)
    finally:
        con.close()
    assert lines[0].startswith("hazwaste: ") and "cross-province" in lines[0]
    assert sum(1 for line in lines if line.startswith("  xprov_")) == 5
    flows = lines[lines.index("top inter-province flows (t):") + 1:]
    assert len(flows) == 5 and all("->" in line for line in flows)


def test_a_day_alone_is_the_same_as_inside_the_month(demo_home, tmp_path: Path) -> None:
    from envmon.demo.hazwaste import generate_exports

    home, _ = demo_home
    [alone] = generate_exports(tmp_path, date(2026, 10, 15), date(2026, 10, 15), seed=2026)
    assert alone.read_bytes() == (home / "feeds" / alone.name).read_bytes()
    [other_seed] = generate_exports(tmp_path / "7", date(2026, 10, 15), date(2026, 10, 15),
                                    seed=7)
    assert other_seed.read_bytes() != alone.read_bytes()


def test_documented_example_queries_run(demo_home) -> None:
    import re

    home, _ = demo_home
    doc = (Path(__file__).resolve().parents[2] / "docs" / "warehouse_hazwaste.md").read_text(
        encoding="utf-8")
    queries = re.findall(r"```sql\n(.*?)```", doc, flags=re.S)
    assert len(queries) == 6
    con = stored.open_warehouse(home / "warehouse.duckdb")
    try:
        for sql in queries:
            assert con.execute(sql).fetchall(), sql
    finally:
        con.close()

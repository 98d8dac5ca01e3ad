"""The section registry: real sections under the release's names, lake or river as a fact."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from envmon.core.errors import ConfigError
from envmon.core.settings import REFERENCE_DIR
from envmon.core.timeutil import BEIJING
from envmon.demo import water as water_demo
from envmon.water import reference
from envmon.water.sources.cnemc_water import Page, parse_pages
from tests.registry.conftest import FIXTURES
from tests.support import stored

LAKE_POINTS = ["沙渚", "兰山嘴", "兰山嘴(老)", "西山", "湖滨", "湖滨(老)", "西半湖湖心"]


def _parse(path: Path) -> pd.DataFrame:
    fetched = datetime(2026, 11, 3, 8, 30, tzinfo=BEIJING)
    return parse_pages([Page(path.read_bytes(), path.name)], fetched_at=fetched,
                       tolerance=timedelta(hours=24), max_age=timedelta(days=31)).frame


def test_lake_points_are_lakes_from_the_registry() -> None:
    sections = reference.load_sections().set_index("feed_name")
    points = sections.loc[LAKE_POINTS]
    assert (points["water_body"] == "lake").all()
    assert (points["water_type_source"] == "registry").all()
    assert not points["demo"].any()
    assert set(points["water_name"]) == {"太湖", "巢湖"}
    # what a guess from the name alone would have said
    assert {reference.guess_water_body(name) for name in LAKE_POINTS} == {"river"}


def test_release_names_resolve_to_registry_sections(envmon_home: Path) -> None:
    """太浦河桥, 急水港桥, 红旗塘大坝 are the release's names: matched, not unregistered."""
    from envmon.water.ingest import shape_readings

    frame = _parse(FIXTURES / "release_page.json").set_index("section_name", drop=False)
    assert frame.loc["太浦河桥", "section_code"] == "W31002"
    assert frame.loc["急水港桥", "section_code"] == "W31001"
    assert frame.loc["红旗塘大坝", "section_code"] == "W31003"
    assert frame.loc["西半湖湖心", "section_code"] == "W34003"
    assert frame.loc["古北口", "section_code"] == "unregistered:北京:古北口"
    # real release names once held by demo rows: the real sections get them
    assert frame.loc["王江泾", "section_code"] == "W33004"
    assert frame.loc["小柳巷", "section_code"] == "W34016"

    readings = shape_readings(frame.reset_index(drop=True), "test", "run").set_index(
        "section_code")
    lake = readings.loc["W34003"]
    assert lake["registered"] and lake["water_body"] == "lake"
    # TP 0.08 mg/L: class IV on the lake table (0.1), II on the river table
    assert lake["water_class"] == "IV"
    assert readings.loc["W31002", "water_body"] == "river"
    assert readings.loc["W31002", "water_class"] == "II"
    # where lake or river came from travels with every reading and into the marts
    assert lake["water_type_source"] == "registry"
    assert readings.loc["unregistered:北京:古北口", "water_type_source"] == "guessed-from-name"
    from envmon.water.assess import assess_sums, period_sums

    month = assess_sums(period_sums(readings.reset_index())).set_index("section_code")
    assert month["water_type_source"].to_dict() == readings.groupby(level=0)[
        "water_type_source"].last().to_dict()


def test_sections_without_a_known_type_are_guessed_and_say_so() -> None:
    sections = reference.load_sections().set_index("section_code")
    guessed = sections.loc[sections["water_type_source"] == "guessed-from-name"]
    assert len(guessed) == 12 and not guessed["demo"].any()
    assert (guessed["to_fill"].str.contains("water_body")).all()
    assert set(guessed["water_body"]) == {"river"}


def test_real_sections_are_cited_and_say_what_to_fill() -> None:
    sections = reference.load_sections()
    real = sections.loc[~sections["demo"]]
    assert len(real) == 35
    assert real["section_code"].str.fullmatch(r"W3[1-4]\d{3}").all()
    assert (real["sources"] != "").all()
    assert (real["to_fill"].str.contains("target_class")).all()
    # no public document gives a target class: none is invented
    assert real["target_class"].isna().all()
    # the one boundary role a public document states
    crossing = real.loc[real["cross_boundary"]]
    assert crossing[["section_code", "upstream_code", "downstream_code"]].values.tolist() == [
        ["W33001", "340000", "330000"]]
    assert "cross_boundary" in crossing.iloc[0]["confirmed_facts"]
    issue_named = real.loc[real["sources"] == "issue-12", "feed_name"]
    assert set(issue_named) == {"太浦河桥", "红旗塘大坝", "兰山嘴", "湖滨", "西半湖湖心"}
    assert (real.loc[real["sources"] == "issue-12", "confirmed_facts"] == "").all()


def test_demo_sections_are_unchanged_and_only_they_get_a_demo_feed() -> None:
    demo = water_demo.demo_sections()
    assert list(demo["section_code"]) == [f"YW{i:03d}" for i in range(1, 24)]
    assert demo["demo"].all()
    before = pd.read_csv(REFERENCE_DIR / "water" / "demo_sections.csv", dtype=str,
                         keep_default_na=False)
    assert list(demo["feed_name"]) == list(before["feed_name"])
    assert list(demo["target_class"].fillna("")) == list(before["target_class"])
    assert set(water_demo.crossing_sections()) == set(
        before.loc[before["cross_boundary"] == "true", "section_code"])


def _copy_water(tmp_path: Path, use_dir) -> Path:
    copy = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR / "water", copy / "water")
    return use_dir(copy)


def test_a_registry_with_its_own_demo_rows_does_not_get_the_demo_file(tmp_path: Path,
                                                                     use_dir) -> None:
    copy = _copy_water(tmp_path, use_dir)
    demo_rows = (copy / "water" / "demo_sections.csv").read_text(encoding="utf-8")
    header, *rows = demo_rows.splitlines()
    (copy / "water" / "sections.csv").write_text(
        "\n".join([header, *rows[:2]]) + "\n", encoding="utf-8")
    sections = reference.load_sections()
    assert list(sections["section_code"]) == ["YW001", "YW002"]


def test_a_real_row_takes_its_release_name_from_a_demo_row(tmp_path: Path, use_dir,
                                                           envmon_home: Path) -> None:
    copy = _copy_water(tmp_path, use_dir)
    path = copy / "water" / "sections.csv"
    text = path.read_text(encoding="utf-8")
    line = [x for x in text.splitlines() if x.startswith("W33002,")][0]
    clash = line.replace("W33002,斜路港,斜路港", "W33009,运河苏浙交界,运河苏浙交界")
    path.write_text(text + clash + "\n", encoding="utf-8")
    sections = reference.load_sections().set_index("section_code")
    assert sections.loc["W33009", "feed_name"] == "运河苏浙交界"
    assert sections.loc["YW007", "feed_name"] == "运河苏浙交界（演示）"
    from envmon.water.sources.common import registry_by_feed_name

    names = registry_by_feed_name()
    assert names[("浙江", "运河苏浙交界")] == "W33009"
    assert names[("浙江", "运河苏浙交界（演示）")] == "YW007"
    # the view says the same
    from envmon.domains import build_warehouse

    con = stored.open_warehouse(build_warehouse())
    try:
        view = dict(con.execute("SELECT section_code, feed_name FROM water_sections WHERE "
                                "section_code IN ('W33009', 'YW007')").fetchall())
    finally:
        con.close()
    assert view == {"W33009": "运河苏浙交界", "YW007": "运河苏浙交界（演示）"}


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("demo_sections.csv", "YW003,淀山湖湖心", "W31001,淀山湖湖心", "W31001 is also in"),
    ("demo_sections.csv", ",true,true,\"lake shared", ",true,false,\"lake shared",
     "a demo file holds demo sections only"),
    ("sections.csv", "W31001,急水港桥,急水港桥,Jishui Port bridge (inflow to Dianshan Lake),river",
     "W31001,急水港桥,急水港桥,Jishui Port bridge (inflow to Dianshan Lake),canal",
     "water_body 'canal' is not river/lake"),
    ("sections.csv", ",310000,310000,,,,", ",320500,310000,,,,", "is not in province 310000"),
])
def test_bad_section_files(tmp_path: Path, use_dir, file: str, old: str, new: str,
                           message: str) -> None:
    copy = _copy_water(tmp_path, use_dir)
    path = copy / "water" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        reference.load_sections()
    assert str(path) in str(caught.value)


def test_the_sections_view_shows_the_type_and_its_source(envmon_home: Path) -> None:
    from envmon.domains import build_warehouse

    con = stored.open_warehouse(build_warehouse())
    try:
        view = con.execute("SELECT section_code, feed_name, water_body, water_type_source, "
                           "demo, cross_boundary, target_class FROM water_sections "
                           "ORDER BY section_code").df()
        stations = con.execute("SELECT demo, count(*), count(reference_point) FROM air_stations "
                               "GROUP BY demo ORDER BY demo").fetchall()
    finally:
        con.close()
    loaded = reference.load_sections().sort_values("section_code").reset_index(drop=True)
    for column in ("section_code", "feed_name", "water_body", "water_type_source", "demo",
                   "cross_boundary"):
        assert view[column].tolist() == loaded[column].tolist(), column
    assert view["target_class"].fillna("").tolist() == loaded["target_class"].fillna("").tolist()
    assert stations == [(False, 330, 330), (True, 181, 0)]

"""The water demo feed: real formats, deterministic, seasonal, with its planned imperfections."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from envmon.core.timeutil import BEIJING
from envmon.demo import water as demo
from envmon.water.compensation import target_limit
from envmon.water.sources.cnemc_water import Page, parse_pages
from envmon.water.sources.lab_monthly import parse_lab_monthly

DAY = pd.Timedelta(days=1).to_pytimedelta()


def month_pages(directory: Path, first: date, last: date) -> list[tuple[datetime, Path]]:
    return [(w, demo.write_snapshot(directory, w)) for w in demo.fetch_times(first, last)]


@pytest.fixture(scope="module")
def july(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """July 2026's pages, parsed (every reading and every reject)."""
    out = tmp_path_factory.mktemp("july")
    pages = month_pages(out, date(2026, 7, 1), date(2026, 7, 31))
    result = parse_pages([Page(p.read_bytes(), p.name) for _, p in pages],
                         fetched_at=pages[-1][0], tolerance=DAY, max_age=40 * DAY)
    frame = result.frame
    frame.attrs["rejects"] = result.rejects
    frame.attrs["pages"] = [p for _, p in pages]
    return frame


def test_same_arguments_same_bytes(tmp_path: Path) -> None:
    when = datetime(2026, 7, 10, 8, 30, tzinfo=BEIJING)
    a = demo.write_snapshot(tmp_path / "a", when).read_bytes()
    b = demo.write_snapshot(tmp_path / "b", when).read_bytes()
    assert a == b
    assert demo.write_lab_month(tmp_path / "a", 2026, 7).read_bytes() == \
        demo.write_lab_month(tmp_path / "b", 2026, 7).read_bytes()


def test_pages_are_in_the_release_shape(july: pd.DataFrame) -> None:
    page = json.loads(july.attrs["pages"][0].read_text(encoding="utf-8"))
    assert set(page) >= {"thead", "tbody", "total", "records"}
    assert page["thead"][:5] == ["省份", "流域", "断面名称", "监测时间", "水质类别"]
    assert page["records"] == len(page["tbody"]) and page["total"] == 1
    cell = page["tbody"][0][6]
    assert cell.startswith("<span title='原始值：")
    # every demo section, registered, every 4 hours; outages leave a few out
    sections = len(demo.demo_sections())
    assert july["section_code"].nunique() == sections
    assert not july["section_code"].str.startswith("unregistered").any()
    slots = 31 * 6
    assert 0.95 * slots * sections < len(july) < slots * sections
    assert set(july["ts"].dt.hour) == {0, 4, 8, 12, 16, 20}


def test_malformed_cells_are_refused_cell_by_cell(july: pd.DataFrame) -> None:
    reasons = [r.reason for r in july.attrs["rejects"]]
    assert 5 <= len(reasons) <= 80
    assert any("span without the raw value" in r for r in reasons)
    assert any("not a number" in r for r in reasons)
    assert any("negative value" in r for r in reasons)


def test_seasons(tmp_path: Path) -> None:
    january = [demo.reading(s, datetime(2026, 1, 15, 12, tzinfo=BEIJING), 2026, ())
               for _, s in demo.demo_sections().iterrows()]
    july = [demo.reading(s, datetime(2026, 7, 25, 12, tzinfo=BEIJING), 2026, ())
            for _, s in demo.demo_sections().iterrows()]
    mean = lambda rows, k: sum(r[k] for r in rows) / len(rows)  # noqa: E731
    assert mean(january, "water_temp") < 9 and mean(july, "water_temp") > 26
    assert mean(january, "nh3n") > 1.3 * mean(july, "nh3n")  # slow nitrification in the cold
    assert mean(july, "tp") > mean(january, "tp")


def test_taihu_algae_episode(july: pd.DataFrame) -> None:
    meiliang = july[july["section_code"] == "YW016"].set_index("ts").sort_index()
    assert meiliang["chla"].max() > 5 * meiliang["chla"].median()
    assert meiliang["ph"].max() > 9.0  # a bloom drives pH beyond class V
    assert meiliang["do_saturation_pct"].max() > 130
    # a river shows no chlorophyll at all
    assert july.loc[july["section_code"] == "YW001", "chla"].isna().all()


def test_a_few_cross_boundary_sections_miss_their_target_every_month() -> None:
    sections = demo.demo_sections().set_index("section_code", drop=False)
    crossing = demo.crossing_sections()
    for year, month in ((2026, 1), (2026, 7), (2026, 10)):
        missed = {c: demo.missing_target(c, year, month, 2026, crossing) for c in crossing}
        missed = {c: f for c, f in missed.items() if f}
        assert len(missed) == demo.MISSES_PER_MONTH
        for code, factor in missed.items():
            section = sections.loc[code]
            times = [datetime(year, month, d, h, tzinfo=BEIJING) for d in range(1, 29, 3)
                     for h in (0, 12)]
            values = [demo.reading(section, w, 2026, crossing)[factor] for w in times]
            limit = target_limit(factor, section["target_class"], section["water_body"])
            assert sum(values) / len(values) > limit, (code, factor)


def test_lab_file_parses(tmp_path: Path) -> None:
    path = demo.write_lab_month(tmp_path, 2026, 7)
    result = parse_lab_monthly(path)
    assert len(result.frame) == len(demo.demo_sections())  # one sample per section
    assert result.frame["below_detection"].notna().all()
    assert result.frame["cod"].notna().sum() >= len(demo.demo_sections()) - 2

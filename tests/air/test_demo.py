"""The demo feed generator: real `china_sites` layout, deterministic, plausibly imperfect."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from envmon.demo import air as demo
from envmon.demo import air_model

TYPES = (
    "AQI",
    "PM2.5",
    "PM2.5_24h",
    "PM10",
    "PM10_24h",
    "SO2",
    "SO2_24h",
    "NO2",
    "NO2_24h",
    "O3",
    "O3_24h",
    "O3_8h",
    "O3_8h_24h",
    "CO",
    "CO_24h",
)
NUMBER = re.compile(r"\d+(\.\d{1,3})?")


@pytest.fixture(scope="module")
def january(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A winter month for every demo station (the default seed)."""
    out = tmp_path_factory.mktemp("january")
    return demo.generate_china_sites(out, date(2026, 1, 1), date(2026, 1, 31))


@pytest.fixture(scope="module")
def january_cells(january: list[Path]) -> pd.DataFrame:
    """All station cells of the month as text, long format."""
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in january]
    wide = pd.concat(frames, ignore_index=True)
    cells = wide.melt(id_vars=["date", "hour", "type"], var_name="station", value_name="cell")
    return cells.dropna(subset=["cell"])  # NaN: the station is absent from that file


def _values(cells: pd.DataFrame) -> pd.DataFrame:
    """Well-formed cells as numbers, one column per type (others are NaN)."""
    ok = cells["cell"].str.fullmatch(NUMBER)
    numbers = pd.to_numeric(cells["cell"].where(ok), errors="coerce")
    return cells.assign(x=numbers).pivot_table(
        index=["date", "hour", "station"], columns="type", values="x"
    )


def _small(tmp_path: Path, name: str, seed: int = 2026) -> list[Path]:
    stations = demo.demo_stations().iloc[::20]
    return demo.generate_china_sites(
        tmp_path / name, date(2025, 12, 30), date(2026, 1, 2), seed=seed, stations=stations
    )


def test_one_file_per_day_named_like_the_feed(january: list[Path]) -> None:
    assert [p.name for p in january] == [
        f"china_sites_{date(2026, 1, 1) + timedelta(days=i):%Y%m%d}.csv" for i in range(31)
    ]
    leftovers = [p.name for p in january[0].parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # atomic writes leave no temporary files


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = _small(tmp_path, "a")
    second = _small(tmp_path, "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    first = _small(tmp_path, "a")
    other = _small(tmp_path, "b", seed=7)
    assert all(a.read_bytes() != b.read_bytes() for a, b in zip(first, other, strict=True))


def test_a_day_does_not_depend_on_the_requested_window(tmp_path: Path, january: list[Path]) -> None:
    [single] = demo.generate_china_sites(tmp_path, date(2026, 1, 17), date(2026, 1, 17))
    assert single.read_bytes() == january[16].read_bytes()


def test_header_and_row_layout(january: list[Path]) -> None:
    frame = pd.read_csv(january[0], dtype=str, keep_default_na=False)
    assert list(frame.columns[:3]) == ["date", "hour", "type"]
    assert all(re.fullmatch(r"\d{4}A", code) for code in frame.columns[3:])
    assert len(frame) == 24 * 15
    assert (frame["date"] == "20260101").all()
    assert list(frame["type"][:15]) == list(TYPES)
    assert list(frame["type"]) == list(TYPES) * 24
    assert list(frame["hour"]) == [str(h) for h in range(24) for _ in TYPES]


def test_station_columns_vary_between_files(january: list[Path]) -> None:
    headers = {p.read_text(encoding="utf-8").split("\n", 1)[0] for p in january}
    assert len(headers) > 1
    registry = set(demo.demo_stations()["station_code"])
    counts = sorted(len(h.split(",")) - 3 for h in headers)
    assert counts[-1] == len(registry) and counts[0] == len(registry) - 1


def test_units_and_number_formats(january_cells: pd.DataFrame) -> None:
    cells = january_cells.loc[january_cells["cell"].str.fullmatch(NUMBER)]
    is_co = cells["type"].isin(["CO", "CO_24h"])
    assert cells.loc[~is_co, "cell"].str.fullmatch(r"\d+").all()
    co = pd.to_numeric(cells.loc[is_co, "cell"])
    assert co.between(0.1, 5).all() and 0.5 < co.median() < 1.5


def test_winter_month_has_a_heavy_pollution_day(january_cells: pd.DataFrame) -> None:
    values = _values(january_cells)
    daily_max = values["PM2.5"].groupby(level=["date", "station"]).max()
    assert daily_max.max() > 150
    # a regional episode: many stations above the AQI-200 daily level the same day
    daily_mean = values["PM2.5"].groupby(level=["date", "station"]).mean()
    assert (daily_mean > 150).groupby(level="date").mean().max() > 0.25


def test_pm10_at_least_pm25_mostly(january_cells: pd.DataFrame) -> None:
    values = _values(january_cells)[["PM2.5", "PM10"]].dropna()
    assert (values["PM10"] >= values["PM2.5"]).mean() > 0.99
    ratio = (values["PM10"] / values["PM2.5"]).median()
    assert 1.3 <= ratio <= 1.8


def test_moving_averages_are_true_moving_averages(january: list[Path]) -> None:
    days = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in january[9:11]]
    common = [c for c in days[0].columns[3:] if c in set(days[1].columns)]

    def rows(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
        block = frame.loc[frame["type"] == kind, common]
        return block.apply(lambda col: pd.to_numeric(col.where(col.str.fullmatch(NUMBER))))

    hourly = pd.concat([rows(days[0], "PM2.5"), rows(days[1], "PM2.5")], ignore_index=True)
    expected = hourly.rolling(24).mean().iloc[24:].round().to_numpy()
    published = rows(days[1], "PM2.5_24h").to_numpy()
    both = ~np.isnan(expected) & ~np.isnan(published)
    assert both.sum() > 1000
    assert np.array_equal(expected[both], published[both])

    o3 = rows(days[1], "O3").to_numpy()
    o3_max = rows(days[1], "O3_24h").to_numpy()
    clean = ~np.isnan(o3).any(axis=0) & ~np.isnan(o3_max).any(axis=0)
    assert np.array_equal(np.maximum.accumulate(o3[:, clean], axis=0), o3_max[:, clean])


def test_malformed_cells_exist_but_are_rare(january_cells: pd.DataFrame) -> None:
    cells = january_cells["cell"]
    malformed = (cells != "") & ~cells.str.fullmatch(NUMBER)
    assert malformed.sum() > 0
    assert malformed.mean() < 1 / 1000
    kinds = set(cells[malformed].str.replace(r"^-\d+(\.\d+)?$", "negative", regex=True))
    assert kinds == {"—", "NA ", "1,2", "negative"}


def test_missing_cells_and_station_hour_outages(january_cells: pd.DataFrame) -> None:
    empty = january_cells["cell"] == ""
    assert 0.005 < empty.mean() < 0.03
    per_station_hour = empty.groupby(
        [january_cells["date"], january_cells["hour"], january_cells["station"]]
    ).all()
    assert per_station_hour.sum() > 10  # whole station-hours missing, not just cells


def test_episode_in_every_30_day_window_of_the_cold_season() -> None:
    for seed in (1, 2026, 99):
        for season in (2024, 2025, 2026):
            episodes = air_model._episode_schedule(seed, season)
            heavy = {s + k for s, plateau, _ in episodes for k in range(plateau)}
            first = date(season, 10, 1).toordinal()
            last = date(season + 1, 3, 1).toordinal() - 1
            for window in range(first, last - 29 + 1):
                assert heavy & set(range(window, window + 30)), (seed, season, window)
            low, high = air_model.EPISODE_PLATEAU_DAYS
            assert all(low <= plateau < high for _, plateau, _ in episodes)


def test_custom_station_frame(tmp_path: Path) -> None:
    stations = pd.DataFrame(
        {
            "station_code": ["0001A", "0002A"],
            "city_code": ["310000", "341200"],
            "longitude": [121.47, 115.81],
            "latitude": [31.23, 32.89],
        }
    )
    [path] = demo.generate_china_sites(
        tmp_path, date(2025, 7, 1), date(2025, 7, 1), stations=stations
    )
    header = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert header in ("date,hour,type,0001A,0002A", "date,hour,type,0001A", "date,hour,type,0002A")


def test_rejects_an_inverted_range(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        demo.generate_china_sites(tmp_path, date(2026, 1, 2), date(2026, 1, 1))

"""Reference tables: the region's provinces and cities, the air station registry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.core import reference, settings
from pipelines.core.errors import ConfigError

STATION_HEADER = "station_code,station_name,city_code,longitude,latitude,demo\n"


@pytest.fixture(autouse=True)
def _bundled_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(reference.REFERENCE_DIR_ENV, raising=False)


@pytest.fixture
def override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "bureau_reference"
    directory.mkdir()
    monkeypatch.setenv(reference.REFERENCE_DIR_ENV, str(directory))
    return directory


def test_four_provinces() -> None:
    provinces = reference.load_provinces()
    assert list(provinces["province_code"]) == ["310000", "320000", "330000", "340000"]
    assert list(provinces["name_en"]) == ["Shanghai", "Jiangsu", "Zhejiang", "Anhui"]


def test_41_cities_per_province() -> None:
    cities = reference.load_cities()
    assert len(cities) == 41
    assert cities.groupby("province_code").size().to_dict() == {
        "310000": 1,
        "320000": 13,
        "330000": 11,
        "340000": 16,
    }
    assert "310000" in set(cities["city_code"])  # Shanghai is one city-level unit


def test_codes_are_strings() -> None:
    for frame, column in [
        (reference.load_provinces(), "province_code"),
        (reference.load_cities(), "city_code"),
        (reference.load_cities(), "province_code"),
        (reference.load_air_stations(), "station_code"),
        (reference.load_air_stations(), "city_code"),
    ]:
        assert pd.api.types.is_string_dtype(frame[column]), column
        assert all(isinstance(code, str) for code in frame[column]), column


def test_city_adcode_prefix_matches_province() -> None:
    cities = reference.load_cities()
    assert (cities["city_code"].str.fullmatch(r"\d{4}00")).all()
    assert (cities["city_code"].str[:2] == cities["province_code"].str[:2]).all()


@pytest.mark.parametrize(
    ("name_en", "expected"),
    [
        ("Suzhou", {"320500": "苏州市", "341300": "宿州市"}),
        ("Taizhou", {"321200": "泰州市", "331000": "台州市"}),
    ],
)
def test_namesakes_are_distinct_by_code(name_en: str, expected: dict[str, str]) -> None:
    cities = reference.load_cities()
    namesakes = cities.loc[cities["name_en"] == name_en]
    assert dict(zip(namesakes["city_code"], namesakes["name_zh"], strict=True)) == expected


def test_stations_reference_known_cities() -> None:
    stations = reference.load_air_stations()
    cities = reference.load_cities()
    assert stations["city_code"].isin(set(cities["city_code"])).all()
    assert stations["station_code"].is_unique
    # every city has demo stations: 3-5, and 6-9 for the four big cities
    per_city = stations.groupby("city_code").size()
    assert set(per_city.index) == set(cities["city_code"])
    big = ["310000", "320100", "330100", "340100"]
    assert per_city[big].between(6, 9).all()
    assert per_city.drop(big).between(3, 5).all()


def test_bundled_stations_are_demo_entries() -> None:
    stations = reference.load_air_stations()
    assert stations["demo"].dtype == bool and stations["demo"].all()
    assert stations["station_code"].str.fullmatch(r"9\d{3}A").all()
    assert stations["longitude"].between(115, 123).all()
    assert stations["latitude"].between(27, 35.5).all()


def test_loads_are_cached_and_callers_get_copies() -> None:
    first = reference.load_cities()
    first.loc[0, "name_en"] = "changed by a caller"
    assert reference.load_cities().loc[0, "name_en"] == "Shanghai"


def test_override_dir_replaces_stations_and_falls_back_for_cities(override: Path) -> None:
    (override / "air_stations.csv").write_text(
        STATION_HEADER
        + "1141A,Real station,320100,118.78,32.04,false\n"
        + "0123A,Leading zero,341300,,,false\n",
        encoding="utf-8",
    )
    assert reference.reference_path("air_stations.csv") == override / "air_stations.csv"
    assert reference.reference_path("cities.csv") == settings.REFERENCE_DIR / "cities.csv"

    stations = reference.load_air_stations()
    assert list(stations["station_code"]) == ["1141A", "0123A"]
    assert not stations["demo"].any()
    assert stations["latitude"].isna().tolist() == [False, True]
    assert len(reference.load_cities()) == 41


def test_override_picks_up_an_edited_file(override: Path) -> None:
    path = override / "air_stations.csv"
    path.write_text(STATION_HEADER + "1141A,A,320100,118.7,32.0,false\n", encoding="utf-8")
    assert len(reference.load_air_stations()) == 1
    path.write_text(
        STATION_HEADER + "1141A,A,320100,118.7,32.0,false\n1142A,B,320100,118.8,32.1,false\n",
        encoding="utf-8",
    )
    assert len(reference.load_air_stations()) == 2


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("1141A,A,320100,1,1,false\n1141A,B,320100,1,1,false\n", "line 3: duplicate"),
        ("1141A,A,999900,1,1,false\n", "line 2: station 1141A: city_code '999900'"),
        ("1141A,A,320100,east,1,false\n", "line 2: station 1141A: bad longitude"),
        ("1141A,A,320100,1,1,maybe\n", "line 2: station 1141A: demo 'maybe'"),
        (",A,320100,1,1,false\n", "line 2: empty station_code"),
    ],
)
def test_bad_registry_names_file_and_line(override: Path, rows: str, expected: str) -> None:
    (override / "air_stations.csv").write_text(STATION_HEADER + rows, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        reference.load_air_stations()
    message = str(caught.value)
    assert str(override / "air_stations.csv") in message
    assert expected in message
    assert "\n" not in message


def test_missing_column_is_a_config_error(override: Path) -> None:
    (override / "air_stations.csv").write_text("station_code,city_code\n1141A,320100\n")
    with pytest.raises(ConfigError, match="air_stations.csv: line 1: missing column"):
        reference.load_air_stations()


def test_city_with_unknown_province(override: Path) -> None:
    (override / "cities.csv").write_text(
        "city_code,name_zh,name_en,province_code\n350100,福州市,Fuzhou,350000\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"cities\.csv: line 2: city 350100: province_code"):
        reference.load_cities()


def test_city_code_outside_its_province(override: Path) -> None:
    (override / "cities.csv").write_text(
        "city_code,name_zh,name_en,province_code\n320100,南京市,Nanjing,330000\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="does not belong to province 330000"):
        reference.load_cities()


def test_override_dir_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(reference.REFERENCE_DIR_ENV, str(tmp_path / "typo"))
    with pytest.raises(ConfigError, match="not a directory"):
        reference.load_air_stations()


def test_reference_path_stays_inside_the_reference_dir() -> None:
    with pytest.raises(ConfigError):
        reference.reference_path("../pyproject.toml")

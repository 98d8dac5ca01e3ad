"""Reference tables: the region's provinces and cities, the air station registry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from envmon.core import reference, settings
from envmon.core.errors import ConfigError

STATION_HEADER = "station_code,station_name,city_code,longitude,latitude,demo\n"


@pytest.fixture(autouse=True)
def _bundled_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(reference.REFERENCE_DIR_ENV, raising=False)


@pytest.fixture
def override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "bureau_reference"
    for sub in ("air", "common"):
        (directory / sub).mkdir(parents=True)
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
    # every city has real stations, and demo ones: 3-5, 6-9 for the four big cities
    real = stations.loc[~stations["demo"]].groupby("city_code").size()
    assert set(real.index) == set(cities["city_code"]) and (real >= 3).all()
    per_city = stations.loc[stations["demo"]].groupby("city_code").size()
    assert set(per_city.index) == set(cities["city_code"])
    big = ["310000", "320100", "330100", "340100"]
    assert per_city[big].between(6, 9).all()
    assert per_city.drop(big).between(3, 5).all()


def test_bundled_stations_are_the_national_list_then_the_demo_entries() -> None:
    stations = reference.load_air_stations()
    assert stations["demo"].dtype == bool
    real, demo = stations.loc[~stations["demo"]], stations.loc[stations["demo"]]
    # zkzkok/mydata 站点列表-2022.02.13起.csv: the 41 cities' stations
    assert len(real) == 330 and real.index.max() < demo.index.min()
    assert real["station_code"].str.fullmatch(r"\d{4}A").all()
    assert not real["station_code"].str.fullmatch(r"9\d{3}A").any()
    per_province = real["city_code"].str[:2].value_counts().to_dict()
    assert per_province == {"31": 20, "32": 139, "33": 76, "34": 95}
    located = real.dropna(subset=["longitude"])
    assert sorted(set(real["station_code"]) - set(located["station_code"])) == [
        "1202A", "1254A", "2302A"]
    assert located["longitude"].between(115, 123).all()
    assert located["latitude"].between(27, 35.5).all()
    assert real["reference_point"].sum() == 40 and real["reference_point"].notna().all()
    by_code = real.set_index("station_code")
    assert by_code.loc["1160A", "city_code"] == "320500"  # 苏州, Jiangsu
    assert by_code.loc["2304A", "city_code"] == "341300"  # 宿州, Anhui
    assert by_code.loc["1985A", ["city_code", "source_city"]].tolist() == ["320500", "吴江"]
    # the demo feed's stations, 9001A-9181A, come after the real ones
    assert len(demo) == 181
    assert demo["station_code"].str.fullmatch(r"9\d{3}A").all()
    assert demo["longitude"].between(115, 123).all()
    assert demo["latitude"].between(27, 35.5).all()
    assert demo["reference_point"].isna().all()


def test_loads_are_cached_and_callers_get_copies() -> None:
    first = reference.load_cities()
    first.loc[0, "name_en"] = "changed by a caller"
    assert reference.load_cities().loc[0, "name_en"] == "Shanghai"


def test_override_dir_replaces_stations_and_falls_back_for_cities(override: Path) -> None:
    (override / "air" / "stations.csv").write_text(
        STATION_HEADER
        + "1141A,Real station,320100,118.78,32.04,false\n"
        + "0123A,Leading zero,341300,,,false\n",
        encoding="utf-8",
    )
    assert reference.reference_path("air/stations.csv") == override / "air" / "stations.csv"
    assert (reference.reference_path("common/cities.csv")
            == settings.REFERENCE_DIR / "common" / "cities.csv")

    stations = reference.load_air_stations()
    real = stations.loc[~stations["demo"]]
    assert list(real["station_code"]) == ["1141A", "0123A"]
    assert real["latitude"].isna().tolist() == [False, True]
    assert real["reference_point"].isna().all()  # an optional column the file lacks
    # the demo stations still come from the bundled demo file
    assert stations["demo"].sum() == 181
    assert len(reference.load_cities()) == 41


def test_override_picks_up_an_edited_file(override: Path) -> None:
    path = override / "air" / "stations.csv"
    path.write_text(STATION_HEADER + "1141A,A,320100,118.7,32.0,false\n", encoding="utf-8")
    assert (~reference.load_air_stations()["demo"]).sum() == 1
    path.write_text(
        STATION_HEADER + "1141A,A,320100,118.7,32.0,false\n1142A,B,320100,118.8,32.1,false\n",
        encoding="utf-8",
    )
    assert (~reference.load_air_stations()["demo"]).sum() == 2


def test_a_registry_with_demo_rows_of_its_own_gets_no_demo_file(override: Path) -> None:
    """A copy of the registry from before the split (demo rows in air/stations.csv) loads."""
    demo = (settings.REFERENCE_DIR / "air" / "demo_stations.csv").read_text(encoding="utf-8")
    (override / "air" / "stations.csv").write_text(demo, encoding="utf-8")
    stations = reference.load_air_stations()
    assert len(stations) == 181 and stations["demo"].all()


def test_a_header_only_demo_file_leaves_the_demo_stations_out(override: Path) -> None:
    (override / "air" / "demo_stations.csv").write_text(STATION_HEADER, encoding="utf-8")
    stations = reference.load_air_stations()
    assert len(stations) == 330 and not stations["demo"].any()


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("1141A,Demo,320100,118.7,32.0,true\n", "station 1141A is also in"),
        ("9999A,Not demo,320100,118.7,32.0,false\n", "a demo file holds demo stations only"),
        ("9999A,Demo,320100,118.7,32.0,true,maybe\n", "reference_point 'maybe'"),
    ],
)
def test_bad_demo_file(override: Path, row: str, expected: str) -> None:
    path = override / "air" / "demo_stations.csv"
    header = STATION_HEADER.rstrip("\n") + ",reference_point\n"
    path.write_text(header + row, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as caught:
        reference.load_air_stations()
    assert str(path) in str(caught.value) and "line 2" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "code"),
    [("上海", "310000"), ("苏州", "320500"), ("苏州市", "320500"), ("宿州", "341300"),
     ("泰州", "321200"), ("台州", "331000"), ("昆山", "320500"), ("昆山市", "320500"),
     ("江阴", "320200"), ("义乌", "330700"), ("吴江", "320500"), ("临安", "330100"),
     ("巢湖", "340100")],
)
def test_place_names_of_published_lists_map_to_cities(name: str, code: str) -> None:
    from envmon.core.reference import city_codes_by_name, short_place_name

    assert city_codes_by_name()[short_place_name(name)] == code


def test_county_cities_must_lie_in_their_city(override: Path) -> None:
    (override / "common" / "county_cities.csv").write_text(
        "name_zh,county_code,city_code,kind,note\n昆山市,320583,320200,county-level city,\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="line 2: 昆山市: county_code 320583 is not inside"):
        reference.load_county_cities()


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
    (override / "air" / "stations.csv").write_text(STATION_HEADER + rows, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        reference.load_air_stations()
    message = str(caught.value)
    assert str(override / "air" / "stations.csv") in message
    assert expected in message
    assert "\n" not in message


def test_missing_column_is_a_config_error(override: Path) -> None:
    (override / "air" / "stations.csv").write_text("station_code,city_code\n1141A,320100\n")
    with pytest.raises(ConfigError, match="air/stations.csv: line 1: missing column"):
        reference.load_air_stations()


def test_city_with_unknown_province(override: Path) -> None:
    (override / "common" / "cities.csv").write_text(
        "city_code,name_zh,name_en,province_code\n350100,福州市,Fuzhou,350000\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"cities\.csv: line 2: city 350100: province_code"):
        reference.load_cities()


def test_city_code_outside_its_province(override: Path) -> None:
    (override / "common" / "cities.csv").write_text(
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


# --- a bureau's copy under a file's former name (before reference/<domain>/) ----------


def test_a_copy_under_the_former_name_is_still_read(override: Path) -> None:
    """Bureaus keep air_stations.csv, cities.csv, ... at the top of their directory."""
    (override / "air_stations.csv").write_text(
        STATION_HEADER + "1141A,Old name,320100,118.7,32.0,false\n", encoding="utf-8")
    cities = (settings.REFERENCE_DIR / "common" / "cities.csv").read_text(encoding="utf-8")
    (override / "cities.csv").write_text(cities, encoding="utf-8")
    assert reference.reference_path("air/stations.csv") == override / "air_stations.csv"
    assert reference.reference_path("common/cities.csv") == override / "cities.csv"
    assert (reference.reference_path("common/provinces.csv")
            == settings.REFERENCE_DIR / "common" / "provinces.csv")
    stations = reference.load_air_stations()
    assert list(stations.loc[~stations["demo"], "station_name"]) == ["Old name"]


def test_the_current_name_wins_over_the_former(override: Path) -> None:
    (override / "air_stations.csv").write_text(
        STATION_HEADER + "1141A,Old name,320100,118.7,32.0,false\n", encoding="utf-8")
    (override / "air" / "stations.csv").write_text(
        STATION_HEADER + "1141A,New name,320100,118.7,32.0,false\n", encoding="utf-8")
    stations = reference.load_air_stations()
    assert list(stations.loc[~stations["demo"], "station_name"]) == ["New name"]


def test_an_error_in_a_former_name_copy_names_that_file(override: Path) -> None:
    (override / "county_cities.csv").write_text(
        "name_zh,county_code,city_code,kind,note\n昆山市,320583,320200,county-level city,\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"county_cities\.csv: line 2: 昆山市"):
        reference.load_county_cities()


def test_the_warehouse_reads_a_former_name_copy_too(override: Path) -> None:
    from envmon.core.warehouse import render

    (override / "air_stations.csv").write_text(STATION_HEADER, encoding="utf-8")
    sql = render("SELECT * FROM {{reference:air/stations}}, {{reference:common/cities}}", {})
    assert str(override / "air_stations.csv") in sql
    assert str(settings.REFERENCE_DIR / "common" / "cities.csv") in sql


def test_every_reference_the_warehouse_names_is_bundled() -> None:
    import re

    names = {name for path in settings.WAREHOUSE_SQL_DIR.glob("*.sql")
             for name in re.findall(r"\{\{\s*reference:([a-z0-9_/]+)\s*\}\}",
                                    path.read_text(encoding="utf-8"))}
    assert {"common/provinces", "common/cities", "air/stations"} <= names
    for name in names:
        assert (settings.REFERENCE_DIR / f"{name}.csv").is_file(), name

"""`envmon registry import air-stations`: the national station list as published."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from envmon import cli
from envmon.core import reference
from envmon.core.errors import ConfigError, InputError
from envmon.registry import import_air_stations
from tests.registry.conftest import FIXTURES

PUBLISHED = FIXTURES / "station_list_published.csv"
STATIONS = Path(reference.AIR_STATIONS_FILE)  # air/stations.csv


def _encoded(tmp_path: Path, encoding: str) -> Path:
    """The fixture's text in the bytes a publisher may send."""
    text = PUBLISHED.read_text(encoding="utf-8")
    data = {"utf-8": text.encode("utf-8"), "utf-8-bom": b"\xef\xbb\xbf" + text.encode("utf-8"),
            "gb18030": text.encode("gb18030")}[encoding]
    path = tmp_path / f"站点列表-{encoding}.csv"
    path.write_bytes(data)
    return path


def test_the_published_list_is_refused_as_a_registry(out_dir: Path, use_dir) -> None:
    """Why the import exists: the list as published is not envmon's registry layout."""
    (out_dir / STATIONS).parent.mkdir()
    shutil.copyfile(PUBLISHED, out_dir / STATIONS)
    use_dir(out_dir)
    with pytest.raises(ConfigError, match="missing column"):
        reference.load_air_stations()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-bom", "gb18030"])
def test_import_the_published_layout(tmp_path: Path, out_dir: Path, use_dir,
                                     encoding: str) -> None:
    source = _encoded(tmp_path, encoding)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            source.read_bytes().decode("utf-8")  # real GB18030 bytes, not UTF-8
    report = import_air_stations(source, out_dir)

    assert report.written == out_dir / STATIONS
    assert report.rows_read == 16 and report.kept == 12
    expected = {"utf-8": "encoding: UTF-8", "utf-8-bom": "encoding: UTF-8 with BOM",
                "gb18030": "encoding: GB18030"}[encoding]
    assert expected in report.lines()
    # a duplicated code: the first row kept, the other listed with its line, not fatal
    assert report.duplicates == ["1141A: line 15 (普陀区监测站, 上海) dropped; line 4 (普陀, 上海) "
                                 "kept"]
    # places outside the 41 cities: counted, skipped, named
    assert report.outside == {"北京": 1, "秦皇岛": 1, "三门峡": 1}
    assert any(line.startswith("outside the region (skipped): 3 row(s) in 3 place(s)")
               for line in report.lines())

    stations = pd.read_csv(out_dir / STATIONS, dtype=str, keep_default_na=False)
    by_code = stations.set_index("station_code")
    assert list(stations["station_code"]) == sorted(stations["station_code"])
    assert by_code.loc["1141A", "station_name"] == "普陀"
    # cities without 市, county-level cities and former ones (now districts) -> prefecture
    assert by_code["city_code"].to_dict() == {
        "1141A": "310000", "1146A": "310000", "1160A": "320500", "1184A": "321000",
        "1202A": "321100", "1985A": "320500", "1988A": "320500", "2000A": "320200",
        "2304A": "341300", "2306A": "341300", "2994A": "330700", "3289A": "320500"}
    assert by_code.loc["1985A", "source_city"] == "吴江"
    assert by_code.loc["1988A", "source_city"] == "昆山"
    assert (by_code["demo"] == "false").all()
    assert by_code.loc["1146A", "reference_point"] == "true"
    assert by_code.loc["2306A", "reference_point"] == "false"
    assert by_code.loc["1202A", ["longitude", "latitude"]].tolist() == ["", ""]
    assert by_code.loc["1146A", "longitude"] == "120.978"  # as published
    assert "stopped" in by_code.loc["1184A", "note"]

    # the written file is envmon's registry: it loads, with the demo stations after it
    use_dir(out_dir)
    loaded = reference.load_air_stations()
    real = loaded.loc[~loaded["demo"]]
    assert len(real) == 12 and len(loaded) == 12 + 181
    assert real.set_index("station_code").loc["1146A", "reference_point"]
    assert pd.isna(loaded.set_index("station_code").loc["9001A", "reference_point"])


def test_names_are_kept_as_published(tmp_path: Path, out_dir: Path) -> None:
    source = tmp_path / "list.csv"
    source.write_text("监测点编码,监测点名称,城市,经度,纬度,对照点\n"
                      "2165A,白马寺 (对照点),苏州,120.1,31.2,Y\n"
                      "1837A,二  印,苏州,120.2,31.3,N\n"
                      "2276A,大通区政府（已停运）,淮南,117.0,32.6,Y\n", encoding="utf-8")
    import_air_stations(source, out_dir)
    stations = reference.check_air_stations(out_dir / STATIONS)
    assert list(stations["station_name"]) == ["二  印", "白马寺 (对照点)", "大通区政府（已停运）"]


def test_the_older_five_column_layout(out_dir: Path) -> None:
    """Lists before 2021 have no 对照点 column (and a trailing comma)."""
    report = import_air_stations(FIXTURES / "station_list_2020_5_columns.csv", out_dir)
    stations = reference.check_air_stations(out_dir / STATIONS)
    assert list(stations["station_code"]) == ["1141A", "2010A"]
    assert stations["reference_point"].isna().all()
    assert list(stations["city_code"]) == ["310000", "330100"]  # 临安 -> Hangzhou
    assert report.outside == {"北京": 1}


def test_a_header_that_is_not_the_list(tmp_path: Path, out_dir: Path) -> None:
    source = tmp_path / "list.csv"
    source.write_text("编码,名称,城市,经度,纬度\n1141A,普陀,上海,121.4,31.2\n", encoding="utf-8")
    with pytest.raises(InputError, match="header lacks 监测点编码, 监测点名称") as caught:
        import_air_stations(source, out_dir)
    assert "\n" not in str(caught.value)
    assert not (out_dir / STATIONS).exists()


def test_dry_run_writes_nothing(out_dir: Path) -> None:
    report = import_air_stations(PUBLISHED, out_dir, dry_run=True)
    assert report.kept == 12 and report.written is None
    assert not list(out_dir.iterdir())


def test_reimport_reports_what_left_the_list(tmp_path: Path, out_dir: Path) -> None:
    import_air_stations(PUBLISHED, out_dir)
    smaller = tmp_path / "newer.csv"
    lines = PUBLISHED.read_text(encoding="utf-8").splitlines()
    smaller.write_text("\n".join(line for line in lines if not line.startswith("3289A"))
                       + "\n", encoding="utf-8")
    report = import_air_stations(smaller, out_dir)
    assert any("11 station(s) kept, 0 new, 1 no longer listed (3289A)" in line
               for line in report.lines())


def test_a_reimport_replaces_a_registry_kept_under_the_former_name(tmp_path: Path,
                                                                  out_dir: Path) -> None:
    """A bureau's air_stations.csv (the name before reference/<domain>/) is what it replaces."""
    import_air_stations(PUBLISHED, out_dir)
    (out_dir / STATIONS).rename(out_dir / "air_stations.csv")
    smaller = tmp_path / "newer.csv"
    lines = PUBLISHED.read_text(encoding="utf-8").splitlines()
    smaller.write_text("\n".join(line for line in lines if not line.startswith("3289A"))
                       + "\n", encoding="utf-8")
    report = import_air_stations(smaller, out_dir)
    assert report.written == out_dir / STATIONS
    lines = report.lines()
    assert any("air_stations.csv: 11 station(s) kept, 0 new, 1 no longer listed" in line
               for line in lines)
    assert any("air_stations.csv (the former name) is no longer read" in line for line in lines)


def test_the_bundled_registry_is_the_import_of_the_national_list(out_dir: Path) -> None:
    """reference/air/stations.csv is exactly what the import makes of the 2022-02-13 list.

    The fixture holds the list's 330 rows of the region verbatim (zkzkok/mydata,
    站点列表-2022.02.13起.csv, commit 387b310e275fd463e95d8a624df9d4b24e47bde5).
    """
    report = import_air_stations(FIXTURES / "national_list_2022-02-13_yrd_rows.csv", out_dir)
    assert report.kept == 330 and not report.outside and not report.duplicates
    bundled = Path(reference.reference_path(reference.AIR_STATIONS_FILE))
    assert (out_dir / STATIONS).read_bytes() == bundled.read_bytes()


def test_cli(out_dir: Path, capsys: pytest.CaptureFixture[str],
             monkeypatch: pytest.MonkeyPatch) -> None:
    code = cli.main(["registry", "import", "air-stations", str(PUBLISHED), "--out",
                     str(out_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "kept 12, written to" in out and "1141A: line 15" in out and "北京 1" in out
    monkeypatch.delenv(reference.REFERENCE_DIR_ENV, raising=False)
    assert cli.main(["registry", "import", "air-stations", str(PUBLISHED)]) == 1
    assert "give --out DIR or set ENVMON_REFERENCE_DIR" in capsys.readouterr().err
    # --out defaults to ENVMON_REFERENCE_DIR
    other = out_dir.parent / "configured"
    other.mkdir()
    monkeypatch.setenv(reference.REFERENCE_DIR_ENV, str(other))
    assert cli.main(["registry", "import", "air-stations", str(PUBLISHED)]) == 0
    assert (other / STATIONS).is_file()

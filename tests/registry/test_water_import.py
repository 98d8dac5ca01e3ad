"""`envmon registry import water-sections`: release pages and section lists as published."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from envmon import cli
from envmon.core.errors import InputError
from envmon.registry import import_water_sections
from envmon.water import reference
from tests.registry.conftest import FIXTURES

PAGE = FIXTURES / "release_page.json"
LISTED = FIXTURES / "sections_published.csv"


def _written(out_dir: Path) -> pd.DataFrame:
    return pd.read_csv(out_dir / "water" / "sections.csv", dtype=str, keep_default_na=False)


def test_import_a_release_page(out_dir: Path, use_dir) -> None:
    report = import_water_sections([PAGE], out_dir)
    assert report.rows_read == 12 and report.kept == 10
    assert report.outside == {"北京市": 1}
    # the same section twice with different facts: the first kept, reported
    assert report.duplicates == ["江苏省 沙渚: release_page.json record 10 dropped, "
                                 "release_page.json record 5 kept (basin '太湖流域'/'长江流域')"]
    rows = _written(out_dir).set_index("feed_name")
    # sections the bundled registry knows keep their code and values
    assert rows.loc["太浦河桥", "section_code"] == "W31002"
    assert rows.loc["西半湖湖心", ["section_code", "water_body"]].tolist() == ["W34003", "lake"]
    # what the registry lacked (the basin of 太浦河桥) is filled from the page, cited
    assert rows.loc["太浦河桥", "basin"] == "长江流域"
    assert "basin" not in rows.loc["太浦河桥", "to_fill"].split(";")
    assert rows.loc["太浦河桥", "sources"] == "issue-12;import of release_page.json"
    # new ones: the next code of their province, facts the page gave, the rest to fill
    new = rows.loc["南湖"]
    assert new["section_code"] == "W33005" and new["city_code"] == "330400"
    assert new["water_name"] == "南湖" and new["water_body"] == ""
    assert new["confirmed_facts"] == ("section_name;feed_name;province_code;basin;city_code;"
                                      "water_name")
    assert new["to_fill"].startswith("water_body;cross_boundary")
    assert new["sources"] == "import of release_page.json" and new["demo"] == "false"
    # a county-level city in 所在地市 -> its prefecture
    assert rows.loc["新断面桥", ["section_code", "city_code"]].tolist() == ["W32013", "320500"]
    assert len(rows) == 35 + 2
    assert any("in the registry but not in this list (kept): 27" in line
               for line in report.lines())

    use_dir(out_dir)
    loaded = reference.load_sections().set_index("section_code")
    # no type given: guessed from the water's name, and it says so
    assert loaded.loc["W33005", ["water_body", "water_type_source"]].tolist() == [
        "lake", "guessed-from-name"]
    assert loaded["demo"].sum() == 23  # the demo sections still come with it


def test_import_a_section_list_csv_in_gb18030(tmp_path: Path, out_dir: Path,
                                              use_dir) -> None:
    source = tmp_path / "断面.csv"
    source.write_bytes(LISTED.read_text(encoding="utf-8").encode("gb18030"))
    report = import_water_sections([source], out_dir)
    assert f"{source.name}: GB18030" in report.lines()
    assert report.outside == {"江西省": 1}
    assert report.refused == [f"{source.name} line 6: 安徽省 无城断面: no city (所在地市) "
                              "given: skipped"]
    rows = _written(out_dir).set_index("feed_name")
    assert rows.loc["湖州测试河口", ["section_code", "water_body", "water_name"]].tolist() == [
        "W33005", "river", "苕溪"]
    assert "water_body" in rows.loc["湖州测试河口", "confirmed_facts"]
    use_dir(out_dir)
    assert reference.load_sections().set_index("section_code").loc[
        "W33005", "water_type_source"] == "registry"


def test_reimport_keeps_codes_and_what_a_bureau_set(out_dir: Path) -> None:
    import_water_sections([PAGE], out_dir)
    path = out_dir / "water" / "sections.csv"
    text = path.read_text(encoding="utf-8")
    rows = _written(out_dir)
    rows.loc[rows["feed_name"] == "南湖", ["target_class", "water_body"]] = ["III", "lake"]
    rows.to_csv(path, index=False)
    report = import_water_sections([PAGE], out_dir)
    again = _written(out_dir).set_index("feed_name")
    assert again.loc["南湖", ["section_code", "target_class", "water_body"]].tolist() == [
        "W33005", "III", "lake"]
    assert len(again) == len(text.splitlines()) - 1
    assert "new sections: 0; already in the registry: 10" in report.lines()


def test_a_file_that_is_not_a_section_list(tmp_path: Path, out_dir: Path) -> None:
    source = tmp_path / "list.csv"
    source.write_text("province,name\n江苏省,沙渚\n", encoding="utf-8")
    with pytest.raises(InputError, match="header lacks 省份, 流域, 断面名称"):
        import_water_sections([source], out_dir)
    assert not (out_dir / "water").exists()


def test_cli(out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["registry", "import", "water-sections", str(PAGE), str(LISTED),
                     "--out", str(out_dir), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and "dry run: nothing written" in out and "江西省 1" in out
    assert not (out_dir / "water").exists()


def test_a_name_the_registry_has_in_another_province_is_pointed_out(tmp_path: Path,
                                                                    out_dir: Path) -> None:
    """太浦河桥's province is unconfirmed: a list placing it elsewhere says so."""
    source = tmp_path / "list.csv"
    source.write_text("省份,流域,断面名称,所在地市,所属河流\n江苏省,太湖流域,太浦河桥,苏州市,太浦河\n",
                      encoding="utf-8")
    report = import_water_sections([source], out_dir)
    assert any(line.startswith("太浦河桥 (320000): the registry has this name in another "
                               "province (W31002)") for line in report.lines())
    rows = _written(out_dir).set_index("section_code")
    assert rows.loc["W32013", ["feed_name", "city_code"]].tolist() == ["太浦河桥", "320500"]

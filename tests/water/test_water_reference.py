"""The water reference tables load, and a broken copy is a one-line ConfigError."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envmon.core.errors import ConfigError
from envmon.core.settings import REFERENCE_DIR
from envmon.water import reference


@pytest.fixture
def ref_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR / "water", copy / "water")
    monkeypatch.setenv("ENVMON_REFERENCE_DIR", str(copy))
    reference.clear_cache()
    yield copy
    reference.clear_cache()


def test_bundled_tables() -> None:
    sections = reference.load_sections()
    assert len(sections) == sections["section_code"].nunique() >= 20
    demo = sections[sections["demo"]]
    assert len(demo) == 23 and demo["coords_approximate"].all()
    crossing = sections[sections["cross_boundary"]]
    assert crossing["upstream_code"].notna().all() and crossing["downstream_code"].notna().all()
    names = set(sections["water_name"])
    assert {"太浦河", "淀山湖", "太湖", "长江", "京杭大运河", "淮河", "洪泽湖", "元荡",
            "汾湖"} <= names
    limits = reference.load_limits()
    tp = {lim.applies_to: lim.limits for lim in limits if lim.item == "tp"}
    assert tp == {"river": (0.02, 0.1, 0.2, 0.3, 0.4), "lake": (0.01, 0.025, 0.05, 0.1, 0.2)}
    excluded = {lim.item for lim in limits if not lim.evaluated}
    assert excluded == {"water_temp", "tn", "fecal_coliform"}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("old", "new", "message"), [
    ("YW002,急水港周庄", "YW001,急水港周庄", "line 3: duplicate section_code 'YW001'"),
    (",320500,320000,true,320000,310000,III,40", ",329900,320000,true,320000,310000,III,40",
     "city_code '329900' is not in common/cities.csv"),
    (",320000,310000,III,40", ",320000,310000,VI,40", "target_class 'VI' is not I-V"),
    (",true,320000,310000,III,40", ",true,,310000,III,40", "needs upstream_code"),
    (",river,急水港", ",canal,急水港", "water_body 'canal' is not river/lake"),
])
def test_bad_registry(ref_dir: Path, old: str, new: str, message: str) -> None:
    _edit(ref_dir / "water" / "demo_sections.csv", old, new)
    with pytest.raises(ConfigError, match=message):
        reference.load_sections()


def test_bad_limits(ref_dir: Path) -> None:
    _edit(ref_dir / "water" / "gb3838_limits.csv", "nh3n,all,max,0.15,0.5,1.0,1.5,2.0",
          "nh3n,all,max,0.15,0.5,1.0,1.5,1.2")
    with pytest.raises(ConfigError, match="nh3n limits are not monotone"):
        reference.load_limits()


def test_items_must_match_the_schema(ref_dir: Path) -> None:
    path = ref_dir / "water" / "items.csv"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if not line.startswith("sd,")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="missing: \\['sd'\\]"):
        reference.load_items()

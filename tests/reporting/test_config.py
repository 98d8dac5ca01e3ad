"""config/commitments.yaml: the shipped file, and mistakes named in one line."""

from __future__ import annotations

import copy

import pytest

from envmon.core.errors import ConfigError
from envmon.reporting.config import load_config, parse_config
from tests.reporting.conftest import shipped_config

REQUIRED = {"pm25_mean", "pm25_change", "good_day_ratio", "heavy_days", "o3_p90", "o3_change",
            "pm25_o3_both_down", "water_xb_compliance", "water_share_i_iii",
            "water_worse_than_v", "water_compensation_owed", "hw_electronic_share",
            "hw_xprov_approved_share", "hw_confirmed_in_time", "hw_open_high_anomalies"}


def test_shipped_config_has_every_indicator_with_its_sources() -> None:
    config = load_config()
    assert REQUIRED <= set(config.indicators)
    for ind in config.indicators.values():
        assert ind.example, f"{ind.id}: shipped targets are examples"
        assert ind.target_source.startswith("EXAMPLE"), ind.id
        assert ind.standard and ind.definition and ind.title_zh
    assert config.indicators["o3_p90"].params == {"column": "o3_8h", "p": 0.9}
    assert set(config.indicators["pm25_mean"].levels) == {"city", "province", "region"}
    assert config.indicators["heavy_days"].target_for("320100", month=True) == 0.0
    assert config.indicators["heavy_days"].target_for("320100") == 3.0


def _broken(change) -> str:
    data = copy.deepcopy(shipped_config())
    change(data)
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return str(info.value)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["indicators"]["pm25_mean"].update(measure="air_median"),
     "indicator pm25_mean: unknown measure 'air_median'"),
    (lambda d: d["indicators"]["pm25_mean"].update(direction="down"),
     "indicator pm25_mean: direction must be lower or higher"),
    (lambda d: d["indicators"]["pm25_mean"].pop("target"), "indicator pm25_mean: target is "
                                                           "required"),
    (lambda d: d["indicators"]["pm25_mean"].update(target="thirty"),
     "pm25_mean.target must be a number"),
    (lambda d: d["indicators"]["pm25_mean"].update(levels=["county"]),
     "indicator pm25_mean: levels must be a list of city, province, region"),
    (lambda d: d["indicators"]["pm25_change"]["params"].update(of="pm10_mean"),
     "indicator pm25_change: params.of names unknown indicator 'pm10_mean'"),
    (lambda d: d["indicators"]["o3_p90"]["params"].update(p=1.5),
     "indicator o3_p90: params: p must be in (0, 1]"),
    (lambda d: d["indicators"]["good_day_ratio"]["params"].update(max_category_level=9),
     "max_category_level 9 is not an HJ 633 category level"),
    (lambda d: d["indicators"]["water_xb_compliance"].update(domain="air"),
     "measure water_compliance is not a air measure"),
    (lambda d: d["indicators"]["pm25_o3_both_down"]["params"].update(of=["pm25_mean",
                                                                          "o3_change"]),
     "both_down takes change indicators, not 'pm25_mean'"),
    (lambda d: d["status"].update(area_min_city_share=2), "area_min_city_share must be between"),
])
def test_mistakes_are_named(change, message) -> None:
    assert message in _broken(change)


def test_missing_file_is_a_config_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ENVMON_COMMITMENTS_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="nope.yaml: commitments configuration not found"):
        load_config()

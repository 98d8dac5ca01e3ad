"""reference/hazwaste: the bundled tables load, cover what they claim, and refuse bad copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from envmon.core.errors import ConfigError
from envmon.hazwaste import reference
from envmon.hazwaste.anomalies import RULES
from envmon.hazwaste.settings import load_rules


@pytest.fixture(autouse=True)
def fresh_cache():
    reference.clear_cache()
    yield
    reference.clear_cache()


def test_waste_codes_cover_every_category_in_use() -> None:
    codes = reference.load("waste_codes")
    categories = reference.load("categories")
    in_use = set(categories.loc[categories["in_use"], "category"])
    # HW01-HW50 without HW41-HW44 (名录: those numbers are no longer used).
    assert in_use == {f"HW{n:02d}" for n in range(1, 51)} - {"HW41", "HW42", "HW43", "HW44"}
    assert set(codes["category"]) == in_use
    assert codes["representative"].all()
    assert (codes["waste_code"].str[-2:] == codes["category"].str[2:]).all()


def test_facilities_registry_has_every_role_and_the_planted_receivers() -> None:
    facilities = reference.load("facilities")
    assert set(facilities["role"]) == {"shipper", "carrier", "receiver"}
    assert facilities["demo"].all()
    receivers = facilities[facilities["role"] == "receiver"].set_index("facility_id")
    assert str(receivers.loc["DEMO-R-AH03", "licence_valid_to"]) == "2025-12-31"
    assert receivers.loc["DEMO-R-ZJ04", "annual_capacity_t"] == 10
    # Every city of the region has a demo shipper (GB/T 2260: city = first 4 digits).
    from envmon.core.reference import load_cities

    shippers = facilities[facilities["role"] == "shipper"]
    cities = {a[:4] + "00" if not a.startswith("31") else "310000" for a in shippers["adcode"]}
    assert cities == set(load_cities()["city_code"])


def test_every_rule_has_an_article_and_a_severity() -> None:
    rules = reference.load("anomaly_rules")
    assert set(rules["anomaly"]) == set(RULES)
    assert set(load_rules().severities) == set(RULES)


@pytest.mark.parametrize("name, text, message", [
    ("facilities.csv",
     "facility_id,role,name,adcode,licence_no,licence_valid_from,licence_valid_to,licensed,"
     "annual_capacity_t,permit_no,vehicle_plates,demo\n"
     "X,operator,n,320506,,,,,,,,false\n", "line 2: role 'operator'"),
    ("facilities.csv",
     "facility_id,role,name,adcode,licence_no,licence_valid_from,licence_valid_to,licensed,"
     "annual_capacity_t,permit_no,vehicle_plates,demo\n"
     "R,receiver,n,320506,L,2026-01-01,2026-12-31,HW49;W8,100,,,false\n",
     "licensed 'HW49;W8' must list"),
    ("waste_codes.csv",
     "waste_code,category,name_zh,characteristics,editions,representative\n"
     "900-041-49,HW48,x,T,2021,true\n", "900-041-49 is not in category HW48"),
    ("approvals.csv",
     "approval_no,origin_province,dest_province,shipper_id,receiver_id,waste_codes,"
     "approved_tonnes,valid_from,valid_to,whitelist,demo\n"
     "A,320000,340000,S,R,HW49,ten,2026-01-01,2026-12-31,false,false\n",
     "approved_tonnes 'ten' is not a positive number"),
    ("whitelist.csv", "receiver_id,waste_class,valid_from,valid_to,demo\n"
                      "R,HW49,2026-13-01,2026-12-31,false\n", "valid_from '2026-13-01'"),
])
def test_a_bad_override_copy_is_refused_with_file_and_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str,
        message: str) -> None:
    override = tmp_path / "ref"
    (override / "hazwaste").mkdir(parents=True)
    (override / "hazwaste" / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("ENVMON_REFERENCE_DIR", str(override))
    with pytest.raises(ConfigError, match=message) as info:
        reference.load(name.removesuffix(".csv"))
    assert str(override / "hazwaste" / name) in str(info.value)

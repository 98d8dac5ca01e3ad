"""Cities, provinces and the region, from the reference registry.

Adcodes are keys (GB/T 2260): the first two digits are the province, the
next two the prefecture. Shanghai is one unit at both levels (310000).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from envmon.core.errors import ConfigError


@dataclass(frozen=True)
class Area:
    code: str
    level: str  # city, province, region
    name_en: str
    name_zh: str
    province_code: str | None  # None for the region
    cities: tuple[str, ...]  # the cities it is made of (a city: itself)

    @property
    def label(self) -> str:
        return f"{self.name_en} {self.name_zh}"


@dataclass(frozen=True)
class Areas:
    region: Area
    provinces: dict[str, Area]
    cities: dict[str, Area]

    def all(self) -> list[Area]:
        return [self.region, *self.provinces.values(), *self.cities.values()]

    def of_level(self, level: str) -> list[Area]:
        return {"region": [self.region], "province": list(self.provinces.values()),
                "city": list(self.cities.values())}[level]

    def get(self, code: str) -> Area:
        """The area with this code: the region's code, a province, or a city.

        Shanghai (310000) is asked for as a province.
        """
        if code == self.region.code:
            return self.region
        if code in self.provinces:
            return self.provinces[code]
        if code in self.cities:
            return self.cities[code]
        known = ", ".join([self.region.code, *self.provinces])
        raise ConfigError(f"unknown region {code!r}: use {known} or a city adcode")

    def children(self, area: Area) -> list[Area]:
        """The areas one level down: provinces of the region, cities of a province."""
        if area.level == "region":
            return list(self.provinces.values())
        if area.level == "province":
            return [self.cities[c] for c in area.cities]
        return []


def load_areas(region_code: str, name_en: str, name_zh: str) -> Areas:
    from envmon.core.reference import load_cities, load_provinces

    provinces_df = load_provinces()
    cities_df = load_cities().sort_values("city_code")
    cities = {
        r.city_code: Area(r.city_code, "city", r.name_en, r.name_zh, r.province_code,
                          (r.city_code,))
        for r in cities_df.itertuples(index=False)
    }
    provinces = {
        r.province_code: Area(
            r.province_code, "province", r.name_en, r.name_zh, r.province_code,
            tuple(c for c, a in cities.items() if a.province_code == r.province_code))
        for r in provinces_df.sort_values("province_code").itertuples(index=False)
    }
    region = Area(region_code, "region", name_en, name_zh, None, tuple(cities))
    return Areas(region, provinces, cities)


def in_area(codes: pd.Series, area: Area) -> pd.Series:
    """Which adcodes (city, district or province level) lie in `area`.

    A district (320506) is in its city (320500) by the first four digits;
    Shanghai's districts (3101xx) are in Shanghai (310000), a city that is
    also a province, by the first two.
    """
    codes = codes.astype("str")
    if area.level == "region":
        return pd.Series(True, index=codes.index)
    if area.level == "province" or area.code == area.province_code:
        return codes.str[:2] == area.code[:2]
    return codes.str[:4] == area.code[:4]

"""The air station registry joined to its cities and provinces."""

from __future__ import annotations

import pandas as pd


def station_places() -> pd.DataFrame:
    """station_code, city_code, province_code for every registered station."""
    from pipelines.core.reference import load_air_stations, load_cities

    cities = load_cities()[["city_code", "province_code"]]
    stations = load_air_stations()[["station_code", "city_code"]]
    return stations.merge(cities, on="city_code", how="left", validate="many_to_one")

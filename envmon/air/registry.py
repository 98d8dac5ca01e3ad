"""The air station registry joined to its cities and provinces."""

from __future__ import annotations

import pandas as pd


def station_places() -> pd.DataFrame:
    """station_code, city_code, province_code for every registered station."""
    from envmon.core.reference import load_air_stations, load_cities

    cities = load_cities()[["city_code", "province_code"]]
    stations = load_air_stations()[["station_code", "city_code"]]
    return stations.merge(cities, on="city_code", how="left", validate="many_to_one")


def city_assessment_stations() -> pd.DataFrame:
    """station_places without the stations the registry flags as 对照点 (reference_point).

    A city's value is the mean of its assessment (城市点) stations (HJ 663-2013
    section 5; HJ 664-2013 sets the kinds of points); a 对照点 is outside the
    city's assessment. The flag is the registry's (the published list's Y/N),
    so a bureau that reads it otherwise sets it in its own registry copy.
    """
    from envmon.core.reference import load_air_stations

    stations = load_air_stations()
    flagged = stations.loc[stations["reference_point"].fillna(False).astype(bool),
                           "station_code"]
    places = station_places()
    return places.loc[~places["station_code"].isin(flagged)].reset_index(drop=True)

"""Small air feed files written by hand, in the publishers' real layouts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

TYPES = ("AQI", "PM2.5", "PM2.5_24h", "PM10", "PM10_24h", "SO2", "SO2_24h", "NO2", "NO2_24h",
         "O3", "O3_24h", "O3_8h", "O3_8h_24h", "CO", "CO_24h")

# One plausible hour at a station: type -> value as the feed writes it.
BASE = {"AQI": "", "PM2.5": "40", "PM2.5_24h": "42", "PM10": "65", "PM10_24h": "70",
        "SO2": "8", "SO2_24h": "9", "NO2": "35", "NO2_24h": "33", "O3": "60", "O3_24h": "90",
        "O3_8h": "55", "O3_8h_24h": "70", "CO": "0.7", "CO_24h": "0.8"}


def china_sites_text(day: str, stations: list[str], hours=range(24),
                     override: dict | None = None) -> str:
    """A station archive file body; `override[(hour, type, station)]` sets one cell."""
    override = override or {}
    lines = ["date,hour,type," + ",".join(stations)]
    for hour in hours:
        for kind in TYPES:
            cells = [override.get((hour, kind, s), BASE[kind]) for s in stations]
            lines.append(f"{day},{hour},{kind}," + ",".join(cells))
    return "\n".join(lines) + "\n"


def write_china_sites(directory: Path, day: str, stations: list[str], **kwargs) -> Path:
    path = directory / f"china_sites_{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(china_sites_text(day, stations, **kwargs), encoding="utf-8")
    return path


# The CNEMC long archive as the publisher writes it: this header, in this
# order, lower case; one line per station and hour, stations in the order of
# their area; `primarypollutant` empty, one name, or several quoted and
# comma-separated; o3_24h left empty in the files of 2024 and later.
CNEMC_HEADER = ("timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,"
                "aqi,pm10,pm10_24h,pm2_5,pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,"
                "so2,so2_24h,co,co_24h")
# Registered demo stations (reference/air/stations.csv): what the archive
# writes after the timepoint, up to and including primarypollutant.
CNEMC_STATIONS = {
    "9001A": '9001A,121.5192,31.3178,上海市,示范站一,细颗粒物(PM2.5)',
    "9002A": '9002A,121.3829,31.2455,上海市,示范站二,"颗粒物(PM10),细颗粒物(PM2.5)"',
    "9016A": '9016A,118.8335,32.169,南京市,示范站七,',
}
# aqi .. co_24h of one plausible hour (PM2.5 44 scores 62 on the 2012 table).
CNEMC_VALUES = "62,72,70,44,42,60,,55,70,35,33,8,9,0.7,0.8"
# How the publisher has spelled `timepoint` (strftime): 2022 files, 2024 on.
SPELLING_2022 = "%Y-%m-%dT%H:%M:%S"
SPELLING_2024 = "%Y-%m-%dT%H%M"


def cnemc_archive_text(hours: Iterable[datetime], stations: Iterable[str] = tuple(CNEMC_STATIONS),
                       spelling: str = SPELLING_2024) -> str:
    """A long archive body: every station at every timepoint in `hours`, hour by hour."""
    stations = list(stations)
    lines = [CNEMC_HEADER]
    for hour in hours:
        stamp = hour.strftime(spelling)
        lines += [f"{stamp},{CNEMC_STATIONS[s]},{CNEMC_VALUES}" for s in stations]
    return "\n".join(lines) + "\n"


def write_cnemc_archive(path: Path, hours: Iterable[datetime], **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cnemc_archive_text(hours, **kwargs), encoding="utf-8")
    return path

"""Small station archive files written by hand, in the real layout."""

from __future__ import annotations

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

"""Hand-written station archive files that drive the air rules through an episode.

Shanghai (station 9001A) and Nanjing (9010A), October 2026, so HJ 633-2026
applies (PM2.5 24h breakpoints 0, 35, 60, 115, 150, 250, 350, 500 at IAQI
0, 50, 100, 150, 200, 300, 400, 500). Each natural day gets one constant
PM2.5 value: file D's hours 1-23 and file D+1's hour 0 (the hour ending at
midnight belongs to day D). Every other pollutant stays at the BASE values
of tests/support/feeds.py; the highest of them is PM10 65 µg/m³ -> IAQI
50 + 50/70 x 15 = 60.7 -> 61. Daily AQI = max IAQI:

    PM2.5  40 -> 50 + 50/25 x 5   = 60       -> AQI 61 (PM10)
    PM2.5 140 -> 150 + 50/35 x 25 = 185.7    -> AQI 186   (> 150)
    PM2.5 180 -> 200 + 100/100 x 30          -> AQI 230   (> 200)
    PM2.5 320 -> 300 + 100/100 x 70          -> AQI 370   (> 300)

    day        1    2    3    4    5
    Shanghai  61  230  230  370   61
    Nanjing  186  186  186   61   61
"""

from __future__ import annotations

from pathlib import Path

from envmon.air.ingest import ingest_files
from tests.support.feeds import write_china_sites

SHANGHAI, NANJING = "9001A", "9010A"
PM25 = {SHANGHAI: [40, 180, 180, 320, 40], NANJING: [140, 140, 140, 40, 40]}
AQI = {SHANGHAI: [61, 230, 230, 370, 61], NANJING: [186, 186, 186, 61, 61]}


def day_file(directory: Path, day: int, pm25: dict[str, list[int]] | None = None) -> Path:
    """china_sites_202610DD.csv for day 1..5."""
    pm25 = pm25 or PM25
    override = {}
    for station, values in pm25.items():
        today = values[day - 1]
        # hour 0 ends at midnight: it is the previous natural day's last hour
        yesterday = values[day - 2] if day > 1 else today
        override[(0, "PM2.5", station)] = str(yesterday)
        for hour in range(1, 24):
            override[(hour, "PM2.5", station)] = str(today)
    return write_china_sites(directory, f"202610{day:02d}", [SHANGHAI, NANJING],
                             override=override)


def load_days(directory: Path, days: list[int], pm25: dict[str, list[int]] | None = None):
    files = [day_file(directory, day, pm25) for day in days]
    records = ingest_files(files, "china-sites", data_docs=False)
    bad = [r.message for r in records if r.status not in ("ok", "incomplete", "duplicate")]
    assert not bad, bad
    return records

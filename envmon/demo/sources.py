"""The demo sources' generators, as config/sources.yaml names them (`generator:`).

Each is `generate(directory, at, seed) -> [written paths]` (envmon.core.sources):
the demo feed a real source would have delivered for that day or fetch time.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from envmon.core.timeutil import BEIJING


def air_day(directory: Path, day: date, seed: int) -> list[Path]:
    """The day's station archive file, china_sites_YYYYMMDD.csv."""
    from envmon.demo.air import generate_china_sites

    return generate_china_sites(directory, day, day, seed=seed)


def hazwaste_day(directory: Path, day: date, seed: int) -> list[Path]:
    """The day's manifest export, manifests_YYYYMMDD.json."""
    from envmon.demo.hazwaste import generate_exports

    return generate_exports(directory, day, day, seed=seed)


def water_release(directory: Path, at: datetime, seed: int) -> list[Path]:
    """The real-time release page a fetch at `at` gets."""
    from envmon.demo.water import write_snapshot

    return [write_snapshot(directory, at.astimezone(BEIJING), seed)]


def water_lab(directory: Path, at: datetime, seed: int) -> list[Path]:
    """The laboratory file of `at`'s month."""
    from envmon.demo.water import write_lab_month

    at = at.astimezone(BEIJING)
    return [write_lab_month(directory, at.year, at.month, seed)]

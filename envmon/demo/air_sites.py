"""The air demo's keyed randomness, its stations and its hour axis.

Every random number of the air demo feed (envmon.demo.air) is a hash of
(seed, stream, keys) computed here, not a draw from a stateful generator, so
a value does not depend on which window was requested. The stream numbers
of every independent random quantity live together here so they stay
distinct. `Sites` holds the generated stations as arrays in output column
order, `Clock` the hours of a run including its warm-up day; both the
physical model (envmon.demo.air_model) and the feed writer read them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

# The region's centre: the model's gradients are zero here, and a station
# without coordinates is put here.
CENTRE_LAT, CENTRE_LON = 31.5, 119.5

# Hash streams: one per independent random quantity.
(
    S_REGION,
    S_CITY,
    S_CITY_STATIC,
    S_STATION_STATIC,
    S_NOISE,
    S_SUN_REGION,
    S_SUN_CITY,
    S_EPISODE,
    S_OUTAGE,
    S_CELL,
    S_ABSENT,
) = range(1, 12)


# --- deterministic hashing ------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wraps modulo 2**64 by design)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def keyed_hash(seed: int, stream: int, *keys: np.ndarray | int) -> np.ndarray:
    """A well-mixed uint64 per broadcast combination of keys."""
    start = np.array([seed & 0xFFFFFFFFFFFFFFFF, stream], dtype=np.uint64)
    h = _mix(start[:1] ^ _mix(start[1:] + _GOLDEN))
    for key in keys:
        k = np.asarray(key).astype(np.uint64)
        if k.ndim == 0:
            k = k.reshape(1)  # 0-d arrays would take numpy's warning scalar path
        h = _mix((h ^ k) + _GOLDEN)
    return h


def keyed_uniform(seed: int, stream: int, *keys: np.ndarray | int) -> np.ndarray:
    """Uniform in (0, 1), 53 random bits."""
    return ((keyed_hash(seed, stream, *keys) >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def keyed_normal(seed: int, stream: int, *keys: np.ndarray | int) -> np.ndarray:
    """Standard normal (Box-Muller on two independent uniforms)."""
    u1 = keyed_uniform(seed, stream, *keys, 0)
    u2 = keyed_uniform(seed, stream, *keys, 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _code_key(codes: np.ndarray) -> np.ndarray:
    return np.array([zlib.crc32(str(code).encode()) for code in codes], dtype=np.uint64)


# --- stations and time axis ------------------------------------------------------


@dataclass(frozen=True)
class Sites:
    codes: np.ndarray  # station codes (str), output column order
    station_key: np.ndarray  # uint64 hash keys
    city_key: np.ndarray  # per station, key of its city
    city_index: np.ndarray  # per station, index into city_keys
    city_keys: np.ndarray  # unique city keys
    lat: np.ndarray
    lon: np.ndarray
    capital: np.ndarray  # provincial capital or Shanghai: more traffic NO2

    @property
    def n(self) -> int:
        return len(self.codes)

    @classmethod
    def from_frame(cls, stations: pd.DataFrame) -> Sites:
        missing = {"station_code", "city_code", "longitude", "latitude"} - set(stations.columns)
        if missing:
            raise ValueError(f"stations frame lacks column(s): {', '.join(sorted(missing))}")
        if stations.empty:
            raise ValueError("no stations to generate")
        duplicated = stations["station_code"].astype(str).duplicated()
        if duplicated.any():
            code = stations["station_code"].astype(str)[duplicated].iloc[0]
            raise ValueError(f"duplicate station_code {code!r} in stations frame")
        codes = stations["station_code"].astype(str).to_numpy()
        cities = stations["city_code"].astype(str).to_numpy()
        city_key = _code_key(cities)
        city_keys, city_index = np.unique(city_key, return_inverse=True)
        lat = pd.to_numeric(stations["latitude"], errors="coerce").fillna(CENTRE_LAT)
        lon = pd.to_numeric(stations["longitude"], errors="coerce").fillna(CENTRE_LON)
        # GB/T 2260: a province's capital has the xx01xx code; 310000 is Shanghai.
        capital = np.array([c[2:4] in ("00", "01") for c in cities])
        return cls(
            codes=np.array(codes, dtype=object),
            station_key=_code_key(codes),
            city_key=city_key,
            city_index=city_index,
            city_keys=city_keys,
            lat=lat.to_numpy(dtype=float),
            lon=lon.to_numpy(dtype=float),
            capital=capital,
        )


@dataclass(frozen=True)
class Clock:
    """Hours from 00:00 of the day before `start` to 23:00 of `end` (Beijing time)."""

    first_day: date
    out_days: list[date]

    @classmethod
    def covering(cls, start: date, end: date) -> Clock:
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        return cls(first_day=start - timedelta(days=1), out_days=days)

    @property
    def n_days(self) -> int:
        return len(self.out_days) + 1  # including the warm-up day

    @property
    def n_hours(self) -> int:
        return 24 * self.n_days

    @property
    def day_ordinals(self) -> np.ndarray:
        return self.first_day.toordinal() + np.arange(self.n_days)

    @property
    def hour_ordinals(self) -> np.ndarray:
        """Absolute hour numbers (24 * day ordinal + hour): keys for hourly noise."""
        return 24 * self.first_day.toordinal() + np.arange(self.n_hours)

    @property
    def hour_of_day(self) -> np.ndarray:
        return np.arange(self.n_hours) % 24

    @property
    def day_of_year(self) -> np.ndarray:
        """Fractional day of year of each hour (leap days shift by < 1 day; harmless)."""
        ordinal = self.hour_ordinals / 24.0
        jan1 = np.array([date(date.fromordinal(int(o)).year, 1, 1).toordinal() for o in ordinal])
        return ordinal - jan1

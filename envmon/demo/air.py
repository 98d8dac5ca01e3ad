"""Demo feed: synthetic station archive files in the real `china_sites_YYYYMMDD.csv` format.

The files are written for the demo stations (reference/air/demo_stations.csv), so
the whole pipeline (landing, parser, quarantine, AQI, reports, alerts) can run
without the real national feed. The values are synthetic but plausible for
the Yangtze River Delta: seasonal and diurnal cycles, a north-south gradient,
regional and city weather that make cities co-vary, winter pollution
episodes, photochemical ozone, and the imperfections of the real feed
(missing cells, station outages, a station absent from some files, malformed
cells).

Every random number is a hash of (seed, stream, station or city code, date or
hour), not a draw from a stateful generator, so a station's value at a given
hour does not depend on which window was requested: generating January in one
call or day by day gives identical files. Same arguments, same bytes.

File layout (DOMAIN.md section 2): header `date,hour,type,<code>,...`, one row
per (hour 0-23, type) with the 15 types in feed order; µg/m³ integers, CO
mg/m³ with at most 3 decimals; an empty cell is missing. `_24h` rows are
24-hour moving averages ending at the row's hour, O3_24h the day's running
maximum 1-hour value, O3_8h the 8-hour moving average, O3_8h_24h the day's
running maximum 8-hour average. The AQI row imitates the feed's own hourly
AQI (HJ 633 hourly method, approximate); envmon recomputes it.
"""

from __future__ import annotations

import csv
import os
import uuid
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from envmon.air import standards
from envmon.air.sources.china_sites import TYPES as FEED_TYPES
from envmon.core.reference import load_air_stations

# The feed's 15 types in the order the real files list them.
TYPES: tuple[str, ...] = tuple(FEED_TYPES)
FILE_PATTERN = "china_sites_{:%Y%m%d}.csv"
DEFAULT_SEED = 2026

# --- tuning parameters (not facts: chosen so the output looks like YRD data) ---

# PM2.5 (µg/m³): geometric mid-level at the region's centre, seasonal log
# amplitude (mid-January 22·e^0.6 ≈ 40, mid-July ≈ 12; weather noise adds ~10%
# and winter episodes more, giving regional monthly means of about 57 in
# January, 45 in October, 23 in April and 15 in July), and
# log gradients per degree: dirtier to the north (Anhui/north Jiangsu), cleaner
# towards the coast.
PM25_MID = 22.0
PM25_SEASON_AMP = 0.6
LAT_GRADIENT = 0.09
LON_GRADIENT = -0.05
CENTRE_LAT, CENTRE_LON = 31.5, 119.5

# Weather: daily AR(1) "stagnation" factors (unit variance) for the region and
# for each city, scaled in log space; station-hour noise on top.
REGION_PHI, CITY_PHI = 0.7, 0.5
REGION_SIGMA, CITY_SIGMA, STATION_SIGMA = 0.3, 0.25, 0.14
AR_MEMORY_DAYS = 30  # phi**30 is negligible: the truncated sum equals the AR(1) process

# Winter episodes (Oct-Feb): the first starts 2-12 days into October, each
# next one 18-28 days after the previous, so every 30-day window of the season
# holds a whole one; the plateau lasts 1-2 days with the region's centre lifted
# to a daily PM2.5 of 115-170 µg/m³ (AQI 150-220; more to the north, less south).
EPISODE_FIRST_DAYS = (2, 13)
EPISODE_GAP_DAYS = (18, 29)
EPISODE_PLATEAU_DAYS = (1, 3)
EPISODE_LEVEL = (115.0, 170.0)
EPISODE_RISE_H, EPISODE_FALL_H = 24, 12  # builds slowly, a cold front clears it fast
# Above this hourly PM2.5 the excess is halved in log space, so the tails of
# the multiplicative model stay within observed YRD extremes (~500 µg/m³).
PM25_SOFT_CAP = 250.0

# Ozone (µg/m³): night background titrated by NO2, afternoon photochemical
# peak scaled by season (June max, a September bump, a Meiyu dip in early July).
O3_BACKGROUND = 45.0
O3_PRODUCTION = 140.0
O3_TITRATION_NO2 = 90.0
O3_PEAK_HOUR, O3_PEAK_WIDTH = 15.0, 3.3

NO2_MID, SO2_MID, CO_MID = 27.0, 8.0, 0.7  # CO in mg/m³

# Feed imperfections.
MISSING_CELL_RATE = 0.01
MALFORMED_CELL_RATE = 1 / 2000
OUTAGE_RATE = 0.02  # per station-day: an outage of 1-6 whole station-hours
OUTAGE_MAX_HOURS = 6
ABSENT_EVERY_DAYS = 11  # one station's column is dropped from every 11th file
MALFORMED_TOKENS = ("—", "NA ", "1,2")  # plus a negative number

# Hash streams: one per independent random quantity.
(
    _S_REGION,
    _S_CITY,
    _S_CITY_STATIC,
    _S_STATION_STATIC,
    _S_NOISE,
    _S_SUN_REGION,
    _S_SUN_CITY,
    _S_EPISODE,
    _S_OUTAGE,
    _S_CELL,
    _S_ABSENT,
) = range(1, 12)

# HJ 633 tables scoring the feed-style AQI row (hourly report: PM on the 24h
# table, the others on their 1h tables); the numbers live in reference/standards.
_AQI_TABLES = {
    "pm25": "pm25_24h",
    "pm10": "pm10_24h",
    "so2": "so2_1h",
    "no2": "no2_1h",
    "co": "co_1h",
    "o3": "o3_1h",
}


# --- public API ---------------------------------------------------------------


def demo_stations() -> pd.DataFrame:
    """The demo entries of the air station registry (demo == true)."""
    stations = load_air_stations()
    return stations.loc[stations["demo"]].reset_index(drop=True)


def generate_china_sites(
    out_dir: Path,
    start: date,
    end: date,
    seed: int = DEFAULT_SEED,
    stations: pd.DataFrame | None = None,
) -> list[Path]:
    """Write one `china_sites_YYYYMMDD.csv` per day from `start` to `end` inclusive.

    `stations` needs station_code, city_code, longitude and latitude (default:
    the demo stations of the registry). Returns the written paths in date order.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    sites = _Sites.from_frame(demo_stations() if stations is None else stations)
    clock = _Clock.covering(start, end)
    hourly = _simulate(sites, clock, seed)
    cells = _format_cells(_derive_rows(hourly, clock))
    _inject_defects(cells, sites, clock, seed)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    absent = _absent_station(sites, seed)
    paths = []
    for index, day in enumerate(clock.out_days):
        keep = np.ones(sites.n, dtype=bool)
        if _station_absent_on(day, seed):
            keep[absent] = False
        path = out_dir / FILE_PATTERN.format(day)
        _write_day(path, day, sites.codes[keep], cells[index][:, :, keep])
        paths.append(path)
    return paths


# --- deterministic hashing ------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wraps modulo 2**64 by design)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash(seed: int, stream: int, *keys: np.ndarray | int) -> np.ndarray:
    """A well-mixed uint64 per broadcast combination of keys."""
    start = np.array([seed & 0xFFFFFFFFFFFFFFFF, stream], dtype=np.uint64)
    h = _mix(start[:1] ^ _mix(start[1:] + _GOLDEN))
    for key in keys:
        k = np.asarray(key).astype(np.uint64)
        if k.ndim == 0:
            k = k.reshape(1)  # 0-d arrays would take numpy's warning scalar path
        h = _mix((h ^ k) + _GOLDEN)
    return h


def _uniform(seed: int, stream: int, *keys: np.ndarray | int) -> np.ndarray:
    """Uniform in (0, 1), 53 random bits."""
    return ((_hash(seed, stream, *keys) >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _normal(seed: int, stream: int, *keys: np.ndarray | int) -> np.ndarray:
    """Standard normal (Box-Muller on two independent uniforms)."""
    u1 = _uniform(seed, stream, *keys, 0)
    u2 = _uniform(seed, stream, *keys, 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _code_key(codes: np.ndarray) -> np.ndarray:
    return np.array([zlib.crc32(str(code).encode()) for code in codes], dtype=np.uint64)


# --- stations and time axis ------------------------------------------------------


@dataclass(frozen=True)
class _Sites:
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
    def from_frame(cls, stations: pd.DataFrame) -> _Sites:
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
class _Clock:
    """Hours from 00:00 of the day before `start` to 23:00 of `end` (Beijing time)."""

    first_day: date
    out_days: list[date]

    @classmethod
    def covering(cls, start: date, end: date) -> _Clock:
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


# --- the physical model -----------------------------------------------------------


def _daily_ar1(seed: int, stream: int, keys: np.ndarray, clock: _Clock, phi: float) -> np.ndarray:
    """Unit-variance AR(1) per key by day, as its moving-average form over AR_MEMORY_DAYS.

    Returns shape (n_days + 2, n_keys) for days first_day-1 .. last_day+1, so
    hourly interpolation has neighbours on both sides.
    """
    days = np.arange(clock.day_ordinals[0] - AR_MEMORY_DAYS, clock.day_ordinals[-1] + 2)
    shocks = _normal(seed, stream, days[:, None], keys[None, :])
    out = np.zeros((clock.n_days + 2, len(keys)))
    for lag in range(AR_MEMORY_DAYS):
        begin = AR_MEMORY_DAYS - 1 - lag  # shocks row of day (first_day - 1 - lag)
        out += phi**lag * shocks[begin : begin + clock.n_days + 2]
    return out * np.sqrt(1.0 - phi**2)


def _to_hourly(daily: np.ndarray, clock: _Clock) -> np.ndarray:
    """Linear interpolation of daily values (placed at noon) to every hour."""
    position = (np.arange(clock.n_hours) - 12.0) / 24.0 + 1.0  # row 0 of daily is day -1
    below = np.floor(position).astype(int)
    weight = (position - below)[:, None]
    return (1.0 - weight) * daily[below] + weight * daily[below + 1]


def _station_noise(seed: int, stream: int, sites: _Sites, clock: _Clock) -> np.ndarray:
    """Station-hour noise with a few hours of memory (truncated AR(1), phi 0.6)."""
    memory, phi = 6, 0.6
    hours = np.arange(clock.hour_ordinals[0] - memory + 1, clock.hour_ordinals[-1] + 1)
    shocks = _normal(seed, _S_NOISE, stream, hours[:, None], sites.station_key[None, :])
    out = np.zeros((clock.n_hours, sites.n))
    for lag in range(memory):
        out += phi**lag * shocks[memory - 1 - lag : memory - 1 - lag + clock.n_hours]
    return out * np.sqrt((1.0 - phi**2) / (1.0 - phi ** (2 * memory)))


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Gaussian bump on the 24-hour circle."""
    distance = (hour - centre + 12.0) % 24.0 - 12.0
    return np.exp(-((distance / width) ** 2))


def _log_diurnal(hour: np.ndarray, terms: list[tuple[float, float, float]]) -> np.ndarray:
    """Sum of (amplitude, centre, width) bumps in log space, centred to mean 0 over a day."""
    curve = sum(a * _bump(hour, c, w) for a, c, w in terms)
    day = np.arange(24)
    mean = sum(a * _bump(day, c, w) for a, c, w in terms).mean()
    return curve - mean


def _season(day_of_year: np.ndarray, peak_day: float) -> np.ndarray:
    return np.cos(2.0 * np.pi * (day_of_year - peak_day) / 365.25)


def _episode_schedule(seed: int, season_year: int) -> list[tuple[int, int, float]]:
    """Winter episodes of the Oct(season_year)-Feb season: (start ordinal, plateau days, level)."""
    season_end = date(season_year + 1, 3, 1).toordinal()
    start = date(season_year, 10, 1).toordinal()
    start += int(_pick(seed, season_year, 0, *EPISODE_FIRST_DAYS))
    episodes = []
    k = 0
    while start <= season_end - EPISODE_PLATEAU_DAYS[0]:
        plateau = int(_pick(seed, season_year, 3 * k + 1, *EPISODE_PLATEAU_DAYS))
        level = EPISODE_LEVEL[0] + (EPISODE_LEVEL[1] - EPISODE_LEVEL[0]) * float(
            _uniform(seed, _S_EPISODE, season_year, 3 * k + 2)[0]
        )
        episodes.append((start, plateau, level))
        k += 1
        start += int(_pick(seed, season_year, 3 * k, *EPISODE_GAP_DAYS))
    return episodes


def _pick(seed: int, season_year: int, index: int, low: int, high: int) -> int:
    """Integer in [low, high) for episode scheduling."""
    return low + int(_uniform(seed, _S_EPISODE, season_year, index)[0] * (high - low))


def _episode_shape(seed: int, clock: _Clock) -> tuple[np.ndarray, np.ndarray]:
    """Per hour: episode weight in [0, 1] and the log target level it pulls the region to."""
    hours = clock.hour_ordinals.astype(float)
    weight = np.zeros(clock.n_hours)
    target = np.zeros(clock.n_hours)
    first_year = clock.first_day.year - 1
    for season_year in range(first_year, clock.out_days[-1].year + 1):
        for start, plateau, level in _episode_schedule(seed, season_year):
            begin = 24.0 * start
            finish = begin + 24.0 * plateau
            rise = np.clip((hours - (begin - EPISODE_RISE_H)) / EPISODE_RISE_H, 0.0, 1.0)
            fall = np.clip((finish + EPISODE_FALL_H - hours) / EPISODE_FALL_H, 0.0, 1.0)
            shape = np.minimum(rise, fall)
            shape = shape * shape * (3.0 - 2.0 * shape)  # smoothstep: no kinks
            stronger = shape > weight
            weight = np.where(stronger, shape, weight)
            target = np.where(stronger, np.log(level), target)
    return weight, target


@dataclass(frozen=True)
class _Weather:
    """Shared drivers of one run, arrays shaped (n_hours, n_stations) or broadcastable."""

    seed: int
    sites: _Sites
    clock: _Clock
    doy: np.ndarray  # (hours, 1) fractional day of year
    hour: np.ndarray  # (hours, 1) hour of day
    regional: np.ndarray  # (hours, 1) log PM2.5 level of the region's centre
    city: np.ndarray  # city AR(1) factor, unit variance
    episode: np.ndarray  # (hours, 1) log lift of winter episodes
    episode_weight: np.ndarray  # (hours, 1) in [0, 1]
    stagnation: np.ndarray  # weather anomaly (log units) shared by primary pollutants
    city_static: np.ndarray  # (1, stations) persistent city offset, unit normal
    station_static: np.ndarray  # (1, stations) persistent station offset, unit normal

    def noise(self, stream: int) -> np.ndarray:
        return _station_noise(self.seed, stream, self.sites, self.clock)

    @classmethod
    def build(cls, sites: _Sites, clock: _Clock, seed: int) -> _Weather:
        doy = clock.day_of_year[:, None]
        region = _to_hourly(_daily_ar1(seed, _S_REGION, np.array([0]), clock, REGION_PHI), clock)
        city = _to_hourly(_daily_ar1(seed, _S_CITY, sites.city_keys, clock, CITY_PHI), clock)
        city = city[:, sites.city_index]
        regional = np.log(PM25_MID) + PM25_SEASON_AMP * _season(doy, 15.0) + REGION_SIGMA * region
        # An episode pulls the region's level up to the episode's target level.
        weight, target = _episode_shape(seed, clock)
        episode = weight[:, None] * np.maximum(0.0, target[:, None] - regional)
        return cls(
            seed=seed,
            sites=sites,
            clock=clock,
            doy=doy,
            hour=clock.hour_of_day[:, None].astype(float),
            regional=regional,
            city=city,
            episode=episode,
            episode_weight=weight[:, None],
            stagnation=REGION_SIGMA * region + CITY_SIGMA * city + episode,
            city_static=_normal(seed, _S_CITY_STATIC, sites.city_key)[None, :],
            station_static=_normal(seed, _S_STATION_STATIC, sites.station_key)[None, :],
        )


def _simulate(sites: _Sites, clock: _Clock, seed: int) -> dict[str, np.ndarray]:
    """Hourly concentrations, shape (n_hours, n_stations), rounded as the feed publishes."""
    weather = _Weather.build(sites, clock, seed)
    pm25, pm10 = _particles(weather)
    no2 = _no2(weather)
    return {
        "pm25": pm25,
        "pm10": pm10,
        "so2": _so2(weather),
        "no2": no2,
        "o3": _ozone(weather, no2),
        "co": _co(weather),
    }


def _particles(w: _Weather) -> tuple[np.ndarray, np.ndarray]:
    """PM2.5 and PM10 (µg/m³, integers)."""
    place = LAT_GRADIENT * (w.sites.lat - CENTRE_LAT) + LON_GRADIENT * (w.sites.lon - CENTRE_LON)
    log_pm25 = (
        w.regional
        + w.episode
        + CITY_SIGMA * w.city
        + place[None, :]
        + 0.10 * w.city_static
        + 0.08 * w.station_static
        # morning and evening peaks, an afternoon low (deeper mixing layer)
        + _log_diurnal(w.hour, [(0.18, 8.5, 2.0), (0.30, 21.0, 3.0), (-0.12, 15.0, 2.5)])
        + STATION_SIGMA * w.noise(1)
    )
    cap = np.log(PM25_SOFT_CAP)
    log_pm25 = np.where(log_pm25 > cap, cap + 0.5 * (log_pm25 - cap), log_pm25)
    pm25 = np.maximum(np.rint(np.exp(log_pm25)), 2.0)

    # PM10/PM2.5: coarser in the spring dust season and to the north, finer in
    # episodes (secondary aerosol).
    ratio = (
        1.55
        + 0.03 * (w.sites.lat[None, :] - CENTRE_LAT)
        + 0.12 * np.exp(-(((w.doy - 95.0) / 30.0) ** 2))
        - 0.15 * w.episode_weight
        + 0.05 * w.station_static
        + 0.04 * w.noise(2)
    )
    pm10 = np.maximum(np.rint(pm25 * np.clip(ratio, 1.3, 1.85)), pm25)
    return pm25, pm10


def _traffic(hour: np.ndarray) -> np.ndarray:
    """Rush-hour peaks and the photolysis/mixing afternoon low of combustion gases."""
    return _log_diurnal(hour, [(0.30, 8.0, 1.5), (0.35, 19.5, 2.5), (-0.30, 14.0, 2.5)])


def _no2(w: _Weather) -> np.ndarray:
    capital = w.sites.capital[None, :].astype(float)
    log_no2 = (
        0.25 * _season(w.doy, 15.0)
        + 0.18 * capital
        + 0.12 * w.city_static
        + 0.15 * w.station_static
        + 0.6 * w.stagnation
        + _traffic(w.hour)
        + 0.2 * w.noise(3)
    )
    return np.maximum(np.rint(NO2_MID * np.exp(log_no2)), 2.0)


def _so2(w: _Weather) -> np.ndarray:
    log_so2 = (
        0.2 * _season(w.doy, 15.0)
        + 0.25 * w.city_static
        + 0.4 * w.stagnation
        + _log_diurnal(w.hour, [(0.15, 11.0, 2.5)])  # stack plumes mixed down late morning
        + 0.2 * w.noise(4)
    )
    return np.maximum(np.rint(SO2_MID * np.exp(log_so2)), 2.0)


def _co(w: _Weather) -> np.ndarray:
    """CO in mg/m³, 3 decimals."""
    log_co = (
        0.2 * _season(w.doy, 15.0)
        + 0.12 * w.city_static
        + 0.5 * w.stagnation
        + 0.6 * _traffic(w.hour)
        + 0.1 * w.noise(5)
    )
    return np.maximum(np.round(CO_MID * np.exp(log_co), 3), 0.1)


def _ozone(w: _Weather, no2: np.ndarray) -> np.ndarray:
    """Titrated background plus an afternoon photochemical peak driven by sunny weather."""
    sun_region = _to_hourly(_daily_ar1(w.seed, _S_SUN_REGION, np.array([0]), w.clock, 0.6), w.clock)
    sun_city = _to_hourly(_daily_ar1(w.seed, _S_SUN_CITY, w.sites.city_keys, w.clock, 0.5), w.clock)
    season = (
        0.25
        + 0.75 * (0.5 + 0.5 * _season(w.doy, 165.0))
        + 0.3 * np.exp(-(((w.doy - 255.0) / 30.0) ** 2))  # September photochemistry
        - 0.25 * np.exp(-(((w.doy - 185.0) / 15.0) ** 2))  # Meiyu clouds and rain
    )
    production = (
        O3_PRODUCTION
        * season
        * np.exp(0.3 * sun_region + 0.12 * sun_city[:, w.sites.city_index] + 0.05 * w.city_static)
    )
    # NO titration: where NO2 is high (nights, rush hours) the background is eaten.
    background = (O3_BACKGROUND + 12.0 * _season(w.doy, 120.0)) * np.exp(
        -no2 / O3_TITRATION_NO2 + 0.1 * w.noise(7)
    )
    peak = _bump(w.hour, O3_PEAK_HOUR, O3_PEAK_WIDTH)
    o3 = background + production * peak * np.exp(0.12 * w.noise(6))
    return np.maximum(np.rint(o3), 2.0)


# --- feed rows ----------------------------------------------------------------------


def _moving_mean(values: np.ndarray, window: int, scale: float = 1.0) -> np.ndarray:
    """Mean of the `window` hours ending at each hour (NaN until enough history).

    Summed as integers (values * scale), so the result does not depend on
    where the window starts: float cumulative sums would, by a rounding hair.
    """
    units = np.rint(values * scale).astype(np.int64)
    cumulative = np.vstack([np.zeros((1, values.shape[1]), np.int64), np.cumsum(units, axis=0)])
    out = np.full(values.shape, np.nan)
    out[window - 1 :] = (cumulative[window:] - cumulative[:-window]) / (window * scale)
    return out


def _running_daily_max(values: np.ndarray) -> np.ndarray:
    """Maximum so far within each day (rows are whole days of 24 hours)."""
    days = values.reshape(-1, 24, values.shape[1])
    return np.maximum.accumulate(days, axis=1).reshape(values.shape)


def _derive_rows(hourly: dict[str, np.ndarray], clock: _Clock) -> np.ndarray:
    """All 15 type rows, shape (n_out_days, 24, 15, n_stations), warm-up day dropped."""
    o3_8h = np.rint(_moving_mean(hourly["o3"], 8))
    rows = {
        "PM2.5": hourly["pm25"],
        "PM2.5_24h": np.rint(_moving_mean(hourly["pm25"], 24)),
        "PM10": hourly["pm10"],
        "PM10_24h": np.rint(_moving_mean(hourly["pm10"], 24)),
        "SO2": hourly["so2"],
        "SO2_24h": np.rint(_moving_mean(hourly["so2"], 24)),
        "NO2": hourly["no2"],
        "NO2_24h": np.rint(_moving_mean(hourly["no2"], 24)),
        "O3": hourly["o3"],
        "O3_24h": _running_daily_max(hourly["o3"]),
        "O3_8h": o3_8h,
        "O3_8h_24h": _running_daily_max(np.nan_to_num(o3_8h, nan=0.0)),
        "CO": hourly["co"],
        "CO_24h": np.round(_moving_mean(hourly["co"], 24, scale=1000.0), 3),
    }
    rows["AQI"] = _feed_aqi(hourly, clock)
    stacked = np.stack([rows[name] for name in TYPES], axis=1)  # (hours, 15, stations)
    return stacked[24:].reshape(len(clock.out_days), 24, len(TYPES), -1)


def _feed_aqi(hourly: dict[str, np.ndarray], clock: _Clock) -> np.ndarray:
    """Approximate hourly AQI as the feed publishes it (HJ 633 hourly method, max IAQI).

    No GB/T 8170 rounding, no missing-indicator rules: the feed's own number,
    which envmon recomputes and compares.
    """
    days = [clock.first_day + timedelta(days=i) for i in range(clock.n_days)]
    versions = np.repeat(standards.aqi_version_for(days), 24)
    aqi = np.zeros(hourly["pm25"].shape)
    for version in sorted({str(v) for v in versions if v is not None}):
        rows = versions == version
        for pollutant, table in _AQI_TABLES.items():
            conc, levels = standards.breakpoints(version, table)
            # above the table's top np.interp holds the top level: fine for a feed value
            iaqi = np.ceil(np.interp(hourly[pollutant][rows], conc, levels) - 1e-9)
            aqi[rows] = np.maximum(aqi[rows], iaqi)
    return aqi


def _format_cells(values: np.ndarray) -> np.ndarray:
    """Cell text: integers, CO with up to 3 decimals (trailing zeros dropped)."""
    cells = np.full(values.shape, "", dtype=object)
    co_rows = np.zeros(len(TYPES), dtype=bool)
    co_rows[[TYPES.index("CO"), TYPES.index("CO_24h")]] = True
    present = ~np.isnan(values)
    integer = present & ~co_rows[None, None, :, None]
    decimal = present & co_rows[None, None, :, None]
    cells[integer] = values[integer].astype(np.int64).astype(str)
    milli = np.rint(values[decimal] * 1000).astype(np.int64)
    whole = np.char.add((milli // 1000).astype(str), ".")
    text = np.char.add(whole, np.char.zfill((milli % 1000).astype(str), 3))
    cells[decimal] = np.char.rstrip(np.char.rstrip(text, "0"), ".")
    return cells


def _inject_defects(cells: np.ndarray, sites: _Sites, clock: _Clock, seed: int) -> None:
    """Blank cells, station-hour outages and malformed text, in place, keyed by date."""
    days = clock.day_ordinals[1:]
    hours = (24 * days[:, None] + np.arange(24)[None, :])[:, :, None, None]
    types = np.arange(len(TYPES))[None, None, :, None]
    stations = sites.station_key[None, None, None, :]

    u = _uniform(seed, _S_CELL, hours, types, stations)
    cells[u < MISSING_CELL_RATE] = ""

    # Outages: a run of whole station-hours (all 15 rows) per affected station-day.
    day_keys = days[:, None]
    down = _uniform(seed, _S_OUTAGE, day_keys, sites.station_key[None, :], 0) < OUTAGE_RATE
    first = (_uniform(seed, _S_OUTAGE, day_keys, sites.station_key[None, :], 1) * 24).astype(int)
    length = 1 + (
        _uniform(seed, _S_OUTAGE, day_keys, sites.station_key[None, :], 2) * OUTAGE_MAX_HOURS
    ).astype(int)
    hour = np.arange(24)[None, :, None]
    out = down[:, None, :] & (hour >= first[:, None, :]) & (hour < (first + length)[:, None, :])
    cells.transpose(0, 1, 3, 2)[out] = ""  # a view: writes through to `cells`

    # Malformed cells: a rare, seeded subset of the cells that still hold a value.
    bad = (u > 1.0 - MALFORMED_CELL_RATE) & (cells != "")
    kinds = len(MALFORMED_TOKENS) + 1  # the tokens, then a negated value
    choice = (_uniform(seed, _S_CELL, hours, types, stations, 7) * kinds).astype(int)
    for index, token in enumerate(MALFORMED_TOKENS):
        cells[bad & (choice == index)] = token
    negative = bad & (choice == len(MALFORMED_TOKENS))
    cells[negative] = np.char.add("-", cells[negative].astype(str)).astype(object)


def _absent_station(sites: _Sites, seed: int) -> int:
    """The station that drops out of some files: the lowest hash among the stations."""
    return int(np.argmin(_hash(seed, _S_ABSENT, sites.station_key)))


def _station_absent_on(day: date, seed: int) -> bool:
    offset = int(_hash(seed, _S_ABSENT, 0)[0] % np.uint64(ABSENT_EVERY_DAYS))
    return (day.toordinal() + offset) % ABSENT_EVERY_DAYS == 0


# --- writing -------------------------------------------------------------------------


def _write_day(path: Path, day: date, codes: np.ndarray, cells: np.ndarray) -> None:
    """Write one day's file atomically: a temporary file in the same directory, renamed."""
    stamp = f"{day:%Y%m%d}"
    body = cells.reshape(24 * len(TYPES), len(codes)).tolist()
    labels = [(str(h), t) for h in range(24) for t in TYPES]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["date", "hour", "type", *codes])
            writer.writerows(
                [stamp, hour, kind, *row] for (hour, kind), row in zip(labels, body, strict=True)
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

"""The air demo's physical model: hourly concentrations of the six pollutants.

Synthetic but plausible values for the Yangtze River Delta: seasonal and
diurnal cycles, a north-south gradient, regional and city weather (daily
AR(1) factors) that make cities co-vary, winter pollution episodes and
photochemical ozone, rounded as the feed publishes them. `simulate` is the
entry point; envmon.demo.air turns its output into the feed's rows and files.
The constants below are tuning parameters, not facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from envmon.demo.air_sites import (
    CENTRE_LAT,
    CENTRE_LON,
    S_CITY,
    S_CITY_STATIC,
    S_EPISODE,
    S_NOISE,
    S_REGION,
    S_STATION_STATIC,
    S_SUN_CITY,
    S_SUN_REGION,
    Clock,
    Sites,
    keyed_normal,
    keyed_uniform,
)

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


# --- the physical model -----------------------------------------------------------


def _daily_ar1(seed: int, stream: int, keys: np.ndarray, clock: Clock, phi: float) -> np.ndarray:
    """Unit-variance AR(1) per key by day, as its moving-average form over AR_MEMORY_DAYS.

    Returns shape (n_days + 2, n_keys) for days first_day-1 .. last_day+1, so
    hourly interpolation has neighbours on both sides.
    """
    days = np.arange(clock.day_ordinals[0] - AR_MEMORY_DAYS, clock.day_ordinals[-1] + 2)
    shocks = keyed_normal(seed, stream, days[:, None], keys[None, :])
    out = np.zeros((clock.n_days + 2, len(keys)))
    for lag in range(AR_MEMORY_DAYS):
        begin = AR_MEMORY_DAYS - 1 - lag  # shocks row of day (first_day - 1 - lag)
        out += phi**lag * shocks[begin : begin + clock.n_days + 2]
    return out * np.sqrt(1.0 - phi**2)


def _to_hourly(daily: np.ndarray, clock: Clock) -> np.ndarray:
    """Linear interpolation of daily values (placed at noon) to every hour."""
    position = (np.arange(clock.n_hours) - 12.0) / 24.0 + 1.0  # row 0 of daily is day -1
    below = np.floor(position).astype(int)
    weight = (position - below)[:, None]
    return (1.0 - weight) * daily[below] + weight * daily[below + 1]


def _station_noise(seed: int, stream: int, sites: Sites, clock: Clock) -> np.ndarray:
    """Station-hour noise with a few hours of memory (truncated AR(1), phi 0.6)."""
    memory, phi = 6, 0.6
    hours = np.arange(clock.hour_ordinals[0] - memory + 1, clock.hour_ordinals[-1] + 1)
    shocks = keyed_normal(seed, S_NOISE, stream, hours[:, None], sites.station_key[None, :])
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
            keyed_uniform(seed, S_EPISODE, season_year, 3 * k + 2)[0]
        )
        episodes.append((start, plateau, level))
        k += 1
        start += int(_pick(seed, season_year, 3 * k, *EPISODE_GAP_DAYS))
    return episodes


def _pick(seed: int, season_year: int, index: int, low: int, high: int) -> int:
    """Integer in [low, high) for episode scheduling."""
    return low + int(keyed_uniform(seed, S_EPISODE, season_year, index)[0] * (high - low))


def _episode_shape(seed: int, clock: Clock) -> tuple[np.ndarray, np.ndarray]:
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
    sites: Sites
    clock: Clock
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
    def build(cls, sites: Sites, clock: Clock, seed: int) -> _Weather:
        doy = clock.day_of_year[:, None]
        region = _to_hourly(_daily_ar1(seed, S_REGION, np.array([0]), clock, REGION_PHI), clock)
        city = _to_hourly(_daily_ar1(seed, S_CITY, sites.city_keys, clock, CITY_PHI), clock)
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
            city_static=keyed_normal(seed, S_CITY_STATIC, sites.city_key)[None, :],
            station_static=keyed_normal(seed, S_STATION_STATIC, sites.station_key)[None, :],
        )


def simulate(sites: Sites, clock: Clock, seed: int) -> dict[str, np.ndarray]:
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
    sun_region = _to_hourly(_daily_ar1(w.seed, S_SUN_REGION, np.array([0]), w.clock, 0.6), w.clock)
    sun_city = _to_hourly(_daily_ar1(w.seed, S_SUN_CITY, w.sites.city_keys, w.clock, 0.5), w.clock)
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

"""OpenAQ API v3: hourly averages per sensor, `GET /v3/sensors/{id}/hours`.

Fetching and parsing are separate so the raw bytes of every page can be landed
before anything is interpreted: `fetch_pages` returns the pages as received,
`parse_pages` turns (bytes, metadata) pairs into the parsed air frame.

OpenAQ labels an hourly average by `period.datetimeTo`, the end of the hour,
which is also how envmon labels hours. Gas concentrations reported as volume
mixing ratios are converted to mass concentration at the GB 3095-2012
(amendment 2018) reference state, 298.15 K and 101.325 kPa.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import requests

from envmon.air.schema import MOVING_24H, PARSED_COLUMNS, POLLUTANTS
from envmon.core import http
from envmon.core.errors import ConfigError, InputError, SourceError
from envmon.core.parsing import ParseResult, Reject
from envmon.core.strict_json import load_json
from envmon.core.timeutil import BEIJING

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openaq.org"
DEFAULT_API_KEY_ENV = "OPENAQ_API_KEY"
DEFAULT_LIMIT = 1000
# A safety stop for paging: 1000 pages of 1000 hours is over a century.
DEFAULT_MAX_PAGES = 1000
HOURLY_INTERVAL = "01:00:00"

# HJ 663: a valid hourly value needs >= 45 minutes of sampling in the hour.
# OpenAQ reports how much of the hour was observed as coverage.percentComplete.
DEFAULT_MIN_COVERAGE = 75.0

# Molar volume at the GB 3095-2012 (amendment 2018) reference state,
# 298.15 K and 101.325 kPa, as conventionally rounded (L/mol).
MOLAR_VOLUME = 24.45
# Molecular weights (g/mol) of the gases GB 3095 regulates by mass.
MOLECULAR_WEIGHT: dict[str, float] = {"so2": 64.066, "no2": 46.006, "o3": 47.997, "co": 28.010}

# GB 3095 units: µg/m³, except CO in mg/m³.
_TARGET_MG = frozenset({"co"})


@dataclass(frozen=True)
class SensorConfig:
    """Which station and pollutant an OpenAQ sensor reports."""

    sensor_id: int
    station_code: str
    pollutant: str

    def __post_init__(self) -> None:
        if self.pollutant not in POLLUTANTS:
            raise ConfigError(
                f"OpenAQ sensor {self.sensor_id}: pollutant {self.pollutant!r} "
                f"is not one of {', '.join(POLLUTANTS)}"
            )
        if not str(self.station_code).strip():
            raise ConfigError(f"OpenAQ sensor {self.sensor_id}: empty station_code")


@dataclass(frozen=True)
class FetchedPage:
    """One page as received. `url` never carries the API key (it is a header)."""

    url: str
    params: dict[str, str]
    body: bytes
    fetched_at: datetime
    sensor_id: int | None = field(default=None)

    def metadata(self) -> dict[str, object]:
        """JSON-able metadata to land beside the bytes and give back to `parse_pages`."""
        return {
            "sensor_id": self.sensor_id,
            "url": self.url,
            "params": dict(self.params),
            "fetched_at": self.fetched_at.isoformat(),
        }


# ---------------------------------------------------------------- fetching


def api_key_from_env(var: str = DEFAULT_API_KEY_ENV) -> str:
    """The OpenAQ API key from environment variable `var`; SourceError if unset."""
    key = os.environ.get(var, "").strip()
    if not key:
        raise SourceError(f"OpenAQ API key missing: set the environment variable {var}")
    return key


def fetch_pages(
    sensor_id: int,
    start: datetime,
    end: datetime,
    *,
    base_url: str | None = DEFAULT_BASE_URL,
    api_key: str | None = None,
    limit: int = DEFAULT_LIMIT,
    session: requests.Session | None = None,
    api_key_env: str = DEFAULT_API_KEY_ENV,
    max_pages: int = DEFAULT_MAX_PAGES,
    sleep: Callable[[float], None] = time.sleep,
) -> list[FetchedPage]:
    """All pages of hourly values of `sensor_id` between `start` and `end`.

    `base_url` None means the public API. `api_key` None reads the environment
    variable `api_key_env`. Paging stops at the first page with fewer than
    `limit` results (`meta.found` is not a reliable count: it can be a string
    such as ">5"), or at a page that is not readable JSON, which is returned so
    it can be landed and refused by `parse_pages`.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if limit < 1:
        raise ValueError("limit must be >= 1")
    key = api_key if api_key else api_key_from_env(api_key_env)
    url = f"{(base_url or DEFAULT_BASE_URL).rstrip('/')}/v3/sensors/{int(sensor_id)}/hours"
    headers = {"X-API-Key": key, "Accept": "application/json"}
    pages: list[FetchedPage] = []
    for page in range(1, max_pages + 1):
        params = _query(start, end, limit, page)
        response = http.get(url, params=params, headers=headers, session=session, sleep=sleep)
        pages.append(FetchedPage(url=url, params=params, body=response.content,
                                 fetched_at=datetime.now(UTC), sensor_id=int(sensor_id)))
        count = _result_count(response.content)
        if count is None:
            log.warning("OpenAQ sensor %s page %s is not readable JSON; paging stopped",
                        sensor_id, page)
            return pages
        if count < limit:
            return pages
    raise SourceError(f"OpenAQ sensor {sensor_id}: more than {max_pages} pages; "
                      "narrow the time range")


def _query(start: datetime, end: datetime, limit: int, page: int) -> dict[str, str]:
    return {
        "datetime_from": _iso_utc(start),
        "datetime_to": _iso_utc(end),
        "limit": str(limit),
        "page": str(page),
    }


def _iso_utc(moment: datetime) -> str:
    # UTC with "Z": no "+" in the query string for a proxy to turn into a space.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


def _result_count(body: bytes) -> int | None:
    try:
        doc = load_json(body, name="OpenAQ page")
    except InputError:
        return None
    results = doc.get("results") if isinstance(doc, dict) else None
    return len(results) if isinstance(results, list) else None


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Hour:
    station_code: str
    ts: datetime
    pollutant: str
    value: float
    line: int
    sensor_id: int


def parse_pages(
    pages: list[tuple[bytes, dict]],
    sensors: list[SensorConfig],
    *,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    window: tuple[datetime, datetime] | None = None,
) -> ParseResult:
    """Parse landed pages, each with metadata {"sensor_id": ..., ...}, into PARSED_COLUMNS.

    One row per station_code and hour; pollutants a station's sensors did not
    report are NaN. `window` is the requested (start, end); when None it is
    taken from the pages' `params` (datetime_from, datetime_to) if they agree.
    Raises InputError for a page that is not a readable v3 envelope and
    ConfigError for a page from a sensor not in `sensors`.
    """
    by_id = _index_sensors(sensors)
    hours: list[_Hour] = []
    rejects: list[Reject] = []
    for body, meta in pages:
        sensor = _sensor_for(meta, by_id)
        results = _read_results(body, _page_label(meta))
        for line, item in enumerate(results, start=1):
            parsed = _parse_result(item, sensor, line, min_coverage)
            if isinstance(parsed, Reject):
                rejects.append(_with_raw(parsed, item, meta))
            else:
                hours.append(parsed)
    kept, duplicates = _drop_duplicates(hours)
    rejects.extend(duplicates)
    return ParseResult(frame=_to_frame(kept), rejects=rejects,
                       window=_window(window, [meta for _, meta in pages]))


def _index_sensors(sensors: list[SensorConfig]) -> dict[int, SensorConfig]:
    by_id: dict[int, SensorConfig] = {}
    for sensor in sensors:
        if sensor.sensor_id in by_id:
            raise ConfigError(f"OpenAQ sensor {sensor.sensor_id} configured twice")
        by_id[sensor.sensor_id] = sensor
    return by_id


def _sensor_for(meta: dict, by_id: dict[int, SensorConfig]) -> SensorConfig:
    try:
        sensor_id = int(meta["sensor_id"])
    except (KeyError, TypeError, ValueError):
        raise InputError("page metadata has no sensor_id", file=_page_label(meta)) from None
    if sensor_id not in by_id:
        raise ConfigError(f"OpenAQ sensor {sensor_id} has no SensorConfig "
                          "(station_code and pollutant unknown)")
    return by_id[sensor_id]


def _page_label(meta: dict) -> str:
    params = meta.get("params") or {}
    page = params.get("page", meta.get("page", "?"))
    return f"OpenAQ sensor {meta.get('sensor_id', '?')} page {page}"


def _read_results(body: bytes, label: str) -> list:
    doc = load_json(body, name=label)
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        detail = doc.get("detail") if isinstance(doc, dict) else None
        extra = f" (server said: {str(detail)[:200]})" if detail else ""
        raise InputError(f"not an OpenAQ v3 envelope: no 'results' list{extra}", file=label)
    return doc["results"]


def _parse_result(item: object, sensor: SensorConfig, line: int,
                  min_coverage: float) -> _Hour | Reject:
    """One result -> an hour of one pollutant, or the reason it is refused."""
    if not isinstance(item, dict):
        return Reject("result is not a JSON object", line=line)
    period = item.get("period")
    if not isinstance(period, dict):
        return Reject("result has no period", line=line, field="period")
    interval = period.get("interval")
    if interval != HOURLY_INTERVAL:
        return Reject(f"period interval {interval!r} is not hourly ({HOURLY_INTERVAL})",
                      line=line, field="period.interval", value=_text(interval))
    ts = _hour_end(period, line)
    if isinstance(ts, Reject):
        return ts
    parameter = item.get("parameter") if isinstance(item.get("parameter"), dict) else {}
    name = parameter.get("name")
    if name is not None and name != sensor.pollutant:
        return Reject(f"parameter {name!r} does not match the configured pollutant "
                      f"{sensor.pollutant!r} of sensor {sensor.sensor_id}",
                      line=line, field="parameter.name", value=_text(name))
    low = _low_coverage(item.get("coverage"), min_coverage, line)
    if low is not None:
        return low
    value = _concentration(item.get("value"), parameter.get("units"), sensor.pollutant, line)
    if isinstance(value, Reject):
        return value
    return _Hour(sensor.station_code, ts, sensor.pollutant, value, line, sensor.sensor_id)


def _hour_end(period: dict, line: int) -> datetime | Reject:
    """`period.datetimeTo` (local, else utc) in Beijing time: the end of the hour."""
    end = period.get("datetimeTo")
    raw = None
    if isinstance(end, dict):
        raw = end.get("local") or end.get("utc")
    if not raw:
        return Reject("result has no period.datetimeTo", line=line, field="period.datetimeTo")
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        return Reject("period.datetimeTo is not an ISO 8601 time", line=line,
                      field="period.datetimeTo", value=_text(raw))
    if moment.tzinfo is None:
        return Reject("period.datetimeTo has no UTC offset", line=line,
                      field="period.datetimeTo", value=_text(raw))
    moment = moment.astimezone(BEIJING)
    if (moment.minute, moment.second, moment.microsecond) != (0, 0, 0):
        return Reject("period.datetimeTo is not on the hour", line=line,
                      field="period.datetimeTo", value=_text(raw))
    return moment


def _low_coverage(coverage: object, min_coverage: float, line: int) -> Reject | None:
    # No coverage block: nothing to judge, trust the feed's hour.
    if not isinstance(coverage, dict):
        return None
    percent = coverage.get("percentComplete")
    if not _is_number(percent) or percent >= min_coverage:
        return None
    return Reject(f"coverage below {min_coverage:g}% (HJ 663 needs >= 45 min per hour)",
                  line=line, field="coverage.percentComplete", value=_text(percent))


def _concentration(value: object, units: object, pollutant: str,
                   line: int) -> float | Reject:
    """`value` in envmon units (µg/m³, CO mg/m³); None becomes NaN."""
    if value is None:
        return math.nan
    if not _is_number(value) or not math.isfinite(value):
        return Reject("value is not a number", line=line, field="value", value=_text(value))
    if value < 0:
        return Reject("negative concentration", line=line, field="value", value=_text(value))
    factor = unit_factor(str(units) if units is not None else "", pollutant)
    if factor is None:
        return Reject(f"unknown units {units!r} for {pollutant}", line=line,
                      field="parameter.units", value=_text(units))
    return float(value) * factor


def unit_factor(units: str, pollutant: str) -> float | None:
    """Multiplier taking `units` to envmon units for `pollutant`, or None if unknown.

    ppb x M / Vm = µg/m³ (Vm = 24.45 L/mol at 298.15 K, 101.325 kPa, the
    GB 3095-2012 amendment 2018 reference state); ppm is 1000 ppb. CO is
    reported in mg/m³ (GB 3095), hence the extra / 1000.
    """
    unit = _normalise_units(units)
    mass = {"ug/m3": 1.0, "mg/m3": 1000.0}.get(unit)
    if mass is None and pollutant in MOLECULAR_WEIGHT:
        per_ppb = MOLECULAR_WEIGHT[pollutant] / MOLAR_VOLUME
        mass = {"ppb": per_ppb, "ppm": per_ppb * 1000.0}.get(unit)
    if mass is None:
        return None
    return mass / 1000.0 if pollutant in _TARGET_MG else mass


def _normalise_units(units: str) -> str:
    # "µg/m³" (micro sign), "μg/m³" (Greek mu) and "ug/m3" are the same unit.
    text = units.strip().lower().replace(" ", "")
    for old, new in (("\u00b5", "u"), ("\u03bc", "u"), ("\u00b3", "3"), ("^3", "3")):
        text = text.replace(old, new)
    return text


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _with_raw(reject: Reject, item: object, meta: dict) -> Reject:
    params = meta.get("params") or {}
    raw = json.dumps({"sensor_id": meta.get("sensor_id"), "page": params.get("page"),
                      "result": item}, ensure_ascii=False, default=str)
    return Reject(reject.reason, line=reject.line, field=reject.field, value=reject.value,
                  raw=raw)


def _drop_duplicates(hours: list[_Hour]) -> tuple[list[_Hour], list[Reject]]:
    """Keep the first value per station, hour and pollutant; refuse the others."""
    first: dict[tuple[str, datetime, str], _Hour] = {}
    rejects: list[Reject] = []
    for hour in hours:
        key = (hour.station_code, hour.ts, hour.pollutant)
        if key in first:
            seen = first[key]
            rejects.append(Reject(
                f"duplicate {hour.pollutant} for station {hour.station_code} at "
                f"{hour.ts.isoformat()} (first from sensor {seen.sensor_id} "
                f"result {seen.line})",
                line=hour.line, field=hour.pollutant, value=_text(hour.value),
                raw=json.dumps({"sensor_id": hour.sensor_id})))
        else:
            first[key] = hour
    return list(first.values()), rejects


def _to_frame(hours: list[_Hour]) -> pd.DataFrame:
    rows: dict[tuple[str, datetime], dict[str, object]] = {}
    for hour in hours:
        row = rows.setdefault((hour.station_code, hour.ts), {
            "station_code": hour.station_code, "ts": hour.ts, "source_line": hour.line})
        row[hour.pollutant] = hour.value
        row["source_line"] = min(int(row["source_line"]), hour.line)
    frame = pd.DataFrame(list(rows.values()), columns=list(PARSED_COLUMNS))
    frame = _typed(frame)
    return frame.sort_values(["station_code", "ts"], ignore_index=True)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    numeric = [*POLLUTANTS, *MOVING_24H, "feed_aqi"]
    return frame.astype({
        "station_code": "str",
        "ts": pd.DatetimeTZDtype(unit="us", tz=BEIJING),
        **dict.fromkeys(numeric, "float64"),
        "source_line": "int64",
    })


def _window(window: tuple[datetime, datetime] | None,
            metas: list[dict]) -> tuple[datetime, datetime] | None:
    if window is not None:
        start, end = window
        return (_as_beijing(start), _as_beijing(end))
    claimed = {((m.get("params") or {}).get("datetime_from"),
                (m.get("params") or {}).get("datetime_to")) for m in metas}
    if len(claimed) != 1:
        return None
    start_text, end_text = claimed.pop()
    try:
        start, end = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
    except (TypeError, ValueError):
        return None
    if start.tzinfo is None or end.tzinfo is None:
        return None
    return (_as_beijing(start), _as_beijing(end))


def _as_beijing(moment: datetime) -> datetime:
    _require_aware(moment, "window bound")
    return moment.astimezone(BEIJING)

"""Air for both benchmarks: stations, daily china-sites files, and the ingest and floor children.

benchmarks.local measures a year of these files; benchmarks.national runs
the same children for its air domain, at national size.

Only the standard library is imported at module level: the floor child must
not pay for (or count the memory of) pandas and Great Expectations.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.harness import (
    copy_reference_tables,
    ingest_command,
    peak_rss_mb,
    sql_string,
    time_landing,
    tree_bytes,
)

if TYPE_CHECKING:  # pandas is imported lazily: the floor child must not load it
    import pandas as pd

FORMAT = "china-sites"
# Derived stations get codes from 9501A up: the bundled demo registry uses
# 9001A-9181A, so the ranges cannot collide for any sensible --stations.
EXTRA_CODE_START = 9501
# The generator is keyed by (seed, station, hour), so generating month by
# month gives the same bytes as one call while bounding its memory (a year
# for 300 stations in one call holds ~40 M Python strings).
GENERATE_CHUNK_DAYS = 31

# The feed's 15 row types and the Parquet column each becomes in the floor.
FEED_TYPES: dict[str, str] = {
    "AQI": "feed_aqi", "PM2.5": "pm25", "PM2.5_24h": "pm25_24h", "PM10": "pm10",
    "PM10_24h": "pm10_24h", "SO2": "so2", "SO2_24h": "so2_24h", "NO2": "no2",
    "NO2_24h": "no2_24h", "O3": "o3", "O3_24h": "o3_24h", "O3_8h": "o3_8h",
    "O3_8h_24h": "o3_8h_24h", "CO": "co", "CO_24h": "co_24h",
}


# --- stations and files ------------------------------------------------------------


def bench_stations(base: pd.DataFrame, count: int) -> pd.DataFrame:
    """`count` stations: the demo ones, then derived copies with new codes.

    A copy keeps its template's city (so the city marts have more stations to
    average, as in the real network) and moves 1-4 km, so the generator's
    north-south gradient gives it slightly different values.
    """
    import pandas as pd

    demo = base.loc[base["demo"]].reset_index(drop=True)
    if count <= len(demo):
        return demo.head(count).reset_index(drop=True)
    extra = []
    for i in range(count - len(demo)):
        template = demo.iloc[i % len(demo)]
        nudge = 0.01 + 0.01 * (i % 4)
        extra.append({
            "station_code": f"{EXTRA_CODE_START + i}A",
            "station_name": f"{template['station_name']} (bench copy {i // len(demo) + 1})",
            "city_code": template["city_code"],
            "longitude": round(float(template["longitude"]) + nudge, 4),
            "latitude": round(float(template["latitude"]) - nudge / 2, 4),
            "demo": True,
        })
    extra_frame = pd.DataFrame(extra)
    clash = set(extra_frame["station_code"]) & set(base["station_code"])
    if clash:
        raise SystemExit(f"bench: derived station codes already registered: {sorted(clash)[:5]}")
    return pd.concat([demo, extra_frame], ignore_index=True)


def write_registry(directory: Path, count: int) -> pd.DataFrame:
    """Write the registry plus bench stations as an ENVMON_REFERENCE_DIR; returns the stations.

    cities.csv and provinces.csv are copied too: they must be the versions the
    registry was validated against, whatever ENVMON_REFERENCE_DIR the caller has.
    """
    import pandas as pd

    from envmon.core import reference

    base = reference.load_air_stations()
    stations = bench_stations(base, count)
    registered = pd.concat([base, stations[~stations["station_code"].isin(base["station_code"])]],
                           ignore_index=True)
    copy_reference_tables(directory)
    out = registered.loc[:, list(reference.AIR_STATION_COLUMNS)].copy()
    out["demo"] = out["demo"].map({True: "true", False: "false"})
    (directory / reference.AIR_STATIONS_FILE).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(directory / reference.AIR_STATIONS_FILE, index=False)
    return stations


def generate_files(out_dir: Path, stations: pd.DataFrame, start: date, days: int, seed: int
                   ) -> list[Path]:
    """The daily files, with the real demo generator, a month at a time."""
    from envmon.demo.air import generate_china_sites

    paths: list[Path] = []
    first, last = start, start + timedelta(days=days - 1)
    while first <= last:
        end = min(first + timedelta(days=GENERATE_CHUNK_DAYS - 1), last)
        paths += generate_china_sites(out_dir, first, end, seed=seed, stations=stations)
        first = end + timedelta(days=1)
    return paths


def carried_columns() -> list[str]:
    """Floor columns of the feed types envmon keeps (the parser drops O3_8h and the like)."""
    from envmon.air.sources.china_sites import TYPES

    return [FEED_TYPES[kind] for kind, column in TYPES.items() if column is not None]


# --- children ----------------------------------------------------------------------


def child_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    """Child phase: `envmon ingest air` over spec["files"], then the Data Docs pass."""
    clock = time.perf_counter()
    # What `envmon ingest` imports before its first file; GX is imported here
    # rather than inside the first validate, so that "validate" is steady-state
    # work and the one-off import shows as its own line.
    import great_expectations  # noqa: F401

    import envmon.air.ingest as air_ingest
    import envmon.core.checks  # noqa: F401

    startup = time.perf_counter() - clock
    landing = time_landing(air_ingest)
    main_run = ingest_command(ingest_call(air_ingest, spec["data_docs"]),
                              [Path(p) for p in spec["files"]], landing)
    peak_main = peak_rss_mb()  # before the Data Docs pass can raise it
    cpu_main = time.process_time()  # startup + main loop, all threads

    docs_run = None
    if spec["docs_files"]:
        os.environ["ENVMON_HOME"] = spec["docs_home"]
        docs_run = ingest_command(ingest_call(air_ingest, spec["docs_data_docs"]),
                                  [Path(p) for p in spec["docs_files"]], landing)
    return {"startup_s": startup, "loop_s": main_run["loop_s"], "runs": main_run["runs"],
            "cpu_s": cpu_main,
            "data_docs": spec["data_docs"], "peak_rss_main_mb": peak_main, "docs": docs_run}


def ingest_call(air_ingest: Any, data_docs: bool) -> Callable[[list[Path], Any], list[Any]]:
    """call(paths, reporter) -> records, as `envmon ingest air --format china-sites` does it."""
    return lambda files, reporter: air_ingest.ingest_files(files, FORMAT, data_docs=data_docs,
                                                           reporter=reporter)


def floor_sql(files: Sequence[str], out: str) -> str:
    """The floor: every CSV read, unpivoted to cells, pivoted to station-hours, Parquet by date.

    No validation, no AQI, no marts: the least work that still turns the wide
    files into the station-hour rows envmon stores. A malformed cell becomes
    NULL (TRY_CAST); a station-hour is a row if any of its 15 cells is
    non-empty. (Copying the wide files as they are, without reshaping, is no
    cheaper a floor: 365 partitions x 303 text columns took 14.5 s and 2 GB
    here, against 9.6 s and 1.2 GB for this.)

    The dialect is spelled out because it is known: left to detect it, DuckDB's
    sniffer spends ~70 ms on each 300-column file (the year took 39.5 s, not 9.6 s).
    """
    listing = ", ".join(sql_string(f) for f in files)
    source = (f"read_csv([{listing}], header = true, all_varchar = true, union_by_name = true, "
              "delim = ',', quote = '\"', escape = '\"')")
    target = f"TO {sql_string(out)} (FORMAT parquet, PARTITION_BY (\"date\"), COMPRESSION zstd)"
    columns = ",\n           ".join(
        f"max(TRY_CAST(cell AS DOUBLE)) FILTER (WHERE type = {sql_string(kind)}) AS {name}"
        for kind, name in FEED_TYPES.items())
    return f"""
COPY (
    SELECT station_code, strptime("date", '%Y%m%d')::DATE AS "date",
           CAST(hour AS INTEGER) AS hour,
           {columns}
    FROM (UNPIVOT (SELECT * FROM {source})
          ON COLUMNS(* EXCLUDE ("date", hour, type)) INTO NAME station_code VALUE cell)
    GROUP BY ALL
) {target}
"""


def child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """Child phase: the floor with spec["threads"] DuckDB threads, counted from its Parquet."""
    clock = time.perf_counter()
    import duckdb

    startup = time.perf_counter() - clock
    Path(spec["out"]).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {int(spec['threads'])}")
    clock, cpu = time.perf_counter(), time.process_time()
    con.execute(floor_sql(spec["files"], spec["out"]))
    copy_s, cpu_s = time.perf_counter() - clock, time.process_time() - cpu
    # Counted from the written files, not from COPY's own return value.
    glob = sql_string(str(Path(spec["out"]) / "*" / "*.parquet"))
    reader = f"read_parquet({glob}, hive_partitioning = true, union_by_name = true)"
    rows, partitions = con.execute(
        f"SELECT count(*), count(DISTINCT \"date\") FROM {reader}").fetchone()
    # Station-hours envmon's parser can make a row of: at least one kept
    # pollutant that is a finite number >= 0 (the rest are refused cells).
    ok = " OR ".join(f"coalesce(isfinite({c}) AND {c} >= 0, false)" for c in spec["carried"])
    usable = con.execute(f"SELECT count(*) FILTER (WHERE {ok}) FROM {reader}").fetchone()[0]
    con.close()
    return {"threads": spec["threads"], "startup_s": startup, "cpu_s": cpu_s,
            "copy_s": copy_s, "rows": rows, "usable_rows": usable, "partitions": partitions,
            "parquet_bytes": tree_bytes(Path(spec["out"]))}

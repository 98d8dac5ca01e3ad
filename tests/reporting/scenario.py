"""A small hand-made world for the commitment tests, written to a real lake.

Three cities in two provinces (a reference directory of their own), two
years of daily air values, a few water sections and manifests. Every number
is chosen so the expected indicators can be worked out by hand; the tests
say how. The lake files use the domains' own schemas and the warehouse is
built by the real builder, so the indicators read the real views.

Air (air_daily_city), all valid unless said:
  Nanjing 320100
    2025: every day PM2.5 40, AQI 60, O3 8h 100
    2026-01-01..09-30 (273 days): PM2.5 30, AQI 80 except 9 days in January
      at AQI 160, O3 8h 100
    2026-10 (31 days): PM2.5 36; AQI 90 on 25 days and 220 on 6 days
      (10-01..10-06); O3 8h 10, 20, ..., 300 on 10-01..10-30, 10-31 not valid
  Wuxi 320200: only 2026-10: PM2.5 50, AQI 90 except 220 on 10-01 and 10-02
  Hangzhou 330100: 2026-01..10 every day PM2.5 20, AQI 50, except
    2026-02-01..02-04 missing (24 of 28 February days: below 25)

Water:
  S1 cross-boundary, upstream Jiangsu 320000 -> Zhejiang, in Nanjing: III
     against target III in 2026-01..09, IV in 2026-10 (not compliant)
  S2 cross-boundary, upstream Zhejiang 330000 -> Jiangsu, in Hangzhou: only
     2026-10, II against II
  S3 not cross-boundary, in Wuxi: 2026-01..10, worse than V (rank 6) in
     2026-03, III otherwise
  compensation: S1 2026-01..10, 1000 CNY paid by 320000 in 2026-10, 0 before

Manifests (entered 2026-10-05..10-09 in this order):
  M1 Nanjing -> Hangzhou electronic, received, confirmed
  M2 Nanjing -> Hangzhou electronic, received, confirmed; xprov_no_approval (high)
  M3 Nanjing -> Hangzhou electronic, received, confirmed; confirmation_late (medium)
  M4 Nanjing -> Hangzhou electronic, received, not confirmed
  M5 Nanjing -> Wuxi paper, received, confirmed
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from envmon.core.timeutil import BEIJING

PROVINCES = "province_code,name_zh,name_en\n320000,江苏省,Jiangsu\n330000,浙江省,Zhejiang\n"
CITIES = ("city_code,name_zh,name_en,province_code\n320100,南京市,Nanjing,320000\n"
          "320200,无锡市,Wuxi,320000\n330100,杭州市,Hangzhou,330000\n")


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def write_reference(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "provinces.csv").write_text(PROVINCES, encoding="utf-8")
    (directory / "cities.csv").write_text(CITIES, encoding="utf-8")
    return directory


def write_lake(home: Path, dataset: str, rows: list[dict[str, Any]], partition: str) -> None:
    """Rows into the lake (part "test" of each <partition> value) with the
    domain's schema, through core.lake as envmon writes marts: on either
    storage. ENVMON_HOME must point at `home`."""
    import pandas as pd

    from envmon.core import lake
    from envmon.domains import lake_tables

    assert Path(os.environ["ENVMON_HOME"]) == home, "write_lake writes ENVMON_HOME's lake"
    schema = lake_tables()[dataset]()
    stored = pa.schema([f for f in schema if f.name != partition])
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row[partition]), []).append(row)
    for value, part in groups.items():
        table = pa.table({f.name: pa.array([r.get(f.name) for r in part], type=f.type)
                          for f in stored}, schema=stored)
        frame = table.to_pandas() if table.num_rows else pd.DataFrame(columns=stored.names)
        lake.replace_partition(dataset, frame, partition_col=partition, value=value,
                               part="test", schema=stored)


def _air_row(city: str, day: date, pm25: float | None, aqi: int | None,
             o3_8h: float | None = None) -> dict[str, Any]:
    return {"city_code": city, "province_code": city[:2] + "0000", "date": day,
            "pm25": pm25, "pm25_valid": pm25 is not None, "pm25_stations": 1,
            "o3_8h": o3_8h, "o3_8h_valid": o3_8h is not None, "o3_8h_stations": 1,
            "aqi": aqi, "aqi_complete": aqi is not None,
            "aqi_standard": "HJ 633-2026" if day >= date(2026, 3, 1) else "HJ 633-2012"}


def air_rows() -> list[dict[str, Any]]:
    rows = []
    for day in days(date(2025, 1, 1), date(2025, 12, 31)):
        rows.append(_air_row("320100", day, 40.0, 60, 100.0))
    for day in days(date(2026, 1, 1), date(2026, 9, 30)):
        aqi = 160 if day <= date(2026, 1, 9) else 80
        rows.append(_air_row("320100", day, 30.0, aqi, 100.0))
    for i, day in enumerate(days(date(2026, 10, 1), date(2026, 10, 31))):
        aqi = 220 if i < 6 else 90
        o3 = None if day.day == 31 else 10.0 * (i + 1)
        rows.append(_air_row("320100", day, 36.0, aqi, o3))
        rows.append(_air_row("320200", day, 50.0, 220 if i < 2 else 90, 100.0))
    for day in days(date(2026, 1, 1), date(2026, 10, 31)):
        if date(2026, 2, 1) <= day <= date(2026, 2, 4):
            continue
        rows.append(_air_row("330100", day, 20.0, 50, 90.0))
    return rows


def _months(first: int, last: int) -> list[str]:
    return [f"2026-{m:02d}" for m in range(first, last + 1)]


CLASS_RANK = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "劣V": 6}


def _section(code: str, month: str, water_class: str, target: str | None, *, cross: bool,
             upstream: str | None, downstream: str | None, city: str) -> dict[str, Any]:
    rank, target_rank = CLASS_RANK[water_class], CLASS_RANK.get(target or "", None)
    return {"section_code": code, "section_name": f"section {code}", "month": month,
            "province_code": city[:2] + "0000", "city_code": city, "registered": True,
            "cross_boundary": cross, "upstream_code": upstream, "downstream_code": downstream,
            "water_class": water_class, "class_rank": rank, "target_class": target,
            "target_rank": target_rank, "deciding_items": "nh3n",
            "compliant": None if target_rank is None else rank <= target_rank,
            "n_readings": 180, "n_days": 30}


def water_rows() -> list[dict[str, Any]]:
    rows = []
    for month in _months(1, 10):
        rows.append(_section("S1", month, "IV" if month == "2026-10" else "III", "III",
                             cross=True, upstream="320000", downstream="330000", city="320100"))
        rows.append(_section("S3", month, "劣V" if month == "2026-03" else "III", "III",
                             cross=False, upstream=None, downstream=None, city="320200"))
    rows.append(_section("S2", "2026-10", "II", "II", cross=True, upstream="330000",
                         downstream="320000", city="330100"))
    return rows


def compensation_rows() -> list[dict[str, Any]]:
    return [{"section_code": "S1", "section_name": "section S1", "month": month,
             "upstream_code": "320000", "downstream_code": "330000",
             "amount_cny": 1000.0 if month == "2026-10" else 0.0,
             "payer_code": "320000" if month == "2026-10" else None,
             "payee_code": "330000" if month == "2026-10" else None,
             "compliant": month != "2026-10", "factors_complete": True}
            for month in _months(1, 10)]


def _at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=BEIJING)


MANIFESTS = [
    # (number, kind, entered day, origin city, destination city, confirmed)
    ("20263201000001", "electronic", 5, "320100", "330100", True),
    ("20263201000002", "electronic", 6, "320100", "330100", True),
    ("20263201000003", "electronic", 7, "320100", "330100", True),
    ("20263201000004", "electronic", 8, "320100", "330100", False),
    ("20263201000005", "paper", 9, "320100", "320200", True),
]
ANOMALIES = [("20263201000002", "xprov_no_approval", "high"),
             ("20263201000003", "confirmation_late", "medium")]


def hazwaste_rows() -> dict[str, list[dict[str, Any]]]:
    manifests, states, lines, anomalies = [], [], [], []
    for number, kind, day, origin, dest, confirmed in MANIFESTS:
        common = {"manifest_no": number, "version": "v1", "source": "test", "month": "2026-10"}
        header = {"kind": kind, "entered_at": _at(day, 8), "shipper_id": "S",
                  "shipper_adcode": origin + "", "receiver_id": "R", "receiver_adcode": dest,
                  "line_count": 1, "quantity_t": 2.0, "received_t": 2.0}
        manifests.append({**common, **header})
        # The refresh stores the chosen copy's header and the anomaly counts with the state.
        counts = [severity for n, _, severity in ANOMALIES if n == number]
        states.append({**common, **header, "anomalies": len(counts),
                       "high_anomalies": counts.count("high"),
                       "current": True, "state": "confirmed" if confirmed
                       else "received", "created_at": _at(day, 8), "departed_at": _at(day, 9),
                       "received_at": _at(day, 15),
                       "confirmed_at": _at(day + 1, 10) if confirmed else None,
                       "origin_city_code": origin, "origin_province_code": origin[:2] + "0000",
                       "dest_city_code": dest, "dest_province_code": dest[:2] + "0000",
                       "origin_province": origin[:2], "dest_province": dest[:2],
                       "cross_province": origin[:2] != dest[:2]})
        lines.append({**common, "line": 1, "waste_code": "900-041-49", "quantity": 2.0,
                      "unit": "t", "quantity_t": 2.0, "received_quantity": 2.0,
                      "received_t": 2.0})
    for number, anomaly, severity in ANOMALIES:
        anomalies.append({"manifest_no": number, "version": "v1", "anomaly": anomaly,
                          "severity": severity, "rule": "test", "detail": f"{anomaly} planted",
                          "month": "2026-10"})
    return {"hw_manifests": manifests, "hw_manifest_state": states, "hw_waste_lines": lines,
            "hw_anomalies": anomalies, "hw_flows": _hw_flows(states, lines)}


def _hw_flows(states: list[dict[str, Any]], lines: list[dict[str, Any]]
              ) -> list[dict[str, Any]]:
    """The monthly flows the refresh would write for these states and lines."""
    import pandas as pd

    from envmon.hazwaste.derive import flows

    return flows(pd.DataFrame(states), pd.DataFrame(lines)).to_dict("records")


def build(home: Path) -> Path:
    """Write the whole scenario into `home`'s lake and build the warehouse."""
    from envmon.domains import build_warehouse

    write_lake(home, "air_daily_city", air_rows(), "date")
    write_lake(home, "water_section_monthly", water_rows(), "month")
    write_lake(home, "water_compensation", compensation_rows(), "month")
    for dataset, rows in hazwaste_rows().items():
        write_lake(home, dataset, rows, "month")
    return build_warehouse()

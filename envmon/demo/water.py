"""Demo feeds for the registry's demo sections, in the real formats.

- write_snapshot(): the real-time release (cnemc-water JSON page) as a fetch
  at a given time would see it: every registry section's reading of the last
  4-hour slot, values as HTML spans with the raw value in the title, `--`
  where a station did not measure, the publisher's own class (computed, as a
  publisher would, from the rounded values it displays).
- write_lab_month(): the month's laboratory results (lab-monthly CSV), one
  sample per section with the full GB 3838 Table 1 items.

The values are synthetic but behave like the region's waters: water
temperature from about 5 ℃ in January to 29 ℃ in late July; ammonia higher in
the cold months, phosphorus and chlorophyll higher in the warm ones; lakes
with more phosphorus and chlorophyll than rivers; each section's levels set
from its target class, so most sections meet it, while every month a few
cross-boundary sections miss it (a pollution month on one factor); an algal
bloom episode in Taihu every month, strong from May to October (chlorophyll,
algae, pH above 9, oxygen supersaturation, phosphorus); station outages
(a section absent from a snapshot), missing cells and a few malformed cells
(a span without its title, text, a negative number).

Every random number is a hash of (seed, stream, keys): the same arguments give
the same bytes, and a snapshot does not depend on which others were written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import struct
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from envmon.core.atomic import write_bytes_atomic
from envmon.core.timeutil import BEIJING
from envmon.water.classify import classify
from envmon.water.compensation import target_limit
from envmon.water.reference import load_sections, province_names_zh
from envmon.water.units import do_saturation

DEFAULT_SEED = 2026
SLOT_HOURS = 4
FETCH_DELAY = timedelta(minutes=30)  # a scheduled fetch runs after the slot's reading
SNAPSHOT_NAME = "cnemc_water_{:%Y%m%dT%H%M}.json"
LAB_NAME = "lab_monthly_{:04d}{:02d}.csv"

THEAD = ["省份", "流域", "断面名称", "监测时间", "水质类别", "水温(℃)", "pH(无量纲)",
         "溶解氧(mg/L)", "电导率(μS/cm)", "浊度(NTU)", "高锰酸盐指数(mg/L)", "氨氮(mg/L)",
         "总磷(mg/L)", "总氮(mg/L)", "叶绿素α(mg/L)", "藻密度(cells/L)", "站点情况"]
AUTO = ("water_temp", "ph", "do", "conductivity", "turbidity", "codmn", "nh3n", "tp", "tn",
        "chla", "algae_density")
# Decimals the release displays (the raw value sits in the span title).
DISPLAY_DECIMALS = {"water_temp": 1, "ph": 2, "do": 2, "conductivity": 0, "turbidity": 1,
                    "codmn": 1, "nh3n": 2, "tp": 2, "tn": 2, "chla": 3, "algae_density": 0}
RAW_DECIMALS = {"water_temp": 2, "ph": 2, "do": 3, "conductivity": 1, "turbidity": 1,
                "codmn": 2, "nh3n": 3, "tp": 3, "tn": 2, "chla": 4, "algae_density": 0}

# --- tuning (not facts: chosen so the output looks like YRD data) ---
LEVEL_OF_TARGET = (0.45, 0.8)  # a section's factor levels as a share of its target limit
MISSES_PER_MONTH = 3  # cross-boundary sections with a pollution month
MISS_FACTOR = (1.25, 1.7)  # the polluted factor relative to the target limit
OUTAGE_RATE = 0.015  # a section absent from a snapshot
MISSING_CELL_RATE = 0.01
MALFORMED_CELL_RATE = 1 / 1500
BLOOM_SECTIONS = {"太湖梅梁湖": 1.0, "太湖贡湖": 0.8, "太湖湖心": 0.5, "太湖南部小梅口": 0.4}

(_S_LEVEL, _S_DAY, _S_NOISE, _S_MISS, _S_BLOOM, _S_OUTAGE, _S_CELL, _S_LAB, _S_STATIC) = \
    range(1, 10)


def _u(seed: int, stream: int, *keys: object) -> float:
    """A uniform number in (0, 1) from a hash of its keys."""
    text = "|".join(map(str, (seed, stream, *keys))).encode()
    (value,) = struct.unpack("<Q", hashlib.blake2b(text, digest_size=8).digest())
    return (value + 0.5) / 2.0**64


def _n(seed: int, stream: int, *keys: object) -> float:
    """A standard normal number (Box-Muller over two hashed uniforms)."""
    u1, u2 = _u(seed, stream, *keys, 0), _u(seed, stream, *keys, 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def demo_sections() -> pd.DataFrame:
    """The demo entries of the section registry (demo == true); real sections get no feed."""
    sections = load_sections()
    return sections.loc[sections["demo"]].sort_values("section_code").reset_index(drop=True)


# ---------------------------------------------------------------- the model


def _season(day: date, peak_doy: int) -> float:
    """cos wave, 1 at `peak_doy`, -1 half a year later."""
    return math.cos(2.0 * math.pi * (day.timetuple().tm_yday - peak_doy) / 365.25)


def crossing_sections() -> tuple[str, ...]:
    sections = demo_sections()
    return tuple(sections.loc[sections["cross_boundary"], "section_code"])


def missing_target(section: str, year: int, month: int, seed: int,
                   crossing: tuple[str, ...]) -> str | None:
    """The factor a section pollutes this month, if it is one of the month's few misses."""
    ranked = sorted(crossing, key=lambda c: _u(seed, _S_MISS, year, month, c))
    if section not in ranked[:MISSES_PER_MONTH]:
        return None
    cold = month in (11, 12, 1, 2, 3)
    pick = _u(seed, _S_MISS, year, month, section, "factor")
    if cold:
        return "nh3n" if pick < 0.7 else "codmn"
    return "tp" if pick < 0.6 else ("nh3n" if pick < 0.8 else "codmn")


def bloom_shape(when: datetime, seed: int) -> float:
    """0..1: this month's Taihu bloom episode (strength scaled by season)."""
    start = 4 + int(_u(seed, _S_BLOOM, when.year, when.month) * 12)
    length = 6 + int(_u(seed, _S_BLOOM, when.year, when.month, "len") * 4)
    begin = datetime(when.year, when.month, start, tzinfo=BEIJING)
    hours = (when - begin).total_seconds() / 3600.0
    if hours < 0 or hours > length * 24:
        return 0.0
    rise = min(1.0, hours / 48.0)
    fall = min(1.0, (length * 24 - hours) / 36.0)
    # May-October blooms are strong; winter ones faint.
    strength = 0.35 + 0.65 * max(0.0, _season(when.date(), 213)) ** 0.5
    return rise * fall * strength


def reading(section: pd.Series, when: datetime, seed: int, crossing: tuple[str, ...]
            ) -> dict[str, float | None]:
    """One automatic-station reading of `section` at `when` (raw values, envmon units)."""
    code, lake = section["section_code"], section["water_body"] == "lake"
    day = when.date()
    daily = _n(seed, _S_DAY, code, day.isoformat())

    def noise(item: str, sigma: float = 0.08) -> float:
        """Log-normal reading noise, plus the day's shared weather."""
        return math.exp(sigma * _n(seed, _S_NOISE, code, when.isoformat(), item) + 0.08 * daily)

    target = section["target_class"] or "III"
    temp = 17.0 - 12.0 * _season(day, 15) + 1.2 * math.sin(2 * math.pi * (when.hour - 9) / 24)
    temp += 0.6 * daily + (1.0 if lake else 0.0) * max(0.0, -_season(day, 15))
    out: dict[str, float | None] = {"water_temp": max(0.5, temp)}
    levels = {}
    for factor in ("codmn", "nh3n", "tp"):
        limit = target_limit(factor, target, section["water_body"])
        lo, hi = LEVEL_OF_TARGET
        levels[factor] = limit * (lo + (hi - lo) * _u(seed, _S_LEVEL, code, factor))
    codmn = levels["codmn"] * (1 + 0.12 * _season(day, 200)) * noise("codmn")
    nh3n = levels["nh3n"] * (1 + 0.35 * _season(day, 15)) * noise("nh3n", 0.15)
    tp = levels["tp"] * (1 + (0.25 if lake else 0.1) * _season(day, 213)) * noise("tp", 0.12)
    polluted = missing_target(code, when.year, when.month, seed, crossing)
    if polluted:
        lo, hi = MISS_FACTOR
        limit = target_limit(polluted, target, section["water_body"])
        level = limit * (lo + (hi - lo) * _u(seed, _S_MISS, code, when.year, when.month, "lvl"))
        value = level * noise(polluted, 0.1)
        codmn, nh3n, tp = (value if polluted == "codmn" else codmn,
                           value if polluted == "nh3n" else nh3n,
                           value if polluted == "tp" else tp)
    tn = (1.2 + 1.4 * _u(seed, _S_STATIC, code, "tn")) * (1 + 0.2 * _season(day, 30)) \
        * noise("tn", 0.1)
    ph = (7.9 if lake else 7.5) + 0.3 * _u(seed, _S_STATIC, code, "ph") + 0.08 * daily
    saturation = do_saturation(out["water_temp"])
    do_share = (0.95 if lake else 0.82) + 0.08 * _n(seed, _S_NOISE, code, when.isoformat(), "do")
    chla = algae = None
    if lake:
        chla = (0.008 + 0.012 * _u(seed, _S_STATIC, code, "chla")) \
            * (1.6 + 0.8 * _season(day, 213)) * noise("chla", 0.2)
        strength = BLOOM_SECTIONS.get(section["section_name"], 0.0) * bloom_shape(when, seed)
        if strength:
            sunlit = 0.6 + 0.4 * max(0.0, math.sin(2 * math.pi * (when.hour - 6) / 24))
            chla *= 1 + 9.0 * strength
            tp *= 1 + 0.9 * strength
            ph += 1.3 * strength * sunlit
            do_share += 0.7 * strength * sunlit
        algae = chla * 1.4e9 * noise("algae", 0.15)
    out.update(ph=min(ph, 9.6), do=max(0.3, saturation * do_share),
               conductivity=(350 + 450 * _u(seed, _S_STATIC, code, "ec")) * noise("ec", 0.03),
               turbidity=(15 + 50 * _u(seed, _S_STATIC, code, "ntu")) * noise("ntu", 0.2),
               codmn=codmn, nh3n=nh3n, tp=tp, tn=tn,
               chla=chla, algae_density=algae)
    return out


# ---------------------------------------------------------------- cnemc-water


def slot_of(when: datetime) -> datetime:
    """The last 4-hour reading slot at or before `when` (00, 04, ... 20 Beijing)."""
    local = when.astimezone(BEIJING)
    return local.replace(hour=local.hour - local.hour % SLOT_HOURS, minute=0, second=0,
                         microsecond=0)


def snapshot_rows(when: datetime, seed: int = DEFAULT_SEED) -> list[list[str]]:
    """The release's tbody as a fetch at `when` sees it."""
    slot = slot_of(when)
    sections = demo_sections()
    provinces = province_names_zh()
    cities = _city_names()
    crossing = crossing_sections()
    body, shown = [], []
    for _, section in sections.iterrows():
        code = section["section_code"]
        if _u(seed, _S_OUTAGE, code, slot.isoformat()) < OUTAGE_RATE:
            continue  # station down: not in this snapshot
        values = reading(section, slot, seed, crossing)
        cells, display = [], {}
        for item in AUTO:
            value = values.get(item)
            key = (code, slot.isoformat(), item)
            if value is None or _u(seed, _S_CELL, *key) < MISSING_CELL_RATE:
                cells.append("--")
                continue
            raw = round(value, RAW_DECIMALS[item])
            disp = round(value, DISPLAY_DECIMALS[item])
            display[item] = disp
            cells.append(_cell(raw, disp, _u(seed, _S_CELL, *key, "bad")))
        title = f"所在地市:{cities.get(section['city_code'], '')};所属河流:{section['water_name']}"
        body.append([provinces[section["province_code"]], section["basin"],
                     f"<span class='mn' title='{title}'>{section['feed_name']}</span>",
                     f"{slot:%m-%d %H:%M}", "", *cells, "正常"])
        shown.append({"water_body": section["water_body"], **display})
    # The publisher's class, from the values it displays (rounded).
    classes = classify(pd.DataFrame(shown, columns=["water_body", *AUTO]))["water_class"]
    for row, name in zip(body, classes, strict=True):
        row[4] = "--" if pd.isna(name) else _roman(name)
    return body


def write_snapshot(directory: Path, when: datetime, seed: int = DEFAULT_SEED) -> Path:
    """Write the release page a fetch at `when` gets; its mtime is the fetch time."""
    body = snapshot_rows(when, seed)
    page = {"result": 1, "message": "", "thead": THEAD, "tbody": body, "total": 1,
            "records": len(body)}
    path = Path(directory) / SNAPSHOT_NAME.format(when.astimezone(BEIJING))
    write_bytes_atomic(path, json.dumps(page, ensure_ascii=False).encode("utf-8"))
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def fetch_times(first: date, last: date) -> list[datetime]:
    """Every 4-hour fetch of the days first..last (Beijing)."""
    start = datetime(first.year, first.month, first.day, tzinfo=BEIJING)
    count = ((last - first).days + 1) * 24 // SLOT_HOURS
    return [start + timedelta(hours=SLOT_HOURS * i) + FETCH_DELAY for i in range(count)]


def _cell(raw: float, shown: float, pick: float) -> str:
    if pick < MALFORMED_CELL_RATE / 3:
        return f"<span>{_fmt(shown)}</span>"  # no title: the raw value is lost
    if pick < 2 * MALFORMED_CELL_RATE / 3:
        return "<span title='原始值：维护'>维护</span>"  # text, not a number
    if pick < MALFORMED_CELL_RATE:
        return f"<span title='原始值：-{_fmt(raw)}'>-{_fmt(shown)}</span>"
    return f"<span title='原始值：{_fmt(raw)}'>{_fmt(shown)}</span>"


def _fmt(value: float) -> str:
    return f"{value:.10g}" if abs(value) < 1e7 else f"{value:.0f}"


def _roman(name: str) -> str:
    table = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ", "V": "Ⅴ", "劣V": "劣Ⅴ"}
    return table[name]


def _city_names() -> dict[str, str]:
    from envmon.core.reference import load_cities

    cities = load_cities()
    return dict(zip(cities["city_code"], cities["name_zh"], strict=True))


# ---------------------------------------------------------------- lab-monthly

LAB_COLUMNS = (
    ("water_temp", "水温(℃)", 1), ("ph", "pH(无量纲)", 2), ("do", "溶解氧(mg/L)", 2),
    ("codmn", "高锰酸盐指数(mg/L)", 1), ("cod", "化学需氧量(mg/L)", 0),
    ("bod5", "五日生化需氧量(mg/L)", 1), ("nh3n", "氨氮(mg/L)", 3), ("tp", "总磷(mg/L)", 3),
    ("tn", "总氮(mg/L)", 2), ("copper", "铜(mg/L)", 4), ("zinc", "锌(mg/L)", 3),
    ("fluoride", "氟化物(mg/L)", 2), ("selenium", "硒(mg/L)", 4), ("arsenic", "砷(mg/L)", 4),
    ("mercury", "汞(mg/L)", 5), ("cadmium", "镉(mg/L)", 4), ("cr6", "六价铬(mg/L)", 3),
    ("lead", "铅(mg/L)", 4), ("cyanide", "氰化物(mg/L)", 3), ("phenol", "挥发酚(mg/L)", 4),
    ("petroleum", "石油类(mg/L)", 2), ("las", "阴离子表面活性剂(mg/L)", 2),
    ("sulfide", "硫化物(mg/L)", 3), ("fecal_coliform", "粪大肠菌群(个/L)", 0),
    ("chla", "叶绿素α(mg/L)", 4), ("sd", "透明度(m)", 2),
)
# Background levels (mg/L; fecal coliform per L) and detection limits: a
# value below its limit is written the lab way, "0.0004L".
LAB_BACKGROUND = {"copper": (0.004, 0.001), "zinc": (0.02, 0.005), "fluoride": (0.45, 0.05),
                  "selenium": (0.0003, 0.0004), "arsenic": (0.002, 0.0003),
                  "mercury": (0.00002, 0.00004), "cadmium": (0.0003, 0.0001),
                  "cr6": (0.005, 0.004), "lead": (0.002, 0.001), "cyanide": (0.003, 0.004),
                  "phenol": (0.0006, 0.0003), "petroleum": (0.02, 0.01),
                  "las": (0.06, 0.05), "sulfide": (0.008, 0.01)}


def write_lab_month(directory: Path, year: int, month: int, seed: int = DEFAULT_SEED) -> Path:
    """The month's laboratory file: one sample per section, sampled the 8th-17th at 10:00."""
    header = ["断面编码", "断面名称", "采样日期", "采样时间", *[h for _, h, _ in LAB_COLUMNS]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    crossing = crossing_sections()
    for _, section in demo_sections().iterrows():
        code = section["section_code"]
        day = 8 + int(_u(seed, _S_LAB, code, year, month) * 10)
        when = datetime(year, month, day, 10, 0, tzinfo=BEIJING)
        auto = reading(section, when, seed, crossing)
        lake = section["water_body"] == "lake"
        cells = []
        for item, _, decimals in LAB_COLUMNS:
            wobble = math.exp(0.1 * _n(seed, _S_LAB, code, year, month, item))
            if item in auto and auto[item] is not None:
                value = auto[item] * (wobble if item != "ph" else 1.0)
            elif item == "cod":
                value = 3.2 * auto["codmn"] * wobble
            elif item == "bod5":
                value = 0.55 * auto["codmn"] * wobble
            elif item == "fecal_coliform":
                value = 800 * math.exp(1.2 * _n(seed, _S_LAB, code, year, month, "fc"))
            elif item == "sd":
                value = (0.35 if lake else 0.6) * wobble
            elif item in LAB_BACKGROUND:
                level, limit = LAB_BACKGROUND[item]
                value = level * wobble
                if value < limit:
                    cells.append(f"{limit:.6f}".rstrip("0") + "L")
                    continue
            else:
                value = None
            cells.append("" if value is None else f"{round(value, decimals):.{decimals}f}")
        if _u(seed, _S_LAB, code, year, month, "typo") < 0.04:
            cells[4] = "1O.2"  # a typed letter O in COD: one malformed cell
        writer.writerow([code, section["section_name"], f"{when:%Y-%m-%d}", "10:00", *cells])
    path = Path(directory) / LAB_NAME.format(year, month)
    write_bytes_atomic(path, out.getvalue().encode("utf-8"))
    return path

"""Column contracts of the water datasets.

Every measured item is one float column in the unit of reference/water/items.csv
(mg/L unless noted: water_temp ℃, ph dimensionless, conductivity μS/cm,
turbidity NTU, fecal_coliform per litre, algae_density cells/L, sd metres).
`ts` is the sampling time, tz-aware Beijing time (UTC+8): the automatic
stations report an instant every 4 hours, not an averaging period, so a
reading belongs to the date of its own `ts`.
"""

from __future__ import annotations

READINGS = "water_readings"
DAILY = "water_section_daily"
MONTHLY = "water_section_monthly"
COMPENSATION = "water_compensation"
COMPENSATION_FACTORS = "water_compensation_factors"
# Per section and day: what a period's means are made of (internal, no warehouse view).
DAILY_SUMS = "water_section_daily_sums"

# The automatic stations' items, in the order of the real-time release.
AUTO_ITEMS: tuple[str, ...] = ("water_temp", "ph", "do", "conductivity", "turbidity", "codmn",
                               "nh3n", "tp", "tn", "chla", "algae_density")
# The rest of GB 3838-2002 Table 1 (laboratory), plus Secchi depth for the TLI.
LAB_ITEMS: tuple[str, ...] = ("cod", "bod5", "copper", "zinc", "fluoride", "selenium", "arsenic",
                              "mercury", "cadmium", "cr6", "lead", "cyanide", "phenol",
                              "petroleum", "las", "sulfide", "fecal_coliform", "sd")
ITEMS: tuple[str, ...] = AUTO_ITEMS + LAB_ITEMS

# What a source adapter returns. `source_line` is the 1-based record number
# in the delivery (JSON row across pages, or CSV line). `items_refused` lists
# the items whose cells were refused (malformed, negative, out of range); a
# value refused for its range is still in its column until shaping (see
# sources/common.refuse_out_of_range).
PARSED_COLUMNS: tuple[str, ...] = (
    "section_code", "section_name", "ts", "sample_kind", *ITEMS, "do_saturation_pct",
    "feed_class", "feed_province", "feed_basin", "feed_city", "feed_river", "below_detection",
    "items_refused", "source_line",
)

SECTION_COLUMNS: tuple[str, ...] = (
    "section_name", "province_code", "city_code", "water_body", "water_type_source",
    "water_name", "registered",
)

CLASS_COLUMNS: tuple[str, ...] = (
    "water_class", "class_rank", "deciding_items", "items_evaluated", "tn_class",
    "fecal_coliform_class",
)

# class_complete: false when a refused cell's item could have made the
# reading's class worse (it is used for the class, and the class is not 劣V).
READINGS_COLUMNS: tuple[str, ...] = (
    "section_code", *SECTION_COLUMNS, "ts", "date", "sample_kind", *ITEMS, "do_saturation_pct",
    *CLASS_COLUMNS, "class_complete", "items_refused", "feed_class", "class_mismatch",
    "feed_province", "feed_basin", "feed_city", "feed_river", "below_detection", "source",
    "run_id",
)

# Daily and monthly marts share one shape (the period is the partition).
PERIOD_COLUMNS: tuple[str, ...] = (
    "section_code", *SECTION_COLUMNS, "cross_boundary", "upstream_code", "downstream_code",
    "n_readings", "n_days", *ITEMS, *CLASS_COLUMNS, "class_label", "target_class",
    "target_rank", "compliant", "tli", "tli_band", "tli_params", "tli_note", "sources",
)

# A period's sums, so that a month is assessed from its days' sums rather than
# from every reading again: per item the sum and the count of its values.
SUM_COLUMNS: tuple[str, ...] = tuple(f"sum_{item}" for item in ITEMS)
COUNT_COLUMNS: tuple[str, ...] = tuple(f"n_{item}" for item in ITEMS)
SUMS_COLUMNS: tuple[str, ...] = (
    "section_code", *SECTION_COLUMNS, "n_readings", "n_days", "sources",
    *SUM_COLUMNS, *COUNT_COLUMNS,
)

COMPENSATION_COLUMNS: tuple[str, ...] = (
    "section_code", "section_name", "upstream_code", "upstream_name", "downstream_code",
    "downstream_name", "target_class", "water_class", "compliant", "flow_m3s", "flow_m3",
    "flow_source", "two_way", "amount_cny", "payer_code", "payer_name", "payee_code",
    "payee_name", "factors_complete", "detail", "scheme",
)

FACTOR_COLUMNS: tuple[str, ...] = (
    "section_code", "factor", "measured_mg_l", "target_mg_l", "delta_mg_l", "flow_m3",
    "load_t", "price_cny_per_t", "amount_cny", "counted",
)

_TEXT = {"section_code", "section_name", "province_code", "city_code", "water_body",
         "water_type_source",
         "water_name", "sample_kind", "water_class", "deciding_items", "tn_class",
         "fecal_coliform_class", "feed_class", "feed_province", "feed_basin", "feed_city",
         "feed_river", "below_detection", "items_refused", "source", "run_id", "upstream_code",
         "downstream_code", "class_label", "target_class", "tli_band", "tli_params",
         "tli_note", "sources", "upstream_name", "downstream_name", "flow_source",
         "payer_code", "payer_name", "payee_code", "payee_name", "detail", "scheme", "factor"}
_BOOL = {"registered", "class_mismatch", "class_complete", "cross_boundary", "compliant",
         "two_way", "factors_complete", "counted"}
_INT = {"class_rank", "items_evaluated", "n_readings", "n_days", "target_rank", *COUNT_COLUMNS}


def arrow_type(column: str):  # -> pa.DataType; pyarrow imported lazily for DAG parsing
    import pyarrow as pa

    if column == "ts":
        return pa.timestamp("us", tz="Asia/Shanghai")
    if column in _TEXT:
        return pa.string()
    if column in _BOOL:
        return pa.bool_()
    if column in _INT:
        return pa.int32()
    return pa.float64()


def arrow_schema(columns: tuple[str, ...], partition: str | None = None):  # -> pa.Schema
    """Stored columns (the partition column lives in the path, not the file)."""
    import pyarrow as pa

    return pa.schema([(c, arrow_type(c)) for c in columns if c != partition])


def readings_schema():
    return arrow_schema(READINGS_COLUMNS, "date")


def period_schema():
    return arrow_schema(PERIOD_COLUMNS)


def sums_schema():
    return arrow_schema(SUMS_COLUMNS)


def compensation_schema():
    return arrow_schema(COMPENSATION_COLUMNS)


def factor_schema():
    return arrow_schema(FACTOR_COLUMNS)


def lake_tables() -> dict:
    """Water lake datasets -> full schema (with the partition column)."""
    import pyarrow as pa

    def with_(schema_fn, name, kind):
        return lambda: schema_fn().append(pa.field(name, kind))

    return {
        READINGS: with_(readings_schema, "date", pa.date32()),
        DAILY: with_(period_schema, "date", pa.date32()),
        MONTHLY: with_(period_schema, "month", pa.string()),
        COMPENSATION: with_(compensation_schema, "month", pa.string()),
        COMPENSATION_FACTORS: with_(factor_schema, "month", pa.string()),
    }

"""Column contracts of the hazardous-waste lake datasets.

A delivery (one manifest export) is stored as three datasets that share the
manifest's partition, the month of its `entered_at` in Beijing time:

- hw_manifests      one row per manifest *version* (manifest_no, version)
- hw_waste_lines    one row per line of a version (manifest_no, version, line)
- hw_events         one row per lifecycle event; `version` is "" for a status
                    update delivered on its own (not nested in a manifest)

`version` is a fingerprint of what the shipper declares (number, kind,
entry time, shipper, receiver, approval, lines' codes and tonnes), so a
re-delivery with more progress (events, received quantities, carrier
details) replaces the stored rows, while a manifest number carrying other
contents is kept beside the first one as evidence.

Delivered approvals go to hw_approvals. The derived datasets
hw_manifest_state, hw_anomalies and hw_flows (the monthly flows, by
departure month) are recomputed from all of the above on every run. Tonnes
are metric tonnes (t); times are instants stored with the Asia/Shanghai zone.
"""

from __future__ import annotations

MANIFESTS = "hw_manifests"
LINES = "hw_waste_lines"
EVENTS = "hw_events"
APPROVALS = "hw_approvals"
STATE = "hw_manifest_state"
ANOMALIES = "hw_anomalies"
FLOWS = "hw_flows"

# The ledger names this dataset for a whole delivery (one row per delivery).
LEDGER_DATASET = MANIFESTS
# Held shared by every load and exclusively by the refresh (derive.refresh),
# which must read the stored exports whole and consistent.
LAKE_LOCK = "hazwaste.lake"

MONTH = "month"  # partition column: YYYY-MM of entered_at (Beijing)
# Inside a month, one part file per source and day of entered_at (status
# updates: of their own time), so a daily export rewrites only the days it
# carries: <source>.<YYYY-MM-DD>.parquet.
DAY = "_day"

EVENT_TYPES: tuple[str, ...] = ("created", "departed", "received", "confirmed", "rejected",
                                "corrected")

_TS = "ts"
_STR = "str"
_F64 = "f64"
_I32 = "i32"
_I64 = "i64"
_BOOL = "bool"
_DATE = "date"

MANIFEST_COLUMNS: dict[str, str] = {
    "manifest_no": _STR, "version": _STR, "kind": _STR, "entered_at": _TS,
    "shipper_id": _STR, "shipper_name": _STR, "shipper_adcode": _STR,
    "carrier_id": _STR, "carrier_name": _STR, "carrier_permit_no": _STR, "vehicle_plate": _STR,
    "receiver_id": _STR, "receiver_name": _STR, "receiver_adcode": _STR,
    "receiver_licence_no": _STR, "approval_no": _STR,
    "line_count": _I32, "quantity_t": _F64, "received_t": _F64,
    "export_system": _STR, "export_province": _STR, "exported_at": _TS,
    "delivery_sha256": _STR, "source_record": _I64, "source": _STR, "run_id": _STR,
}

LINE_COLUMNS: dict[str, str] = {
    "manifest_no": _STR, "version": _STR, "line": _I32, "waste_code": _STR, "waste_name": _STR,
    "characteristics": _STR, "form": _STR, "packaging": _STR,
    "quantity": _F64, "unit": _STR, "quantity_t": _F64,
    "received_quantity": _F64, "received_t": _F64,
    "exported_at": _TS, "source": _STR, "run_id": _STR,
}

EVENT_COLUMNS: dict[str, str] = {
    "manifest_no": _STR, "version": _STR, "event_type": _STR, "at": _TS, "actor": _STR,
    "seq": _I32, "exported_at": _TS, "source": _STR, "run_id": _STR,
}

APPROVAL_COLUMNS: dict[str, str] = {
    "approval_no": _STR, "dest_province": _STR, "shipper_id": _STR,
    "receiver_id": _STR, "waste_codes": _STR, "approved_tonnes": _F64,
    "valid_from": _DATE, "valid_to": _DATE, "whitelist": _BOOL,
    "exported_at": _TS, "source": _STR, "run_id": _STR,
}
APPROVAL_PARTITION = "origin_province"

STATE_COLUMNS: dict[str, str] = {
    "manifest_no": _STR, "version": _STR, "current": _BOOL, "superseded_by": _STR,
    "state": _STR, "created_at": _TS, "departed_at": _TS, "received_at": _TS,
    "confirmed_at": _TS, "rejected_at": _TS, "corrected_at": _TS, "last_event_at": _TS,
    "events": _I32, "lifecycle_violations": _I32,
    "origin_city_code": _STR, "origin_city": _STR, "origin_province_code": _STR,
    "origin_province": _STR, "dest_city_code": _STR, "dest_city": _STR,
    "dest_province_code": _STR, "dest_province": _STR, "cross_province": _BOOL,
    "sources": _STR, "source": _STR, "as_of": _TS,
}
# Stored with the state so that hw_manifests reads one dataset: the header
# of the copy the state names (`source`), and the version's anomaly counts.
STATE_HEADER_COLUMNS: dict[str, str] = {
    "kind": _STR, "entered_at": _TS, "shipper_id": _STR, "shipper_name": _STR,
    "shipper_adcode": _STR, "carrier_id": _STR, "carrier_name": _STR,
    "carrier_permit_no": _STR, "vehicle_plate": _STR, "receiver_id": _STR,
    "receiver_name": _STR, "receiver_adcode": _STR, "receiver_licence_no": _STR,
    "approval_no": _STR, "line_count": _I32, "quantity_t": _F64, "received_t": _F64,
    "exported_at": _TS, "anomalies": _I64, "high_anomalies": _I64,
}

# hw_flows_monthly, written by the refresh; partition `month` is the departure month.
FLOW_COLUMNS: dict[str, str] = {
    "origin_province_code": _STR, "origin_province": _STR, "dest_province_code": _STR,
    "dest_province": _STR, "cross_province": _BOOL, "category": _STR, "manifests": _I64,
    "lines": _I64, "shipped_t": _F64, "received_t": _F64,
}

ANOMALY_COLUMNS: dict[str, str] = {
    "manifest_no": _STR, "version": _STR, "anomaly": _STR, "severity": _STR, "rule": _STR,
    "fields": _STR, "detail": _STR, "as_of": _TS,
}

TABLES: dict[str, dict[str, str]] = {
    MANIFESTS: MANIFEST_COLUMNS, LINES: LINE_COLUMNS, EVENTS: EVENT_COLUMNS,
    APPROVALS: APPROVAL_COLUMNS, STATE: {**STATE_COLUMNS, **STATE_HEADER_COLUMNS},
    ANOMALIES: ANOMALY_COLUMNS, FLOWS: FLOW_COLUMNS,
}

# Lake keys. Lines and nested events are replaced as a group per manifest
# version (a re-delivery carries its whole list); status updates and
# manifests are upserted by their own key.
KEYS: dict[str, tuple[str, ...]] = {
    MANIFESTS: ("manifest_no", "version"),
    LINES: ("manifest_no", "version"),
    EVENTS: ("manifest_no", "version"),
    APPROVALS: ("approval_no",),
}
STATUS_EVENT_KEYS: tuple[str, ...] = ("manifest_no", "version", "event_type", "at", "actor")


def arrow_schema(dataset: str):  # -> pa.Schema; pyarrow imported lazily (DAG parsing)
    """Stored columns of a dataset (the partition column lives in the path)."""
    import pyarrow as pa

    types = {_TS: pa.timestamp("us", tz="Asia/Shanghai"), _STR: pa.string(),
             _F64: pa.float64(), _I32: pa.int32(), _I64: pa.int64(), _BOOL: pa.bool_(),
             _DATE: pa.date32()}
    return pa.schema([(name, types[kind]) for name, kind in TABLES[dataset].items()])


def day_part(source: str, day: str) -> str:
    """The part file (without .parquet) of one source's rows of one day."""
    return f"{source}.{day}"


def partition_column(dataset: str) -> str:
    return APPROVAL_PARTITION if dataset == APPROVALS else MONTH


def lake_tables() -> dict:
    """Every hazwaste lake dataset -> full schema (with its partition column)."""
    import pyarrow as pa

    return {name: (lambda n=name: arrow_schema(n).append(pa.field(partition_column(n),
                                                                  pa.string())))
            for name in TABLES}

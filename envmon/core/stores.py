"""Small tables envmon keeps beside the lake: the alert store and the commitment status.

On the files layout each is Parquet under ENVMON_HOME, rewritten whole by its
owner (envmon/alerts/store.py, envmon/reporting/status.py). On the lakehouse
each is a table of its own, rewritten in one transaction, so workers on
different hosts read and write the same rows with no shared file system: an
alert's notice is queued and sent once whichever worker evaluates the rules,
and a report computed on one host is in every host's `commitment_status`.

Warehouse SQL reads a store as `{{store:NAME}}` (envmon.core.warehouse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from envmon.core import refs

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Store:
    name: str  # the lakehouse table; `{{store:NAME}}` in warehouse SQL
    files: str  # its Parquet file(s) under ENVMON_HOME on the files layout (a glob)
    schema_ref: str  # "module:ATTRIBUTE" of its Arrow schema, imported when needed

    def schema(self) -> pa.Schema:
        return refs.resolve(self.schema_ref)


STORES: dict[str, Store] = {store.name: store for store in (
    Store("alerts", "alerts/alerts.parquet", "envmon.alerts.store:ALERT_SCHEMA"),
    Store("alert_events", "alerts/alert_events.parquet", "envmon.alerts.store:EVENT_SCHEMA"),
    Store("alert_outbox", "alerts/outbox.parquet", "envmon.alerts.store:OUTBOX_SCHEMA"),
    Store("commitment_status", "reporting/commitment_status/*.parquet",
          "envmon.reporting.status:STATUS_SCHEMA"),
)}


def store(name: str) -> Store:
    try:
        return STORES[name]
    except KeyError:
        raise KeyError(f"unknown store {name!r} (known: {', '.join(STORES)})") from None


def ensure(name: str) -> None:
    """Create the store's lakehouse table, empty, if it does not exist yet."""
    from envmon.core import lake_tables, lakehouse

    schema = store(name).schema()
    lakehouse.run(lambda: lake_tables.ensure_table(name, schema))


def read(name: str) -> pa.Table:
    """The store's rows on the lakehouse."""
    from envmon.core import lake_tables

    schema = store(name).schema()
    quoted = ", ".join(f'"{column}"' for column in schema.names)
    rows = lake_tables.select_arrow(name, f"SELECT {quoted} FROM {{table}}")
    return schema.empty_table() if rows is None else rows.cast(schema)


def rewrite(name: str, table: pa.Table, **equal: str) -> None:
    """On the lakehouse: `table` replaces the store's rows (those whose columns
    equal the values given), in one transaction."""
    from envmon.core import lake_tables

    lake_tables.rewrite(name, table.cast(store(name).schema()), **equal)


def append(name: str, table: pa.Table) -> None:
    """On the lakehouse: add rows, in one transaction."""
    from envmon.core import lake_tables, lakehouse

    lakehouse.run(lambda: lake_tables.append(name, table.cast(store(name).schema())))

"""Build warehouse.duckdb: views over the lake and marts, from warehouse/*.sql.

DuckDB allows one read-write process or many read-only ones, never both, so
loads never write the warehouse file: the builder writes a new file and
renames it into place. An analyst who holds the old file open keeps reading
it; the next connection sees the new one. The views read the lake's Parquet
through globs, so partitions written after a build show up without one.

Layers: warehouse/*.sql create every view in one of the DuckDB schemas
LAYERS (raw, curated, marts; docs/warehouse.md lists them), and the build
then gives each the same name in `main`, so analysts and the code go on
querying `air_daily_city` unqualified.

Core knows no domain: which lake datasets exist, and their schemas, comes
from above. Callers pass `tables` to build() and render();
envmon.domains.build_warehouse() passes every domain's.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from envmon.core import lakehouse
from envmon.core.atomic import write_atomic
from envmon.core.locks import dataset_lock
from envmon.core.settings import WAREHOUSE_SQL_DIR, home

_PLACEHOLDER = re.compile(
    r"\{\{\s*(lake|ledger|quarantine|reference|home|files|store)(?::([a-z0-9_/.*]+))?\s*\}\}")
_LAKE = re.compile(r"\{\{\s*lake:")


# The schemas warehouse/*.sql create views in, lowest first: raw (straight
# over what was delivered or recorded), curated (envmon's resolved and
# computed datasets), marts (derived for questions and reports).
LAYERS = ("raw", "curated", "marts")


@dataclass(frozen=True)
class LakeTable:
    """A lake dataset as warehouse SQL names it: {{lake:NAME}} reads lake/<dataset>/."""

    dataset: str  # the directory under lake/
    schema: Callable[[], pa.Schema]  # full schema, partition column included


# {{lake:NAME}} -> the dataset; a bare schema callable means NAME is the directory.
LakeTables = Mapping[str, LakeTable | Callable[[], pa.Schema]]

def _sql_tables(tables: LakeTables) -> dict[str, LakeTable]:
    return {name: t if isinstance(t, LakeTable) else LakeTable(name, t)
            for name, t in tables.items()}


def build(tables: LakeTables, target: Path | None = None) -> Path:
    """Rebuild the warehouse file from warehouse/*.sql, in file-name order.

    `tables`: what {{lake:NAME}} may name.
    Builds take turns: a build renders the views of the datasets that exist
    when it starts, so two loads finishing together must not let the build
    that started first (before the other's data landed) be renamed last.
    """
    resolved = _sql_tables(tables)
    with dataset_lock("warehouse", host=True):
        return _build(target, resolved)


def _build(target: Path | None, tables: dict[str, LakeTable]) -> Path:
    import duckdb

    target = target or home().warehouse
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique name: workers in different containers can share a pid.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        con = duckdb.connect(str(tmp))
        try:
            if lakehouse.active():
                # Read-write so the first build creates the embedded catalog
                # that read-only connections attach to.
                lakehouse.attach(con)
            for layer in LAYERS:
                con.execute(f"CREATE SCHEMA {layer}")
            for sql_file in sorted(WAREHOUSE_SQL_DIR.glob("*.sql")):
                con.execute(render(sql_file.read_text(encoding="utf-8"), tables))
            _name_in_main(con)
            con.execute("CHECKPOINT")
            tables_seen = _lake_table_names(con) if lakehouse.active() else None
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    _record_tables(tables_seen, target)
    _write_attach_file(target)
    return target


def attach_file(target: Path | None = None) -> Path:
    """The DuckDB CLI's -init file beside the warehouse (lakehouse only)."""
    target = target or home().warehouse
    return target.with_name(f"{target.stem}.attach.sql")


def _write_attach_file(target: Path) -> None:
    """On the lakehouse the views read `lake.<table>`, which a plain
    `duckdb warehouse.duckdb` has not attached: this file's statements do it,
    read-only, so `duckdb -readonly -init warehouse.attach.sql warehouse.duckdb`
    opens the views as on files. Not written with the data on S3: the bucket's
    keys stay out of files (`envmon lakehouse info` prints the statements)."""
    path = attach_file(target)
    if not lakehouse.active() or lakehouse.settings().s3 is not None:
        path.unlink(missing_ok=True)
        return
    text = "\n".join(lakehouse.attach_sql()) + "\n"
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _name_in_main(con) -> None:  # con: duckdb.DuckDBPyConnection
    """Every layer's view under the same name in main, where analysts look.

    A name in two layers, or a view created in main directly, is a mistake in
    warehouse/*.sql: the build fails rather than let one hide the other.
    """
    rows = con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal "
        "AND database_name = current_database() ORDER BY view_name").fetchall()
    unlayered = sorted(v for s, v in rows if s not in LAYERS)
    if unlayered:
        raise ValueError(f"warehouse SQL creates views outside the layers {LAYERS}: "
                         f"{', '.join(unlayered)}")
    seen: dict[str, str] = {}
    for schema, view in rows:
        if view in seen:
            raise ValueError(f"view {view} is in two layers: {seen[view]} and {schema}")
        seen[view] = schema
        con.execute(f'CREATE VIEW main."{view}" AS SELECT * FROM {schema}."{view}"')


def render(sql: str, tables: LakeTables) -> str:
    """Replace {{lake:NAME}}, {{reference:NAME}}, {{ledger}}, {{quarantine}},
    {{store:NAME}} (envmon.core.stores), {{files:PATH}} (a file or glob under
    ENVMON_HOME) and {{home}} with readers."""
    lake = _sql_tables(tables) if _LAKE.search(sql) else {}
    return _PLACEHOLDER.sub(lambda m: _relation(m.group(1), m.group(2), lake), sql)


def _relation(kind: str, name: str | None, tables: dict[str, LakeTable]) -> str:
    h = home()
    if kind == "home":
        return _quote(str(h.root))
    if kind == "files":
        return _files_reader(h.root / name)
    if kind == "store":
        return _store_reader(name)
    if kind == "reference":
        from envmon.core.reference import reference_path

        # Codes are keys with leading zeros and letters: read every cell as text.
        path = _quote(str(reference_path(f"{name}.csv")))
        return f"read_csv({path}, header = true, all_varchar = true)"
    if kind == "ledger":
        if lakehouse.active():
            return _lake_table_reader(_ledger_table(), _ledger_schema())
        return _reader(h.ledger / "runs", "*.parquet", _ledger_schema(), hive=False)
    if kind == "quarantine":
        if lakehouse.active():
            return _lake_table_reader(_quarantine_table(), _quarantine_schema())
        return _reader(h.quarantine, "**/*.parquet", _quarantine_schema(), hive=False)
    if name not in tables:
        hint = [n for n, t in tables.items() if t.dataset == name]
        raise KeyError(f"warehouse SQL names unknown lake dataset {name!r}"
                       + (f" (lake/{name}/ is named {hint[0]} in warehouse SQL)" if hint else ""))
    table = tables[name]
    if lakehouse.active():
        return _lake_table_reader(table.dataset, table.schema())
    return _reader(h.dataset(table.dataset), "*/*.parquet", table.schema(), hive=True)


def _lake_table_reader(name: str, schema: pa.Schema) -> str:
    """The lakehouse table (without the part column), or an empty typed file
    until the first load creates it (the build after that load reads the table)."""
    from envmon.core import lake_tables

    columns = lake_tables.columns(name)
    if not columns:
        return _empty_reader(name, schema)
    relation = lake_tables.table_name(name)
    if lake_tables.PART in columns:
        return f"(SELECT * EXCLUDE ({lake_tables.PART}) FROM {relation})"
    return f"(SELECT * FROM {relation})"


def _store_reader(name: str) -> str:
    """A store's rows: its lakehouse table, created empty here if no host wrote
    it yet (so rows a later run writes show up without a build), or its files."""
    from envmon.core import stores

    if lakehouse.active():
        stores.ensure(name)
        return f"(SELECT * FROM {lakehouse.ALIAS}.\"{name}\")"
    return _files_reader(home().root / stores.store(name).files)


def _reader(directory: Path, pattern: str, schema: pa.Schema, *, hive: bool) -> str:
    """read_parquet over the files, or over an empty typed file when none exist yet.

    A view over a glob that matches nothing fails at query time, and an
    analyst should see an empty table with the right columns instead.
    """
    if any(directory.glob(pattern)):
        glob = _quote(str(directory / pattern))
        if not hive:
            return f"read_parquet({glob}, union_by_name = true)"
        reader = f"read_parquet({glob}, union_by_name = true, hive_partitioning = true)"
        keys = sorted({p.name.split("=", 1)[0] for p in directory.glob("*=*") if p.is_dir()})
        if not keys:
            return reader
        # DuckDB 1.5 answers min()/max() of a partition column from the
        # partitions' statistics and fails there (INTERNAL Error "Attempted to
        # access index N within vector of size N"; 1.4 and 2.0 do not). An
        # expression over the column (coalesce) takes that shortcut away and
        # keeps the file filters a WHERE on the column gives.
        replaced = ", ".join(f'coalesce("{k}", NULL) AS "{k}"' for k in keys)
        return f"(SELECT * REPLACE ({replaced}) FROM {reader})"
    return _empty_reader(directory.name, schema)


def _empty_reader(name: str, schema: pa.Schema) -> str:
    empty = home().root / "lake_schemas" / f"{name}.parquet"
    # Written atomically: another build may be reading it at this moment.
    write_atomic(empty, lambda tmp: pq.write_table(schema.empty_table(), tmp))
    return f"read_parquet({_quote(str(empty))})"


def _files_reader(pattern: Path) -> str:
    """read_parquet over files another part of envmon writes under ENVMON_HOME,
    found at query time, empty (not an error) while none exist.

    DuckDB 1.5 has no `allow_empty`: a pattern that matches nothing fails,
    both when the view is created and when it is read. So an empty file
    (one column `empty`, no rows; the SQL drops that column) lies in
    `_empty/` beside the files, and the view reads `<dir>/**/<name>`: `**`
    matches no directory too, so the real files are found whenever they
    appear, and the owner's own reads (a file or a one-level glob) never see
    the stand-in. Temporary files (`.name.*.tmp`) do not end in the name.
    """
    directory, name = pattern.parent, pattern.name
    stand_in = directory / "_empty" / name.replace("*", "none")
    if not stand_in.exists():
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        empty = pa.table({"empty": pa.array([], pa.bool_())})
        write_atomic(stand_in, lambda tmp: pq.write_table(empty, tmp))
    return f"read_parquet({_quote(str(directory / '**' / name))}, union_by_name = true)"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ledger_schema() -> pa.Schema:
    from envmon.core.ledger import LEDGER_SCHEMA

    return LEDGER_SCHEMA


def _ledger_table() -> str:
    from envmon.core.ledger import RUNS_TABLE

    return RUNS_TABLE


def _quarantine_table() -> str:
    from envmon.core.quarantine import QUARANTINE_TABLE

    return QUARANTINE_TABLE


def _quarantine_schema() -> pa.Schema:
    from envmon.core.quarantine import QUARANTINE_SCHEMA

    return QUARANTINE_SCHEMA


def connect_read_only(path: Path | None = None, *, as_of: datetime | int | None = None):
    """A read-only connection, as analysts open it (a duckdb.DuckDBPyConnection).

    `as_of` (lakehouse only): the views read the lakehouse as it was then, a
    time or a snapshot id (`envmon lakehouse snapshots`). Without `path`,
    this host's warehouse file, built first when it is missing or older than
    a lakehouse table (`_build_this_host`).
    """
    own = path is None
    path = path or home().warehouse
    if own and not path.exists() and _lakehouse_has_tables():
        _build_this_host()
    if not path.exists():
        from envmon.core.errors import EnvmonError

        raise EnvmonError(f"{path}: no warehouse yet; run `envmon demo` or an ingest first")
    if as_of is not None and not lakehouse.active():
        from envmon.core.errors import EnvmonError

        raise EnvmonError("reading the warehouse as of a past time needs the lakehouse "
                          "(ENVMON_STORAGE=lakehouse): Parquet files keep no history")
    con = _open(path, as_of)
    if own and lakehouse.active() and as_of is None and _tables_since_build(con, path):
        con.close()
        _build_this_host()
        con = _open(path, as_of)
    return con


def _open(path: Path, as_of: datetime | int | None):
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    if lakehouse.active():
        try:
            lakehouse.attach(con, read_only=True, as_of=as_of)
        except BaseException:
            con.close()
            raise
    return con


# This host's warehouse file is derived: on a lakehouse other hosts write
# to, it may be missing (a new worker) or older than a table another host
# created (its view then reads an empty stand-in). Opening it builds it
# then, and a build needs every domain's tables: named here by reference,
# as core/stores.py names its schemas, so core imports no domain.
_DOMAIN_TABLES = "envmon.domains:warehouse_lake_tables"


def _build_this_host() -> None:
    from envmon.core import refs

    build(refs.resolve(_DOMAIN_TABLES)())


def _lakehouse_has_tables() -> bool:
    """Whether the lakehouse holds anything a warehouse could show (a new
    host's empty home reports "no warehouse yet" instead of building)."""
    if not lakehouse.active():
        return False
    config = lakehouse.settings()
    if not config.shared and not (home().root / lakehouse.EMBEDDED_CATALOG).exists():
        return False
    return bool(_lake_table_names(lakehouse.session()))


def _lake_table_names(con) -> set[str]:  # con: duckdb connection with the lakehouse attached
    return {name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
        [lakehouse.ALIAS]).fetchall()}


def _tables_file(target: Path) -> Path:
    return target.with_name(f"{target.stem}.tables")


def _record_tables(seen: set[str] | None, target: Path) -> None:
    """The lakehouse tables a build saw, beside the file (read by `_tables_since_build`)."""
    if seen is None:
        _tables_file(target).unlink(missing_ok=True)
        return
    text = "\n".join(sorted(seen)) + "\n"
    write_atomic(_tables_file(target), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _tables_since_build(con, path: Path) -> bool:
    """Whether the lakehouse has a table the build of `path` did not see."""
    try:
        seen = set(_tables_file(path).read_text(encoding="utf-8").split())
    except FileNotFoundError:
        return True  # built before envmon recorded them
    return bool(_lake_table_names(con) - seen)


# Statement kinds SQL written by people may run on a locked connection.
# SET is one because the locked configuration already decides which settings
# may change (TimeZone only). Everything else is refused, COPY and EXPORT in
# particular: DuckDB would let them write inside the directories the views read.
READING_STATEMENTS = ("SELECT", "SET")
# Settings a locked connection may still change: docs/warehouse.md tells
# analysts to SET TimeZone to read `ts` in Beijing time.
_CHANGEABLE_SETTINGS = ("TimeZone",)


def connect_locked(path: Path | None = None, *, as_of: datetime | int | None = None):
    """A read-only connection for SQL people write (`envmon query`, alert rules).

    It reads the files the warehouse views read and no other: DuckDB's
    external access is off, with the views' directories as the only
    exceptions, and the configuration is locked so SQL cannot turn it back
    on. Pair it with `refuse_writes(sql)`.
    """
    con = connect_read_only(path, as_of=as_of)
    try:
        con.execute(f"SET allowed_directories = [{_sql_list(_view_directories())}]")
        con.execute(f"SET allowed_configs = [{_sql_list(_CHANGEABLE_SETTINGS)}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def refuse_writes(sql: str) -> None:
    """Raise EnvmonError unless every statement in `sql` is a SELECT or a SET."""
    import duckdb

    from envmon.core.errors import EnvmonError

    for statement in duckdb.extract_statements(sql):
        kind = statement.type.name
        if kind not in READING_STATEMENTS:
            raise EnvmonError(f"{kind} statement refused: the warehouse is read-only here "
                              f"({' and '.join(READING_STATEMENTS)} only)")


def _view_directories() -> list[str]:
    """Every directory the views read (render() and warehouse/*.sql), as DuckDB prefixes."""
    from envmon.core.reference import reference_dir
    from envmon.core.settings import REFERENCE_DIR

    h = home()
    directories = [
        h.lake, h.ledger / "runs", h.quarantine,
        h.root / "lake_schemas",  # the empty typed files of _reader()
        h.root / "alerts",  # warehouse/80_alerts.sql
        h.root / "reporting" / "commitment_status",  # warehouse/70_commitments.sql
        # Outside ENVMON_HOME: the reference CSVs (provinces, cities, stations,
        # sections) ship with the code, and ENVMON_REFERENCE_DIR may replace
        # some of them (reference_path()).
        REFERENCE_DIR, reference_dir(),
    ]
    # allowed_directories are prefixes: the trailing separator keeps lake/
    # from also allowing lake_schemas/ or a sibling named lake2/.
    prefixes = [os.path.join(str(d), "") for d in directories]
    if lakehouse.active():
        config = lakehouse.settings()
        # Kept a string: Path() would fold s3://bucket/ into s3:/bucket/, which
        # matches no data file, and every rule on a shared lakehouse failed.
        prefixes.append(config.data_path.rstrip("/") + "/")
        if not config.shared:
            prefixes.append(os.path.join(
                str(Path(config.catalog.removeprefix("sqlite:")).parent), ""))
    return prefixes


def _sql_list(items: list[str] | tuple[str, ...]) -> str:
    return ", ".join(_quote(str(item)) for item in items)

"""The lakehouse: DuckLake tables behind one connection, in two configurations.

Issue 14 moves storage off our own locks onto DuckLake, DuckDB's multi-writer
table format: a catalog database holds the tables, their snapshots and the
list of their Parquet data files; writers commit transactions against the
catalog, and a commit that conflicts with another writer's fails whole and is
retried (`transact`), never half-applied.

- **embedded** (the default): the catalog is a SQLite file and the data files
  lie under ENVMON_HOME/lakehouse. SQLite lets several local processes write
  (DuckLake retries its "database is locked"), so the parallel ingest workers
  of one host keep working; no server is needed.
- **shared**: ENVMON_LAKEHOUSE_CATALOG is a PostgreSQL connection string
  (libpq keywords, e.g. `host=pg dbname=envmon user=envmon`) and
  ENVMON_LAKEHOUSE_DATA an `s3://bucket/prefix` URL; workers on different
  hosts share only those two services. Secrets come from the environment
  only: the PostgreSQL password from PGPASSWORD (libpq's own variable), the
  bucket's keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and for an
  S3-compatible store that is not AWS, ENVMON_S3_ENDPOINT (host:port),
  ENVMON_S3_USE_SSL and ENVMON_S3_URL_STYLE.

The extensions (ducklake, sqlite, postgres, httpfs) are DuckDB's signed
builds from the `duckdb-extension-*` wheels in the lock, loaded from
site-packages; autoinstall is off, so nothing is downloaded at run time.

Storage: ENVMON_STORAGE=lakehouse (the default) puts the lake tables, marts,
quarantine, ledger and landed bytes on the lakehouse (envmon.core.lake_tables),
one transaction per stored group (`run`); `files` keeps them as Parquet files
under ENVMON_HOME, as before issue 14. docs/lakehouse.md says what is on it
and what is not yet.
"""

from __future__ import annotations

import importlib
import os
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from envmon.core.atomic import file_mode_umask
from envmon.core.errors import ConfigError, EnvmonError
from envmon.core.settings import home

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")

ALIAS = "lake"
# ENVMON_STORAGE: where the lake, quarantine and ledger are kept.
STORAGES = ("files", "lakehouse")
# Embedded unless configured shared (`settings`): needs no server, like files.
DEFAULT_STORAGE = "lakehouse"
# Under ENVMON_HOME: the embedded lakehouse's catalog.
EMBEDDED_CATALOG = Path("lakehouse") / "catalog.sqlite"
# One row per scope that writers claim (see `transact`); envmon's own table.
CLAIMS = "envmon_claims"
# The extensions loaded, each from its wheel `duckdb_extension_<name>`: the
# format, the two catalogs (embedded, shared) and S3.
EXTENSIONS = ("ducklake", "sqlite_scanner", "postgres_scanner", "httpfs")


@dataclass(frozen=True)
class S3Store:
    """An S3-compatible bucket; keys from the environment, never from files."""

    key_id: str
    secret: str
    region: str
    endpoint: str | None  # host:port of a store that is not AWS (MinIO, moto)
    use_ssl: bool
    url_style: str  # "path" for most S3-compatible stores, "vhost" for AWS


@dataclass(frozen=True)
class LakehouseSettings:
    """Where the catalog and the data files are."""

    catalog: str  # DuckLake's catalog spec: "sqlite:<file>" or "postgres:<libpq string>"
    data_path: str  # a directory, or s3://bucket/prefix/
    s3: S3Store | None = None

    @property
    def shared(self) -> bool:
        return self.catalog.startswith("postgres:")

    def describe(self) -> str:
        """For logs and errors: never the password (libpq takes it from PGPASSWORD)."""
        kind = "shared" if self.shared else "embedded"
        return f"{kind} lakehouse: catalog {self.catalog}, data {self.data_path}"


def settings() -> LakehouseSettings:
    """The configuration from the environment: embedded unless a catalog is named."""
    catalog = os.environ.get("ENVMON_LAKEHOUSE_CATALOG", "").strip()
    data = os.environ.get("ENVMON_LAKEHOUSE_DATA", "").strip()
    if not catalog:
        if data:
            raise ConfigError("ENVMON_LAKEHOUSE_DATA is set but ENVMON_LAKEHOUSE_CATALOG is "
                              "not: the embedded lakehouse keeps its data under ENVMON_HOME")
        return embedded(home().root)
    if "password=" in catalog.replace(" ", "").lower():
        raise ConfigError("ENVMON_LAKEHOUSE_CATALOG holds a password: pass it in PGPASSWORD")
    if not data:
        raise ConfigError("ENVMON_LAKEHOUSE_CATALOG is set: ENVMON_LAKEHOUSE_DATA must say "
                          "where the data files go (s3://bucket/prefix/)")
    if not data.endswith("/"):
        data += "/"
    return LakehouseSettings(f"postgres:{catalog}", data,
                             _s3_store() if data.startswith("s3://") else None)


def embedded(root: Path) -> LakehouseSettings:
    """The embedded lakehouse of the ENVMON_HOME at `root`: a SQLite catalog
    and the data files beside it, under root/lakehouse."""
    return LakehouseSettings(f"sqlite:{root / EMBEDDED_CATALOG}",
                             str(root / EMBEDDED_CATALOG.parent / "data") + "/")


def _s3_store() -> S3Store:
    missing = [v for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not os.environ.get(v)]
    if missing:
        raise ConfigError(f"the lakehouse data are on S3 but {', '.join(missing)} "
                          "is not set")
    endpoint = os.environ.get("ENVMON_S3_ENDPOINT", "").strip() or None
    use_ssl = os.environ.get("ENVMON_S3_USE_SSL", "true").strip().lower() not in ("0", "false")
    default_style = "path" if endpoint else "vhost"
    return S3Store(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                   os.environ.get("AWS_REGION", "us-east-1"), endpoint, use_ssl,
                   os.environ.get("ENVMON_S3_URL_STYLE", default_style))


def extension_file(module: str) -> Path:
    """The extension binary a `duckdb-extension-*` wheel installed, for this DuckDB."""
    import duckdb

    try:
        package = importlib.import_module(f"duckdb_extension_{module}")
    except ImportError:
        raise ConfigError(f"the wheel duckdb-extension-{module.replace('_', '-')} is not "
                          "installed (`make install`)") from None
    found = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    binaries = sorted(found.glob("*.duckdb_extension"))
    if not binaries:
        raise ConfigError(f"duckdb-extension-{module} has no build for DuckDB "
                          f"{duckdb.__version__} (looked in {found})")
    return binaries[0]


def connect(config: LakehouseSettings | None = None, *,
            read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lakehouse attached as `lake`.

    The embedded catalog and data directory are created on first use; a
    read-only connection needs the catalog to exist.
    """
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    try:
        with file_mode_umask():  # the embedded catalog and data directory, when new
            attach(con, config, read_only=read_only)
    except Exception:
        con.close()
        raise
    return con


def attach(con: duckdb.DuckDBPyConnection, config: LakehouseSettings | None = None, *,
           read_only: bool = False, as_of: datetime | int | None = None) -> None:
    """Load the extensions into `con` and attach the lakehouse there as `lake`.

    `as_of` (read-only): the lakehouse as it was at that time (a datetime) or
    snapshot (an int): every view over it then says what it said then.
    """
    import duckdb

    config = config or settings()
    for module in EXTENSIONS:
        con.execute(f"LOAD '{_quote(str(extension_file(module)))}'")
    if config.s3 is not None:
        con.execute(_s3_secret(config.s3))
    if not config.shared:
        catalog_file = Path(config.catalog.removeprefix("sqlite:"))
        if read_only and not catalog_file.exists():
            raise ConfigError(f"no lakehouse catalog at {catalog_file}")
        catalog_file.parent.mkdir(parents=True, exist_ok=True)
        Path(config.data_path).mkdir(parents=True, exist_ok=True)
    options = [f"DATA_PATH '{_quote(config.data_path)}'"]
    if read_only:
        options.append("READ_ONLY")
    if isinstance(as_of, int):
        options.append(f"SNAPSHOT_VERSION {as_of}")
    elif as_of is not None:
        options.append(f"SNAPSHOT_TIME '{as_of.isoformat()}'")
    statement = f"ATTACH 'ducklake:{_quote(config.catalog)}' AS {ALIAS} ({', '.join(options)})"
    for attempt in range(_ATTACH_ATTEMPTS):
        try:
            con.execute(statement)
            return
        except duckdb.Error as exc:
            # Two processes creating a new catalog at once: SQLite's lock, or
            # PostgreSQL refusing the second CREATE TABLE of the metadata
            # ("duplicate key value ... pg_type_typname_nsp_index"). Once
            # the first has made it, attaching again finds it.
            racing = "Failed to initialize DuckLake" in str(exc)
            if as_of is not None and "No snapshot found" in str(exc):
                raise EnvmonError(
                    f"the lakehouse has no snapshot at {as_of}: before its first commit, or "
                    "older than the snapshots upkeep keeps (config/lakehouse.yaml, "
                    "upkeep.keep_days; `envmon lakehouse snapshots` lists them)") from exc
            if attempt + 1 == _ATTACH_ATTEMPTS or not (racing or _transient(exc)):
                raise
            time.sleep(random.uniform(0.05, 0.25))


_ATTACH_ATTEMPTS = 20


def attach_sql(config: LakehouseSettings | None = None) -> list[str]:
    """The statements an analyst pastes into the DuckDB CLI (1.5.5) to attach the
    lakehouse read-only: the same signed extension files, no download, and the
    bucket's keys written as <AWS_ACCESS_KEY_ID> and <AWS_SECRET_ACCESS_KEY> for the
    analyst to fill in, never their values."""
    config = config or settings()
    lines = [f"LOAD '{_quote(str(extension_file(module)))}';" for module in EXTENSIONS]
    if config.s3 is not None:
        store = config.s3
        masked = S3Store("<AWS_ACCESS_KEY_ID>", "<AWS_SECRET_ACCESS_KEY>", store.region,
                         store.endpoint, store.use_ssl, store.url_style)
        lines.append(_s3_secret(masked) + ";")
    lines.append(f"ATTACH 'ducklake:{_quote(config.catalog)}' AS {ALIAS} "
                 f"(DATA_PATH '{_quote(config.data_path)}', READ_ONLY);")
    return lines


def _s3_secret(store: S3Store) -> str:
    parts = [f"KEY_ID '{_quote(store.key_id)}'", f"SECRET '{_quote(store.secret)}'",
             f"REGION '{_quote(store.region)}'", f"URL_STYLE '{_quote(store.url_style)}'",
             f"USE_SSL {'true' if store.use_ssl else 'false'}"]
    if store.endpoint:
        parts.append(f"ENDPOINT '{_quote(store.endpoint)}'")
    return f"CREATE OR REPLACE SECRET envmon_lakehouse (TYPE s3, {', '.join(parts)})"


def _quote(text: str) -> str:
    return text.replace("'", "''")


def transact(con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T],
             *, claims: Sequence[str] = (), attempts: int = 20,
             backoff: float = 0.05, known_claims: set[str] | None = None) -> tuple[T, int]:
    """Run `work` in one transaction; on a commit conflict, roll back and run it again.

    DuckLake refuses a commit that conflicts with one another writer made since
    this transaction began (both deleting the same rows, a table changed under
    it) or that the embedded catalog's lock keeps out: the whole transaction
    is undone, so running `work` again from the start is safe as long as
    `work` only reads and writes through `con`. Returns the work's value and the number of conflicts
    retried; after `attempts` conflicts the last one is raised.

    DuckLake detects conflicts on the rows and files a transaction changed, not
    on what it read: two transactions that each delete a key's rows (finding
    none) and insert the key both commit, and the key is there twice
    (tests/deploy/test_lakehouse_shared.py shows it). A transaction that
    replaces rows therefore names the scopes it replaces (`claims`, e.g. a
    dataset and day): it rewrites each scope's row of the claims table first,
    so two transactions claiming one scope change the same row and the later
    commit conflicts and runs again on what the first one wrote.
    `known_claims`: the scopes whose rows this connection already saw (kept
    by `run` per session), so their rows are not looked up again.

    A data file the transaction's snapshot lists can be gone when it reads it:
    upkeep merged it into another and deleted it (`upkeep.grace_hours` after
    the merge, 0 when a bureau asks). The transaction is undone and runs
    again on the latest snapshot, which reads the merged file instead: a
    snapshot taken after the deletion never lists the file. So the same file
    missing twice is lost, not merged, and that error is raised.
    """
    with file_mode_umask():  # the Parquet files DuckLake writes for the embedded lakehouse
        return _transact(con, work, claims, attempts, backoff, known_claims)


def _transact(con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T],
              claims: Sequence[str], attempts: int, backoff: float,
              known_claims: set[str] | None) -> tuple[T, int]:
    if claims:
        _ensure_claim_rows(con, claims, known_claims)
    conflicts = 0
    vanished: set[str] = set()
    while True:
        con.execute("BEGIN TRANSACTION")
        try:
            for scope in claims:
                con.execute(f"DELETE FROM {ALIAS}.{CLAIMS} WHERE scope = ?", [scope])
                con.execute(f"INSERT INTO {ALIAS}.{CLAIMS} VALUES (?)", [scope])
            value = work(con)
            con.execute("COMMIT")
            return value, conflicts
        except BaseException as exc:
            _rollback(con)
            missing = _missing_data_file(exc)
            if missing:
                if missing in vanished:  # listed again by a fresh snapshot: lost
                    raise
                vanished.add(missing)
            elif not _transient(exc):
                raise
            conflicts += 1
            if conflicts >= attempts:
                raise
            # Randomised backoff so two writers that collided do not collide again.
            time.sleep(random.uniform(0, backoff * min(conflicts, 10)))


def _ensure_claim_rows(con: duckdb.DuckDBPyConnection, claims: Sequence[str],
                       known: set[str] | None) -> None:
    """The claims table and a row per scope, committed before the claiming
    transaction starts: a claim conflicts only on a row both writers saw.
    Two writers adding one scope's first row at once leave two rows; each claim
    deletes all of them, which conflicts just the same."""
    if known is not None and known.issuperset(claims):
        # A scope's row, once committed, is never removed (a claim rewrites
        # it in place): a session that has seen it need not look again.
        return

    def add(c: duckdb.DuckDBPyConnection) -> None:
        c.execute(f"CREATE TABLE IF NOT EXISTS {ALIAS}.{CLAIMS} (scope VARCHAR)")
        have = {s for (s,) in c.execute(f"SELECT DISTINCT scope FROM {ALIAS}.{CLAIMS}")
                .fetchall()}
        missing = [s for s in dict.fromkeys(claims) if s not in have]
        if missing:
            c.executemany(f"INSERT INTO {ALIAS}.{CLAIMS} VALUES (?)", [[s] for s in missing])

    transact(con, add)
    if known is not None:
        known.update(claims)


def _transient(exc: BaseException) -> bool:
    """A commit conflict, or the embedded catalog busy with another writer's commit.

    SQLite lets one writer commit at a time and a reader's open transaction
    holds it off; DuckLake retries that itself for a while
    (ducklake_max_retry_count), then raises, and a read can meet the lock too.
    A PostgreSQL catalog runs DuckLake's metadata statements at REPEATABLE
    READ, so two hosts changing one metadata row at once (both setting a new
    table's options) see the later one refused: it is undone whole, like a
    commit conflict, and runs again.
    """
    import duckdb

    if isinstance(exc, duckdb.TransactionException):
        return True
    return isinstance(exc, duckdb.Error) and any(sign in str(exc) for sign in _BUSY)


# What a busy catalog says: SQLite's lock; PostgreSQL's serialization
# failure (SQLSTATE 40001) and deadlock (40P01), which it asks clients to retry.
_BUSY = ("database is locked", "could not serialize access", "deadlock detected")


def _missing_data_file(exc: BaseException) -> str:
    """The name of the lakehouse data file whose read failed because it is not
    there (S3: 404 NoSuchKey; a local data path: no such file), else ""."""
    import duckdb

    text = str(exc)
    found = _DATA_FILE.search(text)
    if isinstance(exc, duckdb.IOException) and found and any(s in text for s in _MISSING):
        return found.group(0)
    return ""


# DuckLake names its data and delete files ducklake-<uuid>[-delete].parquet.
_DATA_FILE = re.compile(r"ducklake-[0-9a-f-]{36}(-delete)?\.parquet")
_MISSING = ("404", "NoSuchKey", "No such file or directory")


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    import duckdb

    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # a failed COMMIT has already ended the transaction


def active() -> bool:
    """True when the lakehouse holds the lake: ENVMON_STORAGE, else `storage()`."""
    return storage() == "lakehouse"


def storage() -> str:
    """ENVMON_STORAGE when set; else the lakehouse, but for an ENVMON_HOME that
    already holds the files layout and no lakehouse (loaded before the
    lakehouse became the default): that home stays on files, so an upgrade
    never hides what it loaded. docs/lakehouse.md, "Using it"."""
    chosen = os.environ.get("ENVMON_STORAGE", "").strip()
    if chosen:
        if chosen not in STORAGES:
            raise ConfigError(f"ENVMON_STORAGE={chosen!r}: expected one of "
                              f"{', '.join(STORAGES)}")
        return chosen
    if os.environ.get("ENVMON_LAKEHOUSE_CATALOG", "").strip():
        return "lakehouse"  # a shared lakehouse configured
    # Every load on the files layout writes a ledger row under ledger/runs.
    where = home()
    if (where.ledger / "runs").is_dir() and not (where.root / EMBEDDED_CATALOG).exists():
        return "files"
    return DEFAULT_STORAGE


class _Sessions(threading.local):
    """Per thread: open connections by configuration, and the one in a transaction."""

    def __init__(self) -> None:
        self.open: dict[tuple[int, LakehouseSettings], duckdb.DuckDBPyConnection] = {}
        self.claimed: dict[tuple[int, LakehouseSettings], set[str]] = {}
        self.current: duckdb.DuckDBPyConnection | None = None
        # The transaction in progress: what its writers keep until commit
        # (lake_tables batches writes there), and what runs before the commit.
        self.state: dict = {}
        self.hooks: list[Callable[[], None]] = []


_sessions = _Sessions()


def session() -> duckdb.DuckDBPyConnection:
    """This thread's read-write connection to the configured lakehouse.

    Attaching costs tens of milliseconds (extensions, catalog), so it is kept
    for the life of the process; keyed by pid so a forked worker opens its own.
    """
    key = (os.getpid(), settings())
    con = _sessions.open.get(key)
    if con is None:
        con = connect(key[1])
        con.execute("SET TimeZone = 'UTC'")
        _sessions.open[key] = con
    return con


def current() -> duckdb.DuckDBPyConnection:
    """The connection of the transaction `run` holds, else a fresh session."""
    return _sessions.current if _sessions.current is not None else session()


def run(work: Callable[[], T], *, claims: Sequence[str] = ()) -> T:
    """`work()` as one transaction on this thread's session, retried on conflict.

    Inside another `run` it is part of that transaction (its claims were
    made by the outer one). `work` reads and writes through `current()` and
    must be safe to run again from the start.
    """
    if _sessions.current is not None:
        return work()
    con = session()
    _sessions.current = con

    def attempt(_con: duckdb.DuckDBPyConnection) -> T:
        _sessions.state, _sessions.hooks = {}, []
        value = work()
        for hook in _sessions.hooks:
            hook()
        return value

    try:
        known = _sessions.claimed.setdefault((os.getpid(), settings()), set())
        value, _ = transact(con, attempt, claims=claims, known_claims=known)
    finally:
        _sessions.current = None
        _sessions.state, _sessions.hooks = {}, []
    return value


def transaction_state() -> dict | None:
    """A dict that lives as long as this attempt of the `run` transaction in
    progress (cleared when a conflict starts it again); None outside one."""
    return _sessions.state if _sessions.current is not None else None


def before_commit(hook: Callable[[], None]) -> None:
    """Call `hook` at the end of this `run` transaction's work, before it commits."""
    if _sessions.current is None:
        raise RuntimeError("before_commit outside a lakehouse transaction")
    if hook not in _sessions.hooks:
        _sessions.hooks.append(hook)


@dataclass(frozen=True)
class Snapshot:
    """One committed version of the lakehouse."""

    snapshot_id: int
    time: object  # datetime, UTC
    changes: dict


def snapshots(con: duckdb.DuckDBPyConnection) -> list[Snapshot]:
    """Every snapshot, oldest first."""
    rows = con.execute(f"SELECT snapshot_id, snapshot_time, changes "
                       f"FROM {ALIAS}.snapshots() ORDER BY snapshot_id").fetchall()
    return [Snapshot(int(i), t, dict(c or {})) for i, t, c in rows]

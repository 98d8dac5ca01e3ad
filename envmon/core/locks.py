"""Inter-process locks: two ingests touching one dataset take turns.

A lock is an flock on ENVMON_HOME/locks/<name>.lock, or, when the lake is a
shared lakehouse (a PostgreSQL catalog that several hosts write), a
PostgreSQL advisory lock in that catalog's database, so processes on every
host take turns (issue 14). Both are released when the process dies (the
kernel closes the file; PostgreSQL ends the session), so a SIGKILLed ingest
never leaves a stale lock behind. Locks on what only this host has (its
warehouse file, its leftovers) stay flocks. Which lock guards what is
listed in docs/architecture.md ("Concurrency").
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from envmon.core.errors import EnvmonError
from envmon.core.names import checked
from envmon.core.settings import home

# Held shared by every process that writes the lake, quarantine or ledger
# (loads and derived refreshes); taken exclusively by `envmon reconcile`, so
# it only ever sees the leftovers of processes that are gone. Of this host:
# the leftovers are in its ENVMON_HOME.
ACTIVITY = "activity"


@contextmanager
def dataset_lock(name: str, *, shared: bool = False, host: bool = False) -> Iterator[None]:
    """Hold the lock `name`, exclusive unless `shared`.

    Shared holders run together and keep out an exclusive one: loads of
    different sources share the hazardous-waste lake while a refresh, which
    must read it whole and consistent, waits for them. On a shared lakehouse
    the lock holds across hosts, unless `host`: what it guards is this
    host's alone (its warehouse file).
    """
    catalog = None if host else _shared_catalog()
    if catalog is not None:
        with _advisory(catalog, name, shared=shared):
            yield
    else:
        with _flock(name, fcntl.LOCK_SH if shared else fcntl.LOCK_EX):
            yield


@contextmanager
def loading() -> Iterator[None]:
    """Mark this process as writing ENVMON_HOME (see ACTIVITY)."""
    with dataset_lock(ACTIVITY, shared=True, host=True):
        yield


class Busy(EnvmonError):
    """Another envmon process holds the lock asked for without waiting."""


@contextmanager
def alone() -> Iterator[None]:
    """Exclusive ACTIVITY without waiting: no load or refresh runs meanwhile."""
    with _flock(ACTIVITY, fcntl.LOCK_EX | fcntl.LOCK_NB):
        yield


@contextmanager
def _flock(name: str, mode: int) -> Iterator[None]:
    path: Path = home().locks / f"{checked(name, 'lock name')}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), mode)
        except BlockingIOError as exc:
            raise Busy("another envmon load or refresh is running on this ENVMON_HOME; "
                       "run this again when it has finished") from exc
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _shared_catalog() -> str | None:
    """The libpq connection string of the shared lakehouse's catalog, if the
    lake is on one; None on files and on the embedded lakehouse (one host)."""
    from envmon.core import lakehouse

    if not lakehouse.active():
        return None
    config = lakehouse.settings()
    return config.catalog.removeprefix("postgres:") if config.shared else None


def advisory_key(name: str) -> int:
    """The bigint PostgreSQL's advisory locks take, for a lock name."""
    digest = hashlib.blake2b(f"envmon:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _advisory(catalog: str, name: str, *, shared: bool) -> Iterator[None]:
    """A session-level advisory lock on a connection of its own, held until
    it is closed; the password comes from PGPASSWORD, as for the catalog."""
    import psycopg2

    checked(name, "lock name")
    try:
        con = psycopg2.connect(catalog, application_name=f"envmon lock {name}")
    except psycopg2.Error as exc:
        raise EnvmonError(f"lock {name}: cannot reach the lakehouse catalog's PostgreSQL "
                          f"({str(exc).strip()})") from exc
    try:
        con.autocommit = True
        with con.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock_shared(%s)" if shared
                           else "SELECT pg_advisory_lock(%s)", [advisory_key(name)])
        yield
    finally:
        con.close()  # ends the session, which releases the lock

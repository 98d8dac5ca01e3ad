"""Inter-process locks: two ingests touching one dataset take turns.

Every lock is an flock on ENVMON_HOME/locks/<name>.lock: released by the
kernel when the process dies, so a SIGKILLed ingest never leaves a stale lock
behind. Which lock guards what is listed in docs/architecture.md
("Concurrency").
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from envmon.core.errors import EnvmonError
from envmon.core.names import checked
from envmon.core.settings import home

# Held shared by every process that writes the lake, quarantine or ledger
# (loads and derived refreshes); taken exclusively by `envmon reconcile`, so
# it only ever sees the leftovers of processes that are gone.
ACTIVITY = "activity"


@contextmanager
def dataset_lock(name: str, *, shared: bool = False) -> Iterator[None]:
    """Hold an flock on ENVMON_HOME/locks/<name>.lock, exclusive unless `shared`.

    Shared holders run together and keep out an exclusive one: loads of
    different sources share the hazardous-waste lake while a refresh, which
    must read it whole and consistent, waits for them.
    """
    with _flock(name, fcntl.LOCK_SH if shared else fcntl.LOCK_EX):
        yield


@contextmanager
def loading() -> Iterator[None]:
    """Mark this process as writing ENVMON_HOME (see ACTIVITY)."""
    with dataset_lock(ACTIVITY, shared=True):
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

"""Inter-process locks: two ingests touching one dataset take turns."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.core.settings import home


@contextmanager
def dataset_lock(name: str) -> Iterator[None]:
    """Hold an exclusive flock on ENVMON_HOME/locks/<name>.lock.

    flock is released by the kernel when the process dies, so a SIGKILLed
    ingest never leaves a stale lock behind.
    """
    path: Path = home().locks / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

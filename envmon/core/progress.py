"""Progress on long work: one line per run, warnings and errors to stderr."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from envmon.core.ledger import RunRecord


class Reporter(Protocol):
    def say(self, text: str) -> None: ...

    def run(self, record: RunRecord, position: str = "") -> None: ...


class ConsoleReporter:
    """What `envmon` prints: `[3/31] file.csv: ok, 4,305 loaded, 19 quarantined (0.4s, run ...)`."""

    def say(self, text: str) -> None:
        print(text, flush=True)

    def run(self, record: RunRecord, position: str = "") -> None:
        print(f"{position}{record.summary()}", flush=True)
        if record.message:
            failed = record.status in ("failed", "incomplete")
            label = {"failed": "error", "incomplete": "warning"}.get(record.status, "note")
            print(f"  {label}: {record.message}", file=sys.stderr if failed else sys.stdout,
                  flush=True)


class SilentReporter:
    def say(self, text: str) -> None:
        pass

    def run(self, record: RunRecord, position: str = "") -> None:
        pass

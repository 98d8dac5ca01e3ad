"""What a domain is asked to do: typed requests, so nothing below the CLI sees argparse.

The command line (envmon/cli.py) turns its arguments into an IngestRequest
or a PullRequest and hands it to the domain (envmon/<domain>/domain.py). A
domain's own options are a frozen dataclass whose fields carry a Flag in
their metadata (`option(...)`): the CLI adds one command-line flag per
field and builds the dataclass from what was given, so a domain declares
an option once and never touches the parser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

from envmon.core.progress import Reporter, SilentReporter

Options = TypeVar("Options")


@dataclass(frozen=True)
class Flag:
    """How an option field appears on the command line."""

    name: str  # e.g. "--fetched-at"
    help: str
    metavar: str | None = None
    required: bool = False
    # Reads the text; ValueError (with a reason) is a usage error naming the flag.
    parse: Callable[[str], Any] | None = None


def option(flag: Flag, default: Any = None) -> Any:
    """A dataclass field that is also a command-line flag."""
    return field(default=default, metadata={"flag": flag})


@dataclass(frozen=True)
class NoOptions:
    """A command that has no options of its domain's own."""


@dataclass(frozen=True)
class DayWindow:
    """A pull of whole days, first to last (Beijing dates), as most sources deliver."""

    start: date = option(Flag("--start", "first day, YYYY-MM-DD (Beijing)", required=True,
                              parse=date.fromisoformat))
    end: date = option(Flag("--end", "last day, YYYY-MM-DD (Beijing), inclusive",
                            required=True, parse=date.fromisoformat))


@dataclass(frozen=True)
class IngestRequest(Generic[Options]):
    """`envmon ingest <domain>`: load these files in this format."""

    paths: tuple[Path, ...]
    fmt: str
    options: Options
    source: str | None = None  # recorded with the rows; default the format
    force: bool = False  # reload bytes already loaded
    data_docs: bool = True  # render Great Expectations Data Docs
    reporter: Reporter = field(default_factory=SilentReporter)


@dataclass(frozen=True)
class PullRequest(Generic[Options]):
    """`envmon pull <domain>`: fetch from a configured source, then load."""

    source: str
    options: Options
    force: bool = False
    data_docs: bool = True
    reporter: Reporter = field(default_factory=SilentReporter)

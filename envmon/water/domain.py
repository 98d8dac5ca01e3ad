"""Cross-boundary surface water as a domain of the envmon command line and warehouse."""

from __future__ import annotations

from dataclasses import dataclass

from envmon.core.requests import Flag, IngestRequest, PullRequest, option
from envmon.water.sources import FORMATS as SOURCE_FORMATS

NAME = "water"
HELP = "surface water (national real-time release, monthly laboratory results)"
# `envmon ingest --workers N`: files of this domain load independently.
PARALLEL_INGEST = True
FORMATS = SOURCE_FORMATS  # --format value -> Format (what it is, its parser)


# The times stay text until the load reads them (water.fetch_time.parse_time), so
# a bad one is an error of the load, exit 1, with the expected spelling.
@dataclass(frozen=True)
class IngestOptions:
    fetched_at: str | None = option(Flag(
        "--fetched-at", metavar="TIMESTAMP",
        help="when a cnemc-water page was fetched (ISO, default Beijing time); it gives the "
             "readings' year. Default: the landed file's record of it, then the file's "
             "modification time"))


@dataclass(frozen=True)
class PullOptions:
    at: str | None = option(Flag(
        "--at", metavar="TIMESTAMP",
        help="the fetch time the demo sources simulate (ISO, default now); real sources "
             "always fetch the release as it is now"))


def ingest(request: IngestRequest[IngestOptions]) -> list:
    from envmon.water.fetch_time import parse_time
    from envmon.water.ingest import ingest_files

    text = request.options.fetched_at
    return ingest_files(request.paths, request.fmt, source=request.source,
                        fetched_at=parse_time(text) if text else None, force=request.force,
                        data_docs=request.data_docs, reporter=request.reporter)


def pull(request: PullRequest[PullOptions]) -> list:
    from envmon.water.fetch_time import parse_time
    from envmon.water.pull import pull as pull_source

    text = request.options.at
    return pull_source(request.source, at=parse_time(text) if text else None,
                       force=request.force, data_docs=request.data_docs,
                       reporter=request.reporter)


def lake_tables() -> dict:
    from envmon.water.schema import lake_tables as tables

    return tables()

"""Hazardous-waste transfers as a domain of the envmon command line and warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from envmon.core.requests import DayWindow, Flag, IngestRequest, PullRequest, option
from envmon.hazwaste.sources import FORMATS as SOURCE_FORMATS

NAME = "hazwaste"
HELP = "hazardous-waste transfer manifests (manifest-json, manifest-csv exports)"
# Not in parallel: an export's changes apply over the one before it.
PARALLEL_INGEST = False
FORMATS = SOURCE_FORMATS  # --format value -> Format (what it is, its parser)


def _instant(text: str) -> datetime:
    from envmon.hazwaste.delivery import FieldError, read_time

    try:
        return read_time(text, "time")
    except FieldError as exc:
        raise ValueError(exc.reason) from None


_AS_OF = Flag("--as-of", metavar="TIME", parse=_instant,
              help="'now' for the time-based anomaly rules, ISO 8601 with an offset "
                   "(default: each source's latest export time)")


@dataclass(frozen=True)
class IngestOptions:
    exported_at: datetime | None = option(Flag(
        "--exported-at", metavar="TIME", parse=_instant,
        help="when a manifest-csv file was exported (it does not say; default: the latest "
             "time written in it)"))
    as_of: datetime | None = option(_AS_OF)


@dataclass(frozen=True)
class PullOptions(DayWindow):
    """The export days, and 'now' for the anomaly rules."""

    as_of: datetime | None = option(_AS_OF)


def ingest(request: IngestRequest[IngestOptions]) -> list:
    from envmon.hazwaste.ingest import ingest_files

    return ingest_files(request.paths, request.fmt, source=request.source,
                        exported_at=request.options.exported_at, as_of=request.options.as_of,
                        force=request.force, data_docs=request.data_docs,
                        reporter=request.reporter)


def pull(request: PullRequest[PullOptions]) -> list:
    from envmon.hazwaste.pull import pull as pull_days

    options = request.options
    return pull_days(request.source, options.start, options.end, as_of=options.as_of,
                     force=request.force, data_docs=request.data_docs,
                     reporter=request.reporter)


def lake_tables() -> dict:
    from envmon.hazwaste.schema import lake_tables as tables

    return tables()

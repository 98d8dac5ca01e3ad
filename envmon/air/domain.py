"""Air quality as a domain of the envmon command line and warehouse."""

from __future__ import annotations

from envmon.air.sources import FORMATS as SOURCE_FORMATS
from envmon.core.requests import DayWindow, IngestRequest, NoOptions, PullRequest

NAME = "air"
HELP = "air quality (station archive files, CNEMC archive, OpenAQ)"
# `envmon ingest --workers N`: files of this domain load independently.
PARALLEL_INGEST = True
FORMATS = SOURCE_FORMATS  # --format value -> Format (what it is, its parser)
IngestOptions = NoOptions


PullOptions = DayWindow  # natural days (HJ 633: hours 01-24)


def ingest(request: IngestRequest[NoOptions]) -> list:
    from envmon.air.ingest import ingest_files

    return ingest_files(request.paths, request.fmt, source=request.source, force=request.force,
                        data_docs=request.data_docs, reporter=request.reporter)


def pull(request: PullRequest[PullOptions]) -> list:
    from envmon.air.pull import pull as pull_days

    return pull_days(request.source, request.options.start, request.options.end,
                     force=request.force, data_docs=request.data_docs,
                     reporter=request.reporter)


def lake_tables() -> dict:
    from envmon.air.schema import lake_tables as tables

    return tables()

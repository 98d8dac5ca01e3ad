"""Manifest exports into the lake: the hazardous-waste loader of core.ingest.

A manifest export fills four datasets (manifests, lines, events, approvals)
and is refused or accepted per manifest. `run_deliveries` does what every
delivery shares (landing order, duplicate bytes, parse failures, journal,
locks, ledger row); `ManifestExports` says how an export is checked
(export_checks.py) and stored (export_store.py), with the ledger invariant
rows_in = rows_loaded + rows_quarantined (rows are waste lines, see
envmon/hazwaste/delivery.py).

Re-delivery is idempotent: identical bytes are skipped (ledger marker), and
otherwise every row is upserted by its key, so the same manifests give the
same lake. A manifest version already stored from a *later* export of the
same source is not overwritten by an earlier one (a backfill run after the
daily runs must not turn the clock back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path

from envmon.core.ingest import BatchOptions, Delivery, Parsed, StepClock, run_deliveries
from envmon.core.landing import LandedFile, land_file
from envmon.core.ledger import RunRecord
from envmon.core.progress import Reporter
from envmon.core.quarantine import write_quarantine
from envmon.hazwaste import schema
from envmon.hazwaste.delivery import ManifestExport
from envmon.hazwaste.export_checks import Outcome, check_export
from envmon.hazwaste.export_store import store_export
from envmon.hazwaste.sources import FORMATS

DOMAIN = "hazwaste"


class ManifestExports:
    """The core.ingest Loader of manifest exports: one export at a time, in order.

    Exports are not grouped: which stored versions are stale depends on what
    the exports before this one wrote. The store holds two locks: the
    source's (check-then-write, so two exports of one source take turns from
    the stale check to the ledger row) and the lake's, shared (the refresh
    holds it exclusively, so it never reads half a delivery).
    """

    name = schema.LEDGER_DATASET
    grouped = False

    def check(self, parsed: list[Parsed], options: BatchOptions) -> list[Outcome]:
        return [check_export(p.result, p.record.run_id, data_docs=options.data_docs)
                for p in parsed]

    def locks(self, parsed: list[Parsed], source: str) -> list[tuple[str, bool]]:
        return [(f"{schema.LEDGER_DATASET}.source.{source}", False), (schema.LAKE_LOCK, True)]

    def store(self, parsed: list[Parsed], outcomes: list[Outcome], *, source: str,
              clock: StepClock) -> None:
        for p, outcome in zip(parsed, outcomes, strict=True):
            record, export = p.record, p.result
            with clock("load"):
                notes = store_export(export, outcome, source=source, record=record)
                write_quarantine(outcome.quarantine, run_id=record.run_id,
                                 dataset=schema.LEDGER_DATASET, source=source,
                                 file=";".join(record.files), sha256=record.sha256)
            _account(record, export, outcome, notes)


def ingest_files(paths: Iterable[Path], fmt: str, *, source: str | None = None,
                 exported_at: datetime | None = None, as_of: datetime | None = None,
                 force: bool = False, data_docs: bool = True, refresh: bool = True,
                 reporter: Reporter | None = None) -> list[RunRecord]:
    """`envmon ingest hazwaste`: land and load each file (one run each), then
    recompute manifest states and anomalies once over everything stored."""
    paths = list(paths)
    label = source or fmt

    def deliveries() -> Iterator[LandedFile]:
        for path in paths:
            yield land_file(Path(path), domain=DOMAIN, source=label)

    records = load_exports(deliveries(), fmt, source=label, exported_at=exported_at,
                           force=force, data_docs=data_docs, reporter=reporter,
                           total=len(paths))
    if refresh:
        refresh_derived(as_of=as_of, reporter=reporter)
    return records


def load_exports(landed: Iterable[LandedFile], fmt: str, *, source: str,
                 exported_at: datetime | None = None, force: bool = False,
                 data_docs: bool = True, reporter: Reporter | None = None,
                 total: int | None = None,
                 on_record: Callable[[RunRecord], None] | None = None) -> list[RunRecord]:
    """Parse, check and store landed manifest exports in order (one ledger row each)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown hazwaste format {fmt!r}; known: {', '.join(FORMATS)}")
    done = 0

    def report(record: RunRecord) -> None:
        nonlocal done
        done += 1
        if reporter:
            reporter.run(record, f"[{done}/{total}] " if total else f"[{done}] ")
        if on_record:
            on_record(record)

    deliveries = (Delivery([file], partial(FORMATS[fmt].parse, file.path, name=file.name,
                                          exported_at=exported_at))
                  for file in landed)
    return run_deliveries(ManifestExports(), deliveries, source=source,
                          options=BatchOptions(force=force, data_docs=data_docs),
                          on_record=report)


def refresh_derived(as_of: datetime | None = None, reporter: Reporter | None = None) -> dict:
    from envmon.hazwaste.derive import refresh

    summary = refresh(as_of=as_of)
    if reporter:
        reporter.say(f"hazwaste: {summary['manifests']:,} manifests, "
                     f"{summary['anomalies']:,} anomalies recomputed "
                     f"({summary['seconds']:.1f}s)")
    return summary


def _account(record: RunRecord, delivery: ManifestExport, outcome: Outcome, notes: list[str]
             ) -> None:
    record.rows_in = delivery.rows_in
    record.rows_quarantined = len(outcome.quarantine)
    record.rows_loaded = record.rows_in - record.rows_quarantined
    record.validation_success = outcome.gx_success
    if record.rows_in and not record.rows_loaded:
        # Refused rows of a run that loaded something show in its counts; a
        # run that loaded nothing says so.
        record.status = "failed"
        notes.append(f"nothing in the delivery could be loaded: all {len(delivery.entries)} "
                     "manifests refused (see quarantine)")
    record.message = "; ".join(notes)

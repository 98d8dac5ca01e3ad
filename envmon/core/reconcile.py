"""Reconcile ENVMON_HOME after a crash: leftovers, interrupted runs, unaccounted rows.

A load killed mid-way (SIGKILL, power loss, a full disk) leaves nothing
half-visible: every file is written to a hidden temporary and renamed, and a
run counts as loaded only once its ledger row exists. What it can leave:
- hidden temporary files (`.<name>.<random>.tmp`) in the lake, landing,
  quarantine or ledger;
- a journal entry (`ledger/started/<run_id>.json`) of a run that began
  writing and was never recorded as loaded;
- lake rows and quarantine rows that carry the run id of such a run.

Re-running the same load repairs the data (the lake upsert by key replaces
the interrupted run's rows, quarantine is one file per delivery); this
module finds what is left, removes what is safe to remove, and names the
landed files that still need loading. It runs only when no other envmon
process is loading (locks.alone), so nothing it sees is in progress.

On the lakehouse a load commits whole or not at all, with its bytes in
`lake.landing`: a killed one leaves only its local landed file (and
temporaries). Reconcile names the files landed here whose bytes no commit
holds, whichever host's load it was that should have committed them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from envmon.core import lakehouse
from envmon.core.atomic import orphan_temporaries
from envmon.core.ledger import journal_entries, loaded_by
from envmon.core.locks import Busy, alone, dataset_lock
from envmon.core.settings import home

# A temporary file this old is a leftover: envmon writes each file in well
# under a second, and a pull lands its pages before it takes the loading lock.
ORPHAN_AGE_S = 600


@dataclass
class Findings:
    removed_temporaries: list[Path] = field(default_factory=list)
    repaired_runs: list[str] = field(default_factory=list)  # loaded again since
    interrupted: list[dict] = field(default_factory=list)   # still to load again
    unaccounted_quarantine: list[Path] = field(default_factory=list)
    unaccounted_lake: dict[tuple[str, str], int] = field(default_factory=dict)
    unrecorded: list[Path] = field(default_factory=list)  # landed, never committed (lakehouse)

    @property
    def clean(self) -> bool:
        return not (self.interrupted or self.unaccounted_lake or self.unrecorded)

    def lines(self) -> list[str]:
        out = [f"removed {len(self.removed_temporaries)} leftover temporary file(s)",
               f"{len(self.repaired_runs)} interrupted run(s) since loaded again: journal "
               "entries removed",
               f"removed {len(self.unaccounted_quarantine)} quarantine file(s) of runs the "
               "ledger never recorded"]
        for entry in self.interrupted:
            domain = Path(entry["landed"][0]).parent.parent.name if entry["landed"] else "?"
            out.append(f"interrupted: run {entry['run_id']} ({entry['dataset']}, source "
                       f"{entry['source']}, {', '.join(entry['files'])}) never finished; load "
                       f"it again: envmon ingest {domain} --source {entry['source']} "
                       f"--format FORMAT {' '.join(entry['landed'])}")
        for path in self.unrecorded:
            domain, source = path.parent.parent.name, path.parent.name
            out.append(f"interrupted: {path} was landed here but no load committed it; load "
                       f"it again: envmon ingest {domain} --source {source} --format FORMAT "
                       f"{path}")
        for (dataset, run_id), rows in sorted(self.unaccounted_lake.items()):
            out.append(f"unaccounted: {rows:,} {dataset} row(s) carry run {run_id}, which has "
                       "no ledger row saying it loaded them")
        return out


def reconcile(*, dry_run: bool = False, min_age_s: float = ORPHAN_AGE_S) -> Findings:
    """Find (and unless `dry_run`, clean) what interrupted runs left behind."""
    findings = Findings()
    with alone(), dataset_lock("warehouse", host=True):
        findings.removed_temporaries = sweep_temporaries(min_age_s, dry_run=dry_run)
        if lakehouse.active():
            findings.unrecorded = _unrecorded_landings()
            return findings
        recorded = _ledger_runs()
        for path, entry in journal_entries():
            if loaded_by(entry["dataset"], entry["sha256"]):
                findings.repaired_runs.append(entry["run_id"])
                if not dry_run:
                    path.unlink()
            else:
                findings.interrupted.append(entry)
        findings.unaccounted_quarantine = _unaccounted_quarantine(recorded, dry_run=dry_run)
        findings.unaccounted_lake = _unaccounted_lake(recorded)
    return findings


def sweep_temporaries(min_age_s: float = ORPHAN_AGE_S, *, dry_run: bool = False) -> list[Path]:
    """Remove write_atomic's leftovers older than `min_age_s` (a killed writer's)."""
    root = home()
    now = time.time()
    found = [p for d in (root.lake, root.landing, root.quarantine, root.ledger)
             if d.exists() for p in orphan_temporaries(d)]
    found += sorted(root.root.glob(f".{root.warehouse.name}.*.tmp*"))
    old = [p for p in found if now - p.stat().st_mtime >= min_age_s]
    if not dry_run:
        for path in old:
            path.unlink(missing_ok=True)
    return old


def _unrecorded_landings() -> list[Path]:
    """Files in this host's landing whose bytes are not in `lake.landing`.

    By domain and sha256, not source: the same bytes under a second source
    are a duplicate, recorded in the ledger without a second copy."""
    from envmon.core import lake_tables
    from envmon.core.landing import LANDING_TABLE

    landed = [p for p in sorted(home().landing.glob("*/*/*"))
              if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".meta.json")]
    if not landed:
        return []
    kept = set(lake_tables.select(LANDING_TABLE, "SELECT DISTINCT domain, sha256 FROM {table}"))
    return [p for p in landed if (p.parent.parent.name, p.name.split(".")[0]) not in kept]


def _ledger_runs() -> dict[str, tuple[str, int]]:
    """run_id -> (status, rows_quarantined) of every ledger row."""
    import duckdb

    runs = home().ledger / "runs"
    if not any(runs.glob("*.parquet")):
        return {}
    con = duckdb.connect()
    try:
        rows = con.execute("SELECT run_id, status, rows_quarantined FROM read_parquet(?)",
                           [str(runs / "*.parquet")]).fetchall()
    finally:
        con.close()
    return {run_id: (status, quarantined) for run_id, status, quarantined in rows}


def _unaccounted_quarantine(recorded: dict[str, tuple[str, int]], *, dry_run: bool
                            ) -> list[Path]:
    """Quarantine files whose rows no ledger row counts (a run that stopped)."""
    import pyarrow.parquet as pq

    found = []
    for path in sorted(home().quarantine.glob("*/*/*.parquet")):
        run_ids = set(pq.read_table(path, columns=["run_id"]).column("run_id").to_pylist())
        if any(recorded.get(r, ("", 0))[1] == 0 for r in run_ids):
            found.append(path)
            if not dry_run:
                path.unlink()
    return found


def _unaccounted_lake(recorded: dict[str, tuple[str, int]]) -> dict[tuple[str, str], int]:
    """(dataset, run_id) -> rows, for lake rows of runs not recorded as loaded."""
    import duckdb
    import pyarrow.parquet as pq

    counts: dict[tuple[str, str], int] = {}
    con = duckdb.connect()
    try:
        for dataset in sorted(p for p in home().lake.iterdir() if p.is_dir()) \
                if home().lake.exists() else []:
            files = sorted(dataset.glob("*/*.parquet"))
            if not files or "run_id" not in pq.read_schema(files[0]).names:
                continue
            rows = con.execute(
                "SELECT run_id, count(*) FROM read_parquet(?, union_by_name = true) "
                "GROUP BY run_id", [[str(f) for f in files]]).fetchall()
            for run_id, count in rows:
                if recorded.get(run_id, ("failed", 0))[0] not in ("ok", "incomplete"):
                    counts[(dataset.name, run_id)] = count
    finally:
        con.close()
    return counts


def tidy_if_alone() -> None:
    """Sweep old leftovers when no other envmon process is loading; else do nothing.

    Called as a load starts, so a killed run's temporaries do not pile up
    until someone runs `envmon reconcile`.
    """
    try:
        with alone():
            sweep_temporaries()
    except Busy:
        pass

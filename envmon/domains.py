"""The domains envmon runs: air, surface water, hazardous waste.

Each domain is a module `envmon/<name>/domain.py` with the same small,
typed surface (Domain below), so the command line and the warehouse
builder treat every domain alike and a new domain is one line here (and
one in envmon.demo.run.DEMOS for its demo). Nothing below the command line
sees argparse: the CLI builds the domain's IngestRequest / PullRequest
(envmon/core/requests.py), its options from the dataclass the domain
declares.

The warehouse builder (envmon/core/warehouse.py) knows no domain: this
module hands it the lake tables (build_warehouse).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from envmon.core import warehouse

if TYPE_CHECKING:
    import pyarrow as pa

    from envmon.core.ledger import RunRecord
    from envmon.core.requests import IngestRequest, PullRequest
    from envmon.core.sources import Format


class Domain(Protocol):
    """What envmon/<name>/domain.py provides (tests/test_layers.py checks each)."""

    NAME: str
    HELP: str
    FORMATS: dict[str, Format]  # --format value -> what the file is, its parser
    PARALLEL_INGEST: bool  # files load independently (`envmon ingest --workers N`)
    IngestOptions: type  # frozen dataclass of option(Flag(...)) fields
    PullOptions: type

    def ingest(self, request: IngestRequest) -> list[RunRecord]: ...

    def pull(self, request: PullRequest) -> list[RunRecord]: ...

    def lake_tables(self) -> dict[str, Callable[[], pa.Schema]]: ...

DOMAIN_MODULES: dict[str, str] = {
    "air": "envmon.air.domain",
    "water": "envmon.water.domain",
    "hazwaste": "envmon.hazwaste.domain",
}

# Lake datasets that warehouse SQL names otherwise than their directory under
# lake/. hw_manifests holds every copy of every manifest version, while the
# view hw_manifests is one row per manifest: in SQL the dataset is
# {{lake:hw_manifest_copies}}, like the raw view over it. The directory, the
# ledger markers and ingest_runs.dataset keep the stored name, so existing
# homes need no migration (docs/architecture.md, Decisions).
WAREHOUSE_NAMES: dict[str, str] = {
    "hw_manifests": "hw_manifest_copies",
}


def domains() -> dict[str, Domain]:
    """Every domain module, imported on first use (the CLI parses arguments without pandas)."""
    return {name: cast("Domain", importlib.import_module(path))
            for name, path in DOMAIN_MODULES.items()}


def lake_tables() -> dict[str, Callable[[], pa.Schema]]:
    """Every lake dataset (its directory name) and its full schema (partition column included)."""
    tables: dict[str, Callable[[], pa.Schema]] = {}
    for domain in domains().values():
        tables.update(domain.lake_tables())
    return tables


def warehouse_lake_tables() -> dict[str, warehouse.LakeTable]:
    """The lake tables as warehouse SQL names them ({{lake:NAME}}), for warehouse.build()."""
    return {WAREHOUSE_NAMES.get(dataset, dataset): warehouse.LakeTable(dataset, schema)
            for dataset, schema in lake_tables().items()}



def after_rollback(dataset: str) -> list[str]:
    """Recompute what is derived outside a load's own commit, after a run of
    `dataset` was rolled back (envmon.core.rollback); lines to print.

    Air and water marts are written in the load's commit and rolled back
    with it; the hazardous-waste refresh reads the whole lake in a commit of
    its own, so it runs again.
    """
    from envmon.hazwaste import schema as hazwaste_schema

    if dataset != hazwaste_schema.LEDGER_DATASET:
        return []
    from envmon.hazwaste.derive import refresh

    summary = refresh()
    return [f"hazwaste: {summary['manifests']:,} manifests, {summary['anomalies']:,} "
            "anomalies recomputed"]


def build_warehouse(target: Path | None = None) -> Path:
    """Rebuild warehouse.duckdb (or `target`) over every domain's lake tables."""
    return warehouse.build(warehouse_lake_tables(), target)

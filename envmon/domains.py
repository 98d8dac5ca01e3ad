"""The domains envmon runs (air, and later water and hazardous waste).

Each domain is a module `envmon/<name>/domain.py` with the same small
surface, so the command line, the demo and the warehouse builder treat every
domain alike and a new domain is one line here:

    NAME: str, HELP: str
    configure_ingest(parser)        add `envmon ingest <name>` arguments
    ingest(args) -> list[RunRecord]
    configure_pull(parser)          add `envmon pull <name>` arguments
    pull(args) -> list[RunRecord]
    lake_tables() -> {dataset: () -> pyarrow.Schema (with partition column)}
    demo(first, last, seed, report) -> list[RunRecord]
    demo_summary(con) -> list[str]  lines about the demo, from the warehouse

The warehouse builder (envmon/core/warehouse.py) knows no domain: this
module hands it the lake tables (build_warehouse).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from envmon.core import warehouse

if TYPE_CHECKING:
    import pyarrow as pa

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


def domains() -> dict[str, ModuleType]:
    return {name: importlib.import_module(path) for name, path in DOMAIN_MODULES.items()}


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



def build_warehouse(target: Path | None = None) -> Path:
    """Rebuild warehouse.duckdb (or `target`) over every domain's lake tables."""
    return warehouse.build(warehouse_lake_tables(), target)

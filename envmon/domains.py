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
"""

from __future__ import annotations

import importlib
from types import ModuleType

DOMAIN_MODULES: dict[str, str] = {
    "air": "envmon.air.domain",
    "water": "envmon.water.domain",
    "hazwaste": "envmon.hazwaste.domain",
}


def domains() -> dict[str, ModuleType]:
    return {name: importlib.import_module(path) for name, path in DOMAIN_MODULES.items()}

"""Helpers shared by the hazwaste tests: load an export, read what it left."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from envmon.hazwaste.ingest import ingest_files
from tests.hazwaste.builders import write
from tests.support import stored

DEMO_FIRST, DEMO_LAST = date(2026, 10, 1), date(2026, 10, 31)


def ingest_demo_month(home: Path, *, refresh: bool = True) -> list:
    """October 2026's demo exports, generated under `home` and loaded into it
    (ENVMON_HOME must already point there)."""
    from envmon.demo.hazwaste import generate_exports

    files = generate_exports(home / "feeds", DEMO_FIRST, DEMO_LAST, seed=2026)
    return ingest_files(files, "manifest-json", source="demo", data_docs=False,
                        refresh=refresh)


def lake(home: Path, dataset: str) -> pd.DataFrame:
    return stored.lake_rows(dataset)


def quarantine(home: Path) -> pd.DataFrame:
    return stored.quarantine_rows()


def found(home: Path) -> dict[str, set[str]]:
    """manifest_no -> anomaly kinds, from the derived lake dataset."""
    rows = lake(home, "hw_anomalies")
    if rows.empty:
        return {}
    return {no: set(kinds) for no, kinds in rows.groupby("manifest_no")["anomaly"]}


@pytest.fixture
def load(envmon_home: Path, tmp_path: Path) -> Callable:
    """load(doc_or_text, name="export.json", fmt="manifest-json", **options) -> RunRecord."""
    counter = {"n": 0}

    def _load(doc, name: str | None = None, fmt: str = "manifest-json", **options):
        counter["n"] += 1
        path = write(tmp_path / "in" / (name or f"export_{counter['n']}.json"), doc)
        options.setdefault("data_docs", False)
        [record] = ingest_files([path], fmt, **options)
        return record

    return _load

"""Where things live. Everything the pipeline writes goes under ENVMON_HOME."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = PROJECT_ROOT / "reference"
CONFIG_DIR = PROJECT_ROOT / "config"
WAREHOUSE_SQL_DIR = PROJECT_ROOT / "warehouse"
CHECKS_DIR = PROJECT_ROOT / "checks"


@dataclass(frozen=True)
class Home:
    """The layout of ENVMON_HOME."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def ledger(self) -> Path:
        return self.root / "ledger"

    @property
    def validations(self) -> Path:
        return self.root / "validations"

    @property
    def data_docs(self) -> Path:
        return self.root / "data_docs"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def demo_feeds(self) -> Path:
        return self.root / "demo_feeds"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def dataset(self, name: str) -> Path:
        return self.lake / name


def home() -> Home:
    """ENVMON_HOME, default ./var, always absolute so views work from any directory."""
    return Home(Path(os.environ.get("ENVMON_HOME", "var")).expanduser().resolve())

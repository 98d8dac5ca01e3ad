"""Registry tests: each starts from the bundled reference/ with empty caches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from envmon.core import reference
from envmon.water import reference as water_reference

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def clear_caches() -> None:
    reference.clear_cache()
    water_reference.clear_cache()


@pytest.fixture(autouse=True)
def _bundled_reference(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(reference.REFERENCE_DIR_ENV, raising=False)
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """A bureau's reference directory, empty."""
    directory = tmp_path / "bureau_reference"
    directory.mkdir()
    return directory


@pytest.fixture
def use_dir(monkeypatch: pytest.MonkeyPatch):
    """Point ENVMON_REFERENCE_DIR at a directory (and forget cached tables)."""

    def use(directory: Path) -> Path:
        monkeypatch.setenv(reference.REFERENCE_DIR_ENV, str(directory))
        clear_caches()
        return directory

    return use

"""Shared fixtures: every test writes into its own ENVMON_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def envmon_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "envmon_home"
    monkeypatch.setenv("ENVMON_HOME", str(home))
    return home

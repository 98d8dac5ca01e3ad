"""Markers of the deployment tests (run by `make test`; select with -m)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "distributed: starts PostgreSQL, Redis and Airflow's api-server, scheduler, "
        "dag-processor and Celery worker as real processes (installs the Debian packages "
        "if missing; skipped only where they cannot be installed, a failure under CI)")

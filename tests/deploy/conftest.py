"""Markers of the deployment tests (run by `make test`; select with -m)."""

from __future__ import annotations

import pytest

# The shared lakehouse (PostgreSQL catalog, S3 bucket), once per test module.
from tests.deploy.shared_lake import shared_lake  # noqa: F401 - a fixture


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "distributed: starts PostgreSQL, Redis and Airflow's api-server, scheduler, "
        "dag-processor and Celery worker as real processes (installs the Debian packages "
        "if missing; skipped only where they cannot be installed, a failure under CI)")

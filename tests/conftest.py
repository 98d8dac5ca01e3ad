"""Shared fixtures: every test writes into its own ENVMON_HOME."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ("tests.support.http_server", "pytester")

# Airflow reads its configuration when first imported: give the test session
# an AIRFLOW_HOME of its own, without example DAGs, over the project's dags/.
if "AIRFLOW_HOME" not in os.environ:
    _airflow_home = tempfile.mkdtemp(prefix="envmon-airflow-")
    os.environ["AIRFLOW_HOME"] = _airflow_home
    atexit.register(shutil.rmtree, _airflow_home, ignore_errors=True)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")


@pytest.fixture
def envmon_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "envmon_home"
    monkeypatch.setenv("ENVMON_HOME", str(home))
    return home


# Under CI a skip is a failure. The tests that need Chromium, PostgreSQL or
# Redis install them and skip, saying why, only where that is impossible: on
# a developer's machine a fair outcome, in CI a green run that proved nothing.
# Every skip counts, wherever it is raised (pytest.skip, skip/skipif markers,
# importorskip, at collection): CI installs everything the tests use. A test
# whose skip is intended in CI too says so with @pytest.mark.may_skip_in_ci.
def _ci() -> str | None:
    """The value of CI when it is set and not a "no" (CI=true is how CI runs .ci/run)."""
    value = os.environ.get("CI", "")
    return None if value.strip().lower() in ("", "0", "false", "no") else value


def _skip_to_failure(report: pytest.TestReport | pytest.CollectReport, ci: str) -> None:
    path, lineno, reason = report.longrepr
    report.outcome = "failed"
    report.longrepr = (f"{path}:{lineno}: skipped under CI={ci}, where a skip is a failure "
                       "(@pytest.mark.may_skip_in_ci if it is intended): "
                       + reason.removeprefix("Skipped: "))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "may_skip_in_ci: the test may skip under CI too (a skip is a failure there)")
    config.addinivalue_line(
        "markers", "files_layout: tests a guarantee of the files layout itself (atomic "
        "renames, flock, stale marts after a kill); runs with ENVMON_STORAGE=files")


# The suite runs on each storage (ENVMON_STORAGE, .ci/run): the default
# lakehouse, then files. A test of the files layout's own mechanics (reconcile,
# flock, pyarrow's writes, stale sums after a kill) runs on files in either
# pass, its subprocesses too: on the lakehouse a DuckLake transaction gives
# the guarantee it tests, and there is nothing of it to test.
@pytest.fixture(autouse=True)
def _files_layout_storage(request: pytest.FixtureRequest,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("files_layout") is not None:
        monkeypatch.setenv("ENVMON_STORAGE", "files")


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: after xfail is settled
def pytest_runtest_makereport(
        item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    ci = _ci()
    # An xfail is reported as skipped too, with `wasxfail`: it is not a skip.
    if (ci and report.skipped and not hasattr(report, "wasxfail")
            and item.get_closest_marker("may_skip_in_ci") is None):
        _skip_to_failure(report, ci)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(
        collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    ci = _ci()
    if ci and report.skipped:
        _skip_to_failure(report, ci)
    return report

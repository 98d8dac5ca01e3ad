"""`envmon ingest hazwaste` / `envmon pull hazwaste` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ENVMON = str(Path(sys.executable).parent / "envmon")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hazwaste"


def envmon(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ENVMON_HOME": str(home)}
    return subprocess.run([ENVMON, *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_help_names_the_formats_and_options(tmp_path: Path) -> None:
    out = envmon("ingest", "hazwaste", "--help", home=tmp_path)
    assert out.returncode == 0
    for word in ("manifest-json", "manifest-csv", "--as-of", "--exported-at"):
        assert word in out.stdout
    assert "--start" in envmon("pull", "hazwaste", "--help", home=tmp_path).stdout


def test_ingest_csv_then_query_the_warehouse(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = envmon("ingest", "hazwaste", "--format", "manifest-csv", "--exported-at",
                 "2026-10-31T23:00:00+08:00", "--no-data-docs",
                 str(FIXTURES / "manifests_20261031.csv"), home=home)
    assert out.returncode == 0, out.stderr
    assert "[1/1] manifests_20261031.csv: ok, 3 rows loaded, 0 quarantined" in out.stdout
    # Without the approval (the CSV does not carry approvals) the Suzhou ->
    # Hefei transfer has none.
    query = envmon("query", "--csv", "SELECT manifest_no, anomaly FROM hw_anomalies", home=home)
    assert query.returncode == 0, query.stderr
    assert query.stdout.split() == ["manifest_no,anomaly", "20263205000002,xprov_no_approval"]


def test_malformed_json_is_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "manifests_20261101.json"
    bad.write_text('{"export": {"system": "X",', encoding="utf-8")
    out = envmon("ingest", "hazwaste", "--format", "manifest-json", str(bad),
                 home=tmp_path / "h")
    assert out.returncode == 1
    assert "manifests_20261101.json, row 1: not valid JSON" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_time_option_is_a_usage_error(tmp_path: Path) -> None:
    out = envmon("ingest", "hazwaste", "--format", "manifest-csv", "--as-of",
                 "2026-10-31T23:00:00", str(FIXTURES / "manifests_20261031.csv"),
                 home=tmp_path)
    assert out.returncode == 2
    assert "time without a zone" in out.stderr

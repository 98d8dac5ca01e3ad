"""Airflow in a subprocess for `airflow dags test`: its own AIRFLOW_HOME and a
migrated SQLite metadata database, over the project's dags/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = shutil.which("airflow", path=str(Path(sys.executable).parent)) or "airflow"


def run_airflow(args: list[str], env: dict[str, str],
                timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def migrated_env(base: Path, **extra: str) -> dict[str, str]:
    """Environment for Airflow under `base` (AIRFLOW_HOME, ENVMON_HOME), migrated."""
    env = {**os.environ,
           "AIRFLOW_HOME": str(base / "airflow_home"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
           "ENVMON_HOME": str(base / "envmon_home"),
           **extra}
    migrated = run_airflow(["db", "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    return env


def dags_test(dag_id: str, logical_date: str, env: dict[str, str]) -> None:
    """`airflow dags test DAG DATE` must end in a successful run."""
    run = run_airflow(["dags", "test", dag_id, logical_date], env)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "state=success" in run.stdout + run.stderr

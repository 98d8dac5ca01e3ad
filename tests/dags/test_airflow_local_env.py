"""`make airflow` on any port: tasks reach the execution API where the api-server listens.

Airflow 3 task processes report to the api-server's execution API, which
Airflow looks for at http://localhost:8080/execution/ unless told otherwise;
scripts/airflow_local_env.sh derives it from AIRFLOW_PORT and AIRFLOW_HOST.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV_SCRIPT = ROOT / "scripts" / "airflow_local_env.sh"


def sourced(tmp_path: Path, command: str, **settings: str) -> str:
    """stdout of `command` run after sourcing the env script, with only `settings` set."""
    # Not the session's Airflow settings (tests/conftest.py) nor the shell's:
    # the script alone decides; AIRFLOW_HOME keeps Airflow out of var/.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ENVMON_"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), ENVMON_HOME=str(tmp_path / "envmon"),
               **settings)
    done = subprocess.run(["bash", "-c", f"set -euo pipefail; source {ENV_SCRIPT}; {command}"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(("settings", "url"), [
    ({"AIRFLOW_PORT": "18123"}, "http://127.0.0.1:18123/execution/"),
    ({}, "http://127.0.0.1:8080/execution/"),
    ({"AIRFLOW_HOST": "0.0.0.0", "AIRFLOW_PORT": "9000"}, "http://127.0.0.1:9000/execution/"),
    ({"AIRFLOW_HOST": "10.1.2.3", "AIRFLOW_PORT": "9000"}, "http://10.1.2.3:9000/execution/"),
    ({"AIRFLOW_HOST": "::1"}, "http://[::1]:8080/execution/"),
    ({"AIRFLOW_PORT": "9000", "AIRFLOW__API__BASE_URL": "https://proxy.example/airflow/"},
     "http://127.0.0.1:9000/airflow/execution/"),
    ({"AIRFLOW_PORT": "9000", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://w:1/execution/"},
     "http://w:1/execution/"),
], ids=["port", "default", "wildcard-host", "host", "ipv6", "base-url-path", "explicit"])
def test_execution_api_url_follows_port_and_host(tmp_path: Path, settings: dict[str, str],
                                                 url: str) -> None:
    assert sourced(tmp_path, "echo $AIRFLOW__CORE__EXECUTION_API_SERVER_URL", **settings) == url


def test_airflow_resolves_the_derived_url(tmp_path: Path) -> None:
    """What the LocalExecutor of `airflow standalone` hands its task processes."""
    probe = ("from airflow.executors.base_executor import get_execution_api_server_url; "
             "print(get_execution_api_server_url())")
    assert sourced(tmp_path, f"{sys.executable} -c '{probe}'",
                   AIRFLOW_PORT="18123") == "http://127.0.0.1:18123/execution/"

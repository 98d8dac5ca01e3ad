"""The project runs on Airflow's distributed executor, not only under `airflow dags test`.

Docker is not available in CI, so this builds the docker-compose.yml topology
from real processes on 127.0.0.1: PostgreSQL (metadata) and Redis (Celery
broker) from Debian's packages, then Airflow's api-server, scheduler,
dag-processor and a Celery worker, each with an AIRFLOW_HOME of its own and
every setting from the environment, as in the containers. The air-quality DAG
is triggered through the REST API (v2, JWT from the api-server's
/auth/token), must succeed with its tasks executed by the Celery worker, and
the warehouse must show the loaded demo day. The health checks of
docker-compose.yml are run against the live processes too.

Skipped only when postgresql / redis-server are missing and cannot be
installed with apt-get (not root, no network), and under CI that skip is a
failure (tests/conftest.py); everything started is stopped in the fixture's
teardown.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import yaml

from tests.deploy.services import (
    Database,
    Stack,
    free_port,
    require_packages,
    start_postgres,
    start_redis,
    wait_for,
)
from tests.support import stored

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAG_ID = "air_quality"
# The run's data interval: the hour ending 03:00 Beijing on 2 October 2026
# (19:00 UTC the day before), which belongs to the natural day 2 October, as in
# tests/dags/test_air_dag_run.py. An operator re-running a past hour passes it so.
INTERVAL = ("2026-10-02T02:00:00+08:00", "2026-10-02T03:00:00+08:00")
ADMIN = "admin"

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


@dataclass
class Cluster:
    stack: Stack
    env: dict[str, str]
    api: str
    scheduler_health_port: int
    envmon_home: Path
    password: str

    def token(self) -> str:
        response = requests.post(f"{self.api}/auth/token",
                                 json={"username": ADMIN, "password": self.password}, timeout=30)
        assert response.status_code == 201, f"/auth/token: {response.status_code} {response.text}"
        return response.json()["access_token"]


def _component_env(base: Path, db: Database, broker: str, api_port: int,
                   health_port: int) -> dict[str, str]:
    """The settings docker-compose.yml gives every Airflow container, on localhost."""
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("AIRFLOW", "ENVMON_", "_AIRFLOW"))}
    # The DAG starts a minute ago: catch-up has nothing to run, so the run this
    # test triggers is the only one, but for the run of a full hour the test
    # may straddle (the warehouse checks look at the triggered day only). (A
    # start date after the run's logical date would not do: Airflow creates no
    # task instances for tasks that start after the run's logical date.)
    start = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    return {
        **inherited,
        "PATH": f"{BIN}{os.pathsep}{inherited.get('PATH', '')}",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(base / "auth" / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.url("postgresql+psycopg2"),
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": db.url("db+postgresql+psycopg2"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(health_port),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "ENVMON_HOME": str(base / "envmon_home"),
        "ENVMON_AIR_START": start.isoformat(),
    }


def _home(env: dict[str, str], base: Path, component: str) -> dict[str, str]:
    """Each component has its own AIRFLOW_HOME, as each container does."""
    home = base / "airflow" / component
    home.mkdir(parents=True, exist_ok=True)
    return {**env, "AIRFLOW_HOME": str(home)}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    require_packages("PostgreSQL/Redis")
    if importlib.util.find_spec("asyncpg") is None:
        pytest.fail("asyncpg is not installed: Airflow 3 opens an async metadata engine "
                    "(postgresql+asyncpg) beside the psycopg2 one, so every component fails "
                    "to start on PostgreSQL without it. Add asyncpg to the project's "
                    "dependencies (uv add asyncpg); the apache/airflow image has it already.")
    base = Path(tempfile.mkdtemp(prefix="envmon-distributed-"))
    stack = Stack(base)
    failed = True
    try:
        db = start_postgres(stack, secrets.token_hex(16))
        broker = start_redis(stack, secrets.token_hex(16))
        api_port, health_port = free_port(), free_port()
        env = _component_env(base, db, broker, api_port, health_port)
        airflow = str(BIN / "airflow")
        stack.run("db migrate", [airflow, "db", "migrate"], _home(env, base, "init"),
                  timeout=900, cwd=ROOT)
        password = secrets.token_hex(12)
        stack.run("admin password",
                  [sys.executable, str(ROOT / "scripts" / "airflow_admin_password.py")],
                  {**env, "AIRFLOW_ADMIN_USERNAME": ADMIN, "AIRFLOW_ADMIN_PASSWORD": password},
                  timeout=60)
        for component, argv in (("api-server", [airflow, "api-server"]),
                                ("scheduler", [airflow, "scheduler"]),
                                ("dag-processor", [airflow, "dag-processor"]),
                                ("celery-worker", [airflow, "celery", "worker"])):
            stack.start(component, argv, _home(env, base, component), cwd=ROOT)
        api = f"http://127.0.0.1:{api_port}"
        wait_for("the api-server's health endpoint",
                 lambda: requests.get(f"{api}/api/v2/monitor/health", timeout=5).ok,
                 timeout=300, stack=stack, interval=2)
        yield Cluster(stack, env, api, health_port, Path(env["ENVMON_HOME"]), password)
        failed = False
    finally:
        stack.stop()
        leftovers = stack.marked_pids()
        if not failed and not leftovers:
            shutil.rmtree(base, ignore_errors=True)
        elif leftovers:
            print(f"processes still running after stop: {leftovers}")
        else:
            print(f"logs kept in {base / 'logs'}")


def _api(cluster: Cluster, method: str, path: str, token: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{cluster.api}/api/v2{path}", timeout=30,
                            headers={"Authorization": f"Bearer {token}"}, **kwargs)


def _task_summary(cluster: Cluster, token: str, run_id: str) -> str:
    response = _api(cluster, "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", token)
    if not response.ok:
        return f"(task instances: {response.status_code} {response.text[:300]})"
    return "; ".join(f"{ti['task_id']}[{ti.get('map_index')}]={ti['state']} on {ti.get('hostname')}"
                     for ti in response.json()["task_instances"])


def _task_logs(cluster: Cluster, lines: int = 25) -> str:
    logs = sorted((cluster.stack.root / "airflow").glob("*/logs/**/*.log"))
    return "\n".join(f"----- task log {p}:\n" + "\n".join(
        p.read_text(errors="replace").splitlines()[-lines:]) for p in logs[-6:])


def test_air_dag_runs_on_celery_workers_and_fills_the_warehouse(cluster: Cluster) -> None:
    started = time.monotonic()
    token = cluster.token()

    def parsed() -> bool:
        return _api(cluster, "GET", f"/dags/{DAG_ID}", token).status_code == 200

    wait_for(f"the dag-processor to serialise {DAG_ID}", parsed, timeout=300,
             stack=cluster.stack, interval=2)
    unpaused = _api(cluster, "PATCH", f"/dags/{DAG_ID}", token, json={"is_paused": False})
    assert unpaused.ok and unpaused.json()["is_paused"] is False, unpaused.text

    triggered = _api(cluster, "POST", f"/dags/{DAG_ID}/dagRuns", token,
                     json={"dag_run_id": "distributed-proof",
                           "logical_date": datetime.now(UTC).isoformat(),
                           "data_interval_start": INTERVAL[0], "data_interval_end": INTERVAL[1]})
    assert triggered.status_code == 200, f"trigger: {triggered.status_code} {triggered.text}"
    run = triggered.json()
    assert run["run_type"] == "manual"
    end = datetime.fromisoformat(run["data_interval_end"])
    assert end == datetime(2026, 10, 1, 19, tzinfo=UTC), run

    state = {"value": "queued"}

    def finished() -> bool:
        response = _api(cluster, "GET", f"/dags/{DAG_ID}/dagRuns/distributed-proof", token)
        response.raise_for_status()
        state["value"] = response.json()["state"]
        return state["value"] in ("success", "failed")

    try:
        wait_for("the triggered run to finish", finished, timeout=1200, stack=cluster.stack,
                 interval=3)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\ntasks: {_task_summary(cluster, token, 'distributed-proof')}"
                             f"\n{_task_logs(cluster)}") from None
    assert state["value"] == "success", (
        f"run ended {state['value']}: {_task_summary(cluster, token, 'distributed-proof')}\n"
        f"{_task_logs(cluster)}\n{cluster.stack.report()}")
    print(f"\ntriggered run succeeded in {time.monotonic() - started:.0f} s")

    # Every task went through Redis to the Celery worker: sources, pull[demo], build_warehouse.
    tis = _api(cluster, "GET", f"/dags/{DAG_ID}/dagRuns/distributed-proof/taskInstances",
               token).json()["task_instances"]
    assert sorted((ti["task_id"], ti["state"]) for ti in tis) == [
        ("build_warehouse", "success"), ("pull", "success"), ("sources", "success")]
    assert {ti["queue"] for ti in tis} == {"default"}
    worker_log = next(p for p in cluster.stack.procs if p.name == "celery-worker").log.read_text(
        errors="replace")
    executed = set(re.findall(r"Executing workload in Celery: .*? task_id='(\w+)', "
                              rf"dag_id='{DAG_ID}', run_id='distributed-proof'", worker_log))
    assert executed == {"sources", "pull", "build_warehouse"}, (
        f"the Celery worker executed {executed}:\n{worker_log[-3000:]}")

    # The warehouse the workers built, read-only as analysts read it.
    con = stored.open_warehouse(cluster.envmon_home / "warehouse.duckdb")
    try:
        # Airflow 3 schedules "@hourly" with a CronTriggerTimetable: when the test
        # straddles a full hour, the scheduler also starts that hour's run, which
        # loads today's file. Only the triggered run's day is asserted on.
        runs = con.execute("SELECT source, status, rows_in, rows_loaded + rows_quarantined "
                           "FROM ingest_runs WHERE files = 'china_sites_20261002.csv'"
                           ).fetchall()
        assert len(runs) == 1, runs
        source, status, rows_in, accounted = runs[0]
        assert (source, status) == ("demo", "ok") and rows_in == accounted > 1000, runs[0]
        days = dict(con.execute("SELECT date::VARCHAR, count(*) FROM air_hourly "
                                "WHERE date <= DATE '2026-10-02' GROUP BY 1").fetchall())
        # Hours 1-23 of the 2 October file belong to 2 October, hour 0 to 1 October.
        assert set(days) == {"2026-10-01", "2026-10-02"}, days
        assert days["2026-10-02"] > 20 * days["2026-10-01"], days
        valid = con.execute("SELECT count(*) FROM air_daily_city "
                            "WHERE date = DATE '2026-10-02' AND pm25_valid").fetchall()[0][0]
        assert valid == 41  # every demo city has >= 20 valid hours of PM2.5 that day
    finally:
        con.close()


def _compose_healthchecks() -> dict[str, str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    checks = {}
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-worker"):
        test = compose["services"][name]["healthcheck"]["test"]
        kind, *rest = test
        command = rest[0] if kind == "CMD-SHELL" else " ".join(rest)
        checks[name] = command.replace("$$", "$")  # compose escapes $ as $$
    return checks


def test_compose_health_checks_pass_against_the_live_components(cluster: Cluster) -> None:
    """The commands docker-compose.yml uses as health checks, run against real processes."""
    from airflow.utils.net import get_hostname

    api_port = cluster.env["AIRFLOW__API__PORT"]
    failures = []
    for name, command in _compose_healthchecks().items():
        command = (command.replace("localhost:8080", f"127.0.0.1:{api_port}")
                   .replace("localhost:8974", f"127.0.0.1:{cluster.scheduler_health_port}"))
        # In a container $HOSTNAME is both Airflow's job hostname and Celery's
        # node name; on a host they may differ.
        hostname = socket.gethostname() if name == "airflow-worker" else get_hostname()
        env = {**_home(cluster.env, cluster.stack.root, "healthcheck"), "HOSTNAME": hostname}
        done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                              timeout=180)
        if done.returncode != 0:
            failures.append(f"{name}: `{command}` exited {done.returncode}: "
                            f"{(done.stdout + done.stderr)[-1500:]}")
    assert not failures, "\n".join(failures) + "\n" + cluster.stack.report()

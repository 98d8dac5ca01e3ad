"""Real PostgreSQL, Redis and Airflow processes for the distributed-executor proof.

Everything a `Stack` starts runs in a process group of its own, writes to a
log file under the stack's directory, and carries a marker in its
environment; `Stack.stop()` ends the groups (TERM, then KILL) and then any
process still carrying the marker (a task process that left its group), so
nothing outlives the test. `Proc.tail()` gives the end of a log for failure
messages.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Debian package -> a program it provides, for the "is it installed" check.
PACKAGES = {"postgresql": "initdb", "redis-server": "redis-server"}
APT_TIMEOUT = 1200  # seconds; a cold `apt-get update` + install on a slow mirror


class Unavailable(Exception):
    """The Debian packages cannot be installed here: the test is skipped with this reason
    (a failure under CI, tests/conftest.py)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin(program: str) -> str | None:
    """A PostgreSQL server program: Debian keeps them out of PATH, per major version."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"),
                        key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    if candidates:
        return candidates[-1]
    return shutil.which(program)


def _missing_packages() -> list[str]:
    found = {"postgresql": postgres_bin("initdb") and postgres_bin("postgres"),
             "redis-server": shutil.which("redis-server")}
    return [package for package in PACKAGES if not found[package]]


def ensure_packages() -> None:
    """Install postgresql and redis-server from Debian's packages if they are missing.

    Raises Unavailable (the caller skips) when they are missing and apt-get is
    absent, we are not root, or the install fails (no network, no mirror).
    """
    missing = _missing_packages()
    if not missing:
        return
    apt = shutil.which("apt-get")
    if apt is None:
        raise Unavailable(f"{', '.join(missing)} not installed and no apt-get on this machine")
    prefix: list[str] = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None or subprocess.run([sudo, "-n", "true"], capture_output=True).returncode:
            raise Unavailable(f"{', '.join(missing)} not installed and apt-get needs root "
                              "(not root, no password-less sudo)")
        prefix = [sudo, "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in ([*prefix, apt, "update", "-q"],
                 [*prefix, apt, "install", "-y", "-q", "--no-install-recommends", *missing]):
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True,
                                  timeout=APT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Unavailable(f"`{' '.join(argv)}` did not finish in {APT_TIMEOUT} s") from None
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            raise Unavailable(f"`{' '.join(argv)}` failed (exit {done.returncode}): "
                              + " | ".join(tail))
    still = _missing_packages()
    if still:
        raise Unavailable(f"apt-get install ran but {', '.join(still)} still not found")


def require_packages(what: str) -> None:
    """ensure_packages() for a fixture: skip with the reason when they cannot be
    installed (a failure under CI, tests/conftest.py)."""
    import pytest

    try:
        ensure_packages()
    except Unavailable as exc:
        pytest.skip(f"{what} from Debian packages unavailable: {exc}")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Stack:
    """Processes started for one test, all stopped by `stop()`."""

    root: Path
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    procs: list[Proc] = field(default_factory=list)

    MARKER_VAR = "ENVMON_DEPLOY_TEST_STACK"

    def start(self, name: str, argv: Sequence[str], env: dict[str, str], *,
              cwd: Path | None = None, **as_user: Any) -> Proc:
        """Start a long-running process; `as_user`: Popen's user / group / extra_groups."""
        log = self.root / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                list(argv), env={**env, self.MARKER_VAR: self.marker}, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                process_group=0, **as_user)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def run(self, name: str, argv: Sequence[str], env: dict[str, str], *,
            timeout: float, cwd: Path | None = None,
            **as_user: Any) -> subprocess.CompletedProcess:
        """A one-shot command; its output goes to the failure message if it fails."""
        done = subprocess.run(list(argv), env={**env, self.MARKER_VAR: self.marker},
                              capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              **as_user)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip().splitlines()[-40:]
            raise AssertionError(f"{name}: `{' '.join(argv)}` exited {done.returncode}:\n"
                                 + "\n".join(output) + "\n" + self.report())
        return done

    def report(self, lines: int = 30) -> str:
        """The state and last log lines of every process, for failure messages."""
        parts = []
        for proc in self.procs:
            state = "running" if proc.alive() else f"exited {proc.popen.returncode}"
            parts.append(f"----- {proc.name} ({state}), {proc.log}:\n{proc.tail(lines)}")
        return "\n".join(parts)

    def check_alive(self) -> None:
        dead = [p for p in self.procs if not p.alive()]
        if dead:
            raise AssertionError(f"{', '.join(p.name for p in dead)} died\n{self.report()}")

    def stop(self, grace: float = 30.0) -> None:
        """TERM every group (newest first), KILL what is left, then the marked stragglers."""
        for proc in reversed(self.procs):
            _signal_group(proc.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in reversed(self.procs):
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc.popen.pid, signal.SIGKILL)
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for pid in self.marked_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def marked_pids(self) -> list[int]:
        """Processes (ours, by construction) whose environment carries this stack's marker."""
        needle = f"{self.MARKER_VAR}={self.marker}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                pids.append(int(entry.name))
        return pids


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_for(what: str, probe: Callable[[], bool], *, timeout: float, stack: Stack,
             interval: float = 1.0) -> None:
    """Poll `probe` until true; fail with every process's log tail on timeout or a death."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            if probe():
                return
        except Exception as exc:  # any failure of a probe means "not yet"
            last_error = f" (last probe error: {type(exc).__name__}: {exc})"
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{last_error}\n"
                         + stack.report())


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    user: str
    password: str
    name: str

    def url(self, scheme: str) -> str:
        return f"{scheme}://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}"


def _as_postgres_user() -> dict:
    """Popen arguments: the server refuses to run as root, so root runs it as `postgres`."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def start_postgres(stack: Stack, password: str, *, user: str = "airflow",
                   name: str = "airflow") -> Database:
    """A fresh cluster on 127.0.0.1 in the stack's directory, password auth over TCP."""
    import psycopg2

    as_postgres = _as_postgres_user()
    data = stack.root / "postgres"
    data.mkdir()
    (data / "sock").mkdir()
    pwfile = data / "pwfile"
    pwfile.write_text(password + "\n", encoding="utf-8")
    if as_postgres:
        os.chmod(stack.root, 0o711)  # let the postgres user reach its own directory
        for path in (data, data / "sock", pwfile):
            shutil.chown(path, "postgres", "postgres")
    port = free_port()
    stack.run("initdb", [postgres_bin("initdb"), "-D", str(data / "cluster"), "-U", user,
                         f"--pwfile={pwfile}", "--auth=scram-sha-256", "--no-locale",
                         "-E", "UTF8"], os.environ.copy(), timeout=300, **as_postgres)
    stack.start("postgres", [postgres_bin("postgres"), "-D", str(data / "cluster"),
                             "-p", str(port), "-k", str(data / "sock"),
                             "-c", "listen_addresses=127.0.0.1"],
                os.environ.copy(), **as_postgres)
    db = Database("127.0.0.1", port, user, password, name)

    def accepting() -> bool:
        psycopg2.connect(host=db.host, port=db.port, user=user, password=password,
                         dbname="postgres", connect_timeout=3).close()
        return True

    wait_for("PostgreSQL to accept connections", accepting, timeout=120, stack=stack)
    con = psycopg2.connect(host=db.host, port=db.port, user=user, password=password,
                           dbname="postgres")
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        con.close()
    return db


def start_redis(stack: Stack, password: str) -> str:
    """Redis on 127.0.0.1 with a password and no persistence; returns the broker URL."""
    import redis

    directory = stack.root / "redis"
    directory.mkdir()
    port = free_port()
    stack.start("redis", [shutil.which("redis-server"), "--bind", "127.0.0.1",
                          "--port", str(port), "--requirepass", password, "--save", "",
                          "--appendonly", "no", "--dir", str(directory)], os.environ.copy())
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=3)
    wait_for("Redis to answer PING", client.ping, timeout=60, stack=stack)
    client.close()
    return f"redis://:{password}@127.0.0.1:{port}/0"

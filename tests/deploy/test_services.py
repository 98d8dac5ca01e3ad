"""The process harness of test_distributed.py: it skips only for a stated reason, and
stops everything it started, even processes that ignore SIGTERM or left its group."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy import services
from tests.deploy.services import Stack, Unavailable, ensure_packages


def _which(found: dict[str, str | None]):
    return lambda name, *args, **kwargs: found.get(name)


def test_nothing_to_install_when_both_are_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_missing_packages", lambda: [])
    monkeypatch.setattr(services.subprocess, "run", lambda *a, **k: pytest.fail("ran apt-get"))
    ensure_packages()


def test_skip_reason_without_apt_get(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_missing_packages", lambda: ["redis-server"])
    monkeypatch.setattr(services.shutil, "which", _which({}))
    with pytest.raises(Unavailable, match="redis-server not installed and no apt-get"):
        ensure_packages()


def test_skip_reason_when_not_root_and_no_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_missing_packages", lambda: ["postgresql"])
    monkeypatch.setattr(services.shutil, "which", _which({"apt-get": "/usr/bin/apt-get"}))
    monkeypatch.setattr(services.os, "geteuid", lambda: 1000)
    with pytest.raises(Unavailable, match="apt-get needs root"):
        ensure_packages()


def test_skip_reason_names_the_failing_apt_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_missing_packages", lambda: ["postgresql", "redis-server"])
    monkeypatch.setattr(services.shutil, "which", _which({"apt-get": "/usr/bin/apt-get"}))
    monkeypatch.setattr(services.os, "geteuid", lambda: 0)
    calls = []

    def fake_run(argv, **kwargs):
        calls.append(argv)
        failed = argv[1] == "install"
        return subprocess.CompletedProcess(argv, 100 if failed else 0, "",
                                           "E: Unable to locate package redis-server\n"
                                           if failed else "")

    monkeypatch.setattr(services.subprocess, "run", fake_run)
    with pytest.raises(Unavailable, match=r"install .*postgresql redis-server.* failed "
                                          r"\(exit 100\): E: Unable to locate package"):
        ensure_packages()
    assert [c[1] for c in calls] == ["update", "install"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too: its parent has not reaped it yet
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


def test_stop_ends_stubborn_processes_and_stragglers(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    # ignores SIGTERM, with a child in its group
    stubborn = stack.start("stubborn", ["bash", "-c", "trap '' TERM; sleep 300 & wait"],
                           dict(os.environ))
    # a grandchild in a session of its own: out of the group, still marked
    escaped_pid = tmp_path / "escaped.pid"
    stack.start("escaper", ["bash", "-c", f"setsid sleep 300 & echo $! > {escaped_pid}; wait"],
                dict(os.environ))
    deadline = time.monotonic() + 10
    while not escaped_pid.exists() or not escaped_pid.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    escaped = int(escaped_pid.read_text())
    assert len(stack.marked_pids()) >= 4
    started = time.monotonic()
    stack.stop(grace=1)
    assert time.monotonic() - started < 15
    # SIGKILL is delivered asynchronously: give the kernel a moment to act on it.
    deadline = time.monotonic() + 5
    while (_alive(stubborn.popen.pid) or _alive(escaped)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(stubborn.popen.pid) and not _alive(escaped)
    assert stack.marked_pids() == []
    assert "stubborn (exited -9)" in stack.report()

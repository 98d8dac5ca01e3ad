"""The embedded lakehouse (envmon.core.lakehouse): a real DuckLake catalog in
SQLite under ENVMON_HOME, writers in separate processes, conflicts retried,
snapshots read back. The shared configuration (PostgreSQL + S3) is
tests/deploy/test_lakehouse_shared.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from envmon.core import lakehouse
from envmon.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
WRITER = "tests.deploy.lakehouse_writer"


def test_default_is_embedded_under_envmon_home(envmon_home: Path, monkeypatch) -> None:
    monkeypatch.delenv("ENVMON_LAKEHOUSE_CATALOG", raising=False)
    monkeypatch.delenv("ENVMON_LAKEHOUSE_DATA", raising=False)
    config = lakehouse.settings()
    assert not config.shared and config.s3 is None
    assert config.catalog == f"sqlite:{envmon_home.resolve() / 'lakehouse' / 'catalog.sqlite'}"
    assert config.data_path == str(envmon_home.resolve() / "lakehouse" / "data") + "/"


@pytest.mark.parametrize("env, message", [
    ({"ENVMON_LAKEHOUSE_DATA": "s3://b/x/"}, "ENVMON_LAKEHOUSE_CATALOG is not"),
    ({"ENVMON_LAKEHOUSE_CATALOG": "host=pg dbname=lake"}, "ENVMON_LAKEHOUSE_DATA must say"),
    ({"ENVMON_LAKEHOUSE_CATALOG": "host=pg password = x", "ENVMON_LAKEHOUSE_DATA": "/d"},
     "PGPASSWORD"),
    ({"ENVMON_LAKEHOUSE_CATALOG": "host=pg", "ENVMON_LAKEHOUSE_DATA": "s3://b/x"},
     "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY is not set"),
])
def test_shared_settings_refuse_what_they_cannot_use(envmon_home, monkeypatch, env,
                                                     message) -> None:
    for var in ("ENVMON_LAKEHOUSE_CATALOG", "ENVMON_LAKEHOUSE_DATA", "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=message):
        lakehouse.settings()


def _shared(monkeypatch, key: str, secret: str, **more: str) -> None:
    """A shared configuration in the environment (nothing is contacted)."""
    env = {"ENVMON_LAKEHOUSE_CATALOG": "host=pg dbname=lake user=envmon",
           "ENVMON_LAKEHOUSE_DATA": "s3://envmon/lake", "AWS_ACCESS_KEY_ID": key,
           "AWS_SECRET_ACCESS_KEY": secret, "ENVMON_S3_ENDPOINT": "minio:9000", **more}
    for var, value in env.items():
        monkeypatch.setenv(var, value)


def test_shared_settings_from_the_environment(envmon_home, monkeypatch) -> None:
    _shared(monkeypatch, "key", "secret", ENVMON_S3_USE_SSL="false")
    config = lakehouse.settings()
    assert config.shared and config.catalog == "postgres:host=pg dbname=lake user=envmon"
    assert config.data_path == "s3://envmon/lake/"
    assert config.s3 == lakehouse.S3Store("key", "secret", "us-east-1", "minio:9000", False,
                                          "path")
    assert "secret" not in config.describe()


def test_extensions_come_from_the_wheels_and_nothing_is_downloaded(envmon_home) -> None:
    con = lakehouse.connect()
    try:
        loaded = {name: path for name, path in con.execute(
            "SELECT extension_name, install_path FROM duckdb_extensions() WHERE loaded"
        ).fetchall()}
        assert {"ducklake", "sqlite_scanner", "postgres_scanner", "httpfs"} <= set(loaded)
        settings = dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                    "('autoinstall_known_extensions', "
                                    "'autoload_known_extensions')").fetchall())
        assert settings == {"autoinstall_known_extensions": "false",
                            "autoload_known_extensions": "false"}
    finally:
        con.close()
    assert lakehouse.extension_file("ducklake").is_file()


def test_a_failed_transaction_leaves_nothing(envmon_home) -> None:
    con = lakehouse.connect()
    try:
        con.execute("CREATE TABLE lake.t (k INTEGER, v VARCHAR)")
        lakehouse.transact(con, lambda c: c.execute("INSERT INTO lake.t VALUES (1, 'a')"))

        def half(c):
            c.execute("INSERT INTO lake.t VALUES (2, 'b')")
            raise ValueError("bad delivery")

        with pytest.raises(ValueError, match="bad delivery"):
            lakehouse.transact(con, half)
        assert con.execute("SELECT k, v FROM lake.t").fetchall() == [(1, "a")]
    finally:
        con.close()


def test_a_conflict_reruns_the_whole_transaction(envmon_home) -> None:
    """What DuckLake raises on a conflict (duckdb.TransactionException) undoes the
    attempt and runs the work again; the deterministic conflict between two
    writers is in the shared test (PostgreSQL lets both hold a transaction)."""
    con = lakehouse.connect()
    try:
        con.execute("CREATE TABLE lake.t (k INTEGER, attempt INTEGER)")
        attempts = []

        def work(c):
            attempts.append(len(attempts) + 1)
            c.execute("INSERT INTO lake.t VALUES (?, ?)", [1, attempts[-1]])
            if len(attempts) < 3:
                raise duckdb.TransactionException("Transaction conflict (simulated)")
            return "done"

        assert lakehouse.transact(con, work) == ("done", 2)
        assert con.execute("SELECT k, attempt FROM lake.t").fetchall() == [(1, 3)]
        attempts.clear()
        with pytest.raises(duckdb.TransactionException):
            lakehouse.transact(con, work, attempts=2)
        assert con.execute("SELECT count(*) FROM lake.t").fetchone() == (1,)
    finally:
        con.close()


def test_a_data_file_missing_twice_is_raised_as_lost(envmon_home) -> None:
    """A data file missing on every new snapshot is not upkeep's merge (that one
    is read from the merged file on the next attempt, tests/deploy/
    test_lakehouse_shared.py): missing again on a fresh snapshot, it is raised."""
    con = lakehouse.connect()
    try:
        con.execute("CREATE TABLE lake.t (k INTEGER)")
        con.execute("INSERT INTO lake.t SELECT range FROM range(40)")  # above inlining
        lost = next(envmon_home.rglob("ducklake-*.parquet"))
        lost.unlink()
        calls = []

        def upsert(c):
            calls.append(1)
            c.execute("DELETE FROM lake.t WHERE k < 5")

        with pytest.raises(duckdb.IOException, match=lost.name):
            lakehouse.transact(con, upsert, attempts=200)
        assert len(calls) == 2
    finally:
        con.close()


def test_snapshots_answer_what_the_lake_said_then(envmon_home) -> None:
    con = lakehouse.connect()
    try:
        con.execute("CREATE TABLE lake.t (k INTEGER)")
        before = lakehouse.snapshots(con)[-1].snapshot_id
        lakehouse.transact(con, lambda c: c.execute("INSERT INTO lake.t VALUES (1), (2)"))
        lakehouse.transact(con, lambda c: c.execute("DELETE FROM lake.t WHERE k = 1"))
        history = lakehouse.snapshots(con)
        assert [s.snapshot_id for s in history] == sorted(s.snapshot_id for s in history)
        inserted = history[-2].snapshot_id
        assert inserted > before
        assert con.execute(f"SELECT count(*) FROM lake.t AT (VERSION => {before})"
                           ).fetchone() == (0,)
        assert con.execute(f"SELECT k FROM lake.t AT (VERSION => {inserted}) ORDER BY k"
                           ).fetchall() == [(1,), (2,)]
        assert con.execute("SELECT k FROM lake.t").fetchall() == [(2,)]
    finally:
        con.close()


def test_read_only_attach_reads_and_refuses_writes(envmon_home) -> None:
    with pytest.raises(ConfigError, match="no lakehouse catalog"):
        lakehouse.connect(read_only=True)
    writer = lakehouse.connect()
    writer.execute("CREATE TABLE lake.t AS SELECT 7 AS k")
    writer.close()
    reader = lakehouse.connect(read_only=True)
    try:
        assert reader.execute("SELECT k FROM lake.t").fetchall() == [(7,)]
        with pytest.raises(duckdb.Error, match="read-only"):
            reader.execute("INSERT INTO lake.t VALUES (8)")
    finally:
        reader.close()


def test_two_local_writer_processes_upsert_overlapping_keys(envmon_home) -> None:
    """The embedded catalog with several writers on one host (the parallel ingest
    workers): overlapping upserts from two processes, each key once at the end."""
    con = lakehouse.connect()
    con.execute("CREATE TABLE lake.readings (k INTEGER, writer VARCHAR, batch INTEGER)")
    con.close()
    env = {**os.environ, "ENVMON_HOME": str(envmon_home)}
    procs = [subprocess.Popen([sys.executable, "-m", WRITER, name, str(first), "60", "10"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for name, first in (("a", 0), ("b", 30))]
    results = [proc.communicate(timeout=600) for proc in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    con = lakehouse.connect(read_only=True)
    try:
        total, distinct, low, high = con.execute(
            "SELECT count(*), count(DISTINCT k), min(k), max(k) FROM lake.readings").fetchone()
        batches = con.execute("SELECT writer, batch, count(*) FROM lake.readings "
                              "GROUP BY ALL HAVING count(*) <> 10").fetchall()
    finally:
        con.close()
    assert (total, distinct, low, high) == (90, 90, 0, 89)
    # Batches are aligned on tens, so the overlap (30-59) ends as whole batches of
    # one writer or the other: a transaction is never half applied.
    assert batches == []
    conflicts = sum(int(out.split()[-1]) for out, _ in results)
    print(f"conflicts retried: {conflicts}")


def test_cli_lists_snapshots_and_prints_the_attach_sql(envmon_home, capsys) -> None:
    from envmon.cli import main

    assert main(["lakehouse", "snapshots"]) == 1  # no catalog yet: one line, exit 1
    assert "no lakehouse catalog" in capsys.readouterr().err
    con = lakehouse.connect()
    con.execute("CREATE TABLE lake.t (k INTEGER)")
    lakehouse.transact(con, lambda c: c.execute("INSERT INTO lake.t VALUES (1)"))
    last = lakehouse.snapshots(con)[-1].snapshot_id
    con.close()
    assert main(["lakehouse", "snapshots", "--limit", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1].split()[0] == str(last)
    assert "inserted_into_table" in lines[1] or "inlined_insert" in lines[1]

    assert main(["lakehouse", "info"]) == 0
    out = capsys.readouterr().out
    loads = [line for line in out.splitlines() if line.startswith("LOAD ")]
    assert len(loads) == 4 and all(Path(line.split("'")[1]).is_file() for line in loads)
    attach = out.splitlines()[-1]
    assert attach.startswith("ATTACH 'ducklake:sqlite:") and attach.endswith("READ_ONLY);")
    reader = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        statements = [line for line in out.splitlines()
                      if line.split(" ", 1)[0] in ("LOAD", "CREATE", "ATTACH")]
        assert out.startswith(f"storage in use: {lakehouse.storage()} (")
        for line in statements:  # what an analyst pastes, as pasted
            reader.execute(line)
        assert reader.execute("SELECT k FROM lake.t").fetchall() == [(1,)]
    finally:
        reader.close()


def test_attach_sql_never_holds_the_keys(envmon_home, monkeypatch) -> None:
    _shared(monkeypatch, "AKIDSECRETID", "very-secret-key")
    text = "\n".join(lakehouse.attach_sql())
    assert "AKIDSECRETID" not in text and "very-secret-key" not in text
    assert "KEY_ID '<AWS_ACCESS_KEY_ID>'" in text and "ENDPOINT 'minio:9000'" in text
    assert "ATTACH 'ducklake:postgres:host=pg dbname=lake user=envmon' AS lake" in text


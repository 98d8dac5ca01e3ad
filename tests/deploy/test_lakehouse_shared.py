"""The shared lakehouse (issue 14): a DuckLake catalog in a real PostgreSQL
(Debian's packages, started here) and its data files in an S3-compatible
bucket (moto in server mode, from the lock), written by separate processes
that share no directory, only those two services.

Each "host" is a process with its own ENVMON_HOME and working directory; the
test process is the analyst, attached read-only while they write. Under CI
a missing PostgreSQL fails the run (tests/conftest.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envmon.core import lakehouse, locks
from tests.deploy.shared_lake import BUCKET, SharedLake

ROOT = Path(__file__).resolve().parents[2]
WRITER = "tests.deploy.lakehouse_writer"
BATCH = 20  # above DuckLake's inlining limit (10 rows), so batches become S3 files


@pytest.fixture
def lake_env(shared_lake: SharedLake, monkeypatch: pytest.MonkeyPatch,
             tmp_path: Path) -> SharedLake:
    """The test process as an analyst's host, with a fresh lake.readings."""
    for var, value in shared_lake.env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("ENVMON_HOME", str(tmp_path / "analyst"))
    con = lakehouse.connect()
    try:
        con.execute("DROP TABLE IF EXISTS lake.readings")
        con.execute("CREATE TABLE lake.readings (k INTEGER, writer VARCHAR, batch INTEGER)")
    finally:
        con.close()
    return shared_lake


def _writer(lake: SharedLake, root: Path, name: str, first: int, count: int,
            pause: float = 0.0) -> subprocess.Popen:
    env = lake.host_env(root / name)
    return subprocess.Popen([sys.executable, "-m", WRITER, name, str(first), str(count),
                             str(BATCH), str(pause)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _whole_batches(con) -> list[tuple]:
    """(writer, batch, rows) of every batch that is not whole: none may be."""
    return con.execute("SELECT writer, batch, count(*) FROM lake.readings GROUP BY ALL "
                       f"HAVING count(*) <> {BATCH}").fetchall()


def test_settings_are_shared(lake_env: SharedLake) -> None:
    config = lakehouse.settings()
    assert config.shared and config.data_path == f"s3://{BUCKET}/lake/"
    assert "PGPASSWORD" not in config.catalog and lake_env.env["PGPASSWORD"] not in \
        config.describe()


def test_a_conflict_between_two_writers_is_retried_not_lost(lake_env: SharedLake) -> None:
    con, other = lakehouse.connect(), lakehouse.connect()
    try:
        con.execute("INSERT INTO lake.readings SELECT range, 'old', 0 FROM range(10)")
        calls = []

        def upsert(c):
            calls.append(1)
            c.execute("DELETE FROM lake.readings WHERE k < 5")
            if len(calls) == 1:  # another host replaces some of the same rows first
                other.execute("BEGIN TRANSACTION")
                other.execute("DELETE FROM lake.readings WHERE k < 3")
                other.execute("INSERT INTO lake.readings SELECT range, 'other', 1 "
                              "FROM range(3)")
                other.execute("COMMIT")
            c.execute("INSERT INTO lake.readings SELECT range, 'mine', 2 FROM range(5)")
            return len(calls)

        assert lakehouse.transact(con, upsert) == (2, 1)
        rows = con.execute("SELECT k, writer FROM lake.readings ORDER BY k").fetchall()
        assert rows == [(k, "mine") for k in range(5)] + [(k, "old") for k in range(5, 10)]
    finally:
        other.close()
        con.close()


def _race_on_a_new_key(con, other, claims: list[str]) -> tuple[tuple, int]:
    """Both writers upsert key 1, which neither sees yet; `other` commits first."""
    calls = []

    def upsert(c):
        calls.append(1)
        c.execute("DELETE FROM lake.readings WHERE k = 1")
        if len(calls) == 1:
            other.execute("BEGIN TRANSACTION")
            if claims:
                other.execute("DELETE FROM lake.envmon_claims WHERE scope = 'readings'")
                other.execute("INSERT INTO lake.envmon_claims VALUES ('readings')")
            other.execute("DELETE FROM lake.readings WHERE k = 1")
            other.execute("INSERT INTO lake.readings VALUES (1, 'other', 1)")
            other.execute("COMMIT")
        c.execute("INSERT INTO lake.readings VALUES (1, 'mine', 2)")

    _, conflicts = lakehouse.transact(con, upsert, claims=claims)
    return con.execute("SELECT count(*) FROM lake.readings WHERE k = 1").fetchone(), conflicts


def test_upserts_of_a_new_key_conflict_only_through_a_claim(lake_env: SharedLake) -> None:
    """DuckLake checks what a transaction changed, not what it read: two upserts
    of a key neither had seen both commit (a duplicate) unless they claim their
    scope, which makes the later one conflict and run again."""
    con, other = lakehouse.connect(), lakehouse.connect()
    try:
        assert _race_on_a_new_key(con, other, []) == ((2,), 0)  # the format alone
        con.execute("DELETE FROM lake.readings")
        assert _race_on_a_new_key(con, other, ["readings"]) == ((1,), 1)
        assert con.execute("SELECT writer FROM lake.readings").fetchall() == [("mine",)]
    finally:
        other.close()
        con.close()


def test_two_hosts_write_overlapping_batches_while_an_analyst_reads(
        lake_env: SharedLake, tmp_path: Path) -> None:
    writers = [_writer(lake_env, tmp_path, "host-a", 0, 200),
               _writer(lake_env, tmp_path, "host-b", 100, 200)]
    reads = 0
    reader = lakehouse.connect(read_only=True)
    try:
        while any(w.poll() is None for w in writers):
            total, distinct = reader.execute(
                "SELECT count(*), count(DISTINCT k) FROM lake.readings").fetchone()
            # Snapshot isolation: a reader never sees a batch's delete without its
            # insert, nor the rows of two writers' versions of one key.
            assert total == distinct, f"read {reads}: {total} rows, {distinct} keys"
            assert _whole_batches(reader) == []
            reads += 1
            time.sleep(0.05)
    finally:
        reader.close()
    outputs = [w.communicate(timeout=600) for w in writers]
    for w, (out, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, f"{out}\n{err}"
    con = lakehouse.connect(read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT k), min(k), max(k) "
                           "FROM lake.readings").fetchone() == (300, 300, 0, 299)
        assert _whole_batches(con) == []
        owners = dict(con.execute("SELECT k, writer FROM lake.readings").fetchall())
    finally:
        con.close()
    assert all(owners[k] == "host-a" for k in range(100))
    assert all(owners[k] == "host-b" for k in range(200, 300))
    assert reads > 0
    files = [key for key in lake_env.objects() if key.endswith(".parquet")]
    assert files, "no data file reached the bucket"
    for host in ("host-a", "host-b"):  # nothing of the lake on a host's disk
        assert not list((tmp_path / host / "home").rglob("*.parquet"))
    conflicts = [int(out.split()[-1]) for out, _ in outputs]
    print(f"reads {reads}, conflicts retried {conflicts}, data files {len(files)}")


def test_a_transaction_reading_files_upkeep_deleted_runs_again(lake_env: SharedLake) -> None:
    """Upkeep with no grace merges the files a writer's open transaction lists
    and deletes them from the bucket before the writer reads them (S3 answers
    404): the attempt is undone and runs again on the merged file."""
    from envmon.core.upkeep import Retention, compact

    con = lakehouse.connect()
    try:
        for start in range(0, 200, BATCH):
            con.execute("INSERT INTO lake.readings SELECT range, 'old', ? FROM range(?, ?)",
                        [start, start, start + BATCH])
        calls, upkeeps = [], []

        def upsert(c):
            calls.append(1)
            if len(calls) == 1:
                assert c.execute("SELECT count(*) FROM lake.readings").fetchone() == (200,)
                # Files merged by the first, deleted by the second (freed 0 h ago).
                upkeeps.extend(compact(Retention(keep_days=90, grace_hours=0))
                               for _ in range(2))
            c.execute("DELETE FROM lake.readings WHERE k < 50")
            c.execute("INSERT INTO lake.readings SELECT range, 'new', 1 FROM range(50)")

        _, retried = lakehouse.transact(con, upsert)
        assert retried == 1 and len(calls) == 2
        assert upkeeps[1].files_deleted > 0, upkeeps
        assert con.execute("SELECT writer, count(*) FROM lake.readings GROUP BY ALL "
                           "ORDER BY ALL").fetchall() == [("new", 50), ("old", 150)]
    finally:
        con.close()


def test_upkeep_while_two_hosts_write_loses_nothing(lake_env: SharedLake,
                                                   tmp_path: Path) -> None:
    """`envmon lakehouse compact` (merge, expire, delete) on a third host, again
    and again while two hosts upsert overlapping keys: its commits and theirs
    conflict and are retried, and the end state is the writers' alone."""
    from envmon.core.upkeep import Retention, compact

    writers = [_writer(lake_env, tmp_path, "host-a", 0, 200, pause=0.05),
               _writer(lake_env, tmp_path, "host-b", 100, 200, pause=0.05)]
    merged = []
    while any(w.poll() is None for w in writers):
        merged.append(compact(Retention(keep_days=90, grace_hours=0)))
    outputs = [w.communicate(timeout=600) for w in writers]
    for w, (out, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, f"{out}\n{err}"
    merged.append(compact(Retention(keep_days=90, grace_hours=0)))
    con = lakehouse.connect(read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT k), min(k), max(k) "
                           "FROM lake.readings").fetchone() == (300, 300, 0, 299)
        assert _whole_batches(con) == []
    finally:
        con.close()
    assert len(merged) >= 2 and any(m.files_after < m.files_before for m in merged), merged
    print(f"upkeeps {len(merged)}, files {merged[0].files_before} -> {merged[-1].files_after}")


def test_kill_9_mid_load_leaves_only_whole_batches(lake_env: SharedLake,
                                                   tmp_path: Path) -> None:
    """A host killed between (or inside) transactions: what it committed stays,
    what it had not committed is absent, and another host carries on."""
    victim = _writer(lake_env, tmp_path, "victim", 0, 400, pause=0.1)
    committed: list[int] = []
    deadline = time.monotonic() + 300
    while len(committed) < 3 and time.monotonic() < deadline:
        line = victim.stdout.readline()
        if not line:
            break
        if line.startswith("committed "):
            committed.append(int(line.split()[1]))
    assert len(committed) >= 3, victim.stderr.read()
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    con = lakehouse.connect(read_only=True)
    try:
        assert _whole_batches(con) == []
        batches = {b for (b,) in con.execute("SELECT DISTINCT batch FROM lake.readings"
                                             ).fetchall()}
    finally:
        con.close()
    assert set(committed) <= batches  # every commit it announced is there
    assert len(batches) < 400 // BATCH  # and it was killed before the end
    survivor = _writer(lake_env, tmp_path, "survivor", 0, 400)
    out, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, f"{out}\n{err}"
    con = lakehouse.connect(read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT k), count(DISTINCT writer) "
                           "FROM lake.readings").fetchone() == (400, 400, 1)
    finally:
        con.close()


def test_the_deploy_check_reaches_the_lakehouse(lake_env: SharedLake,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """airflow-init's pre-flight check: catalog and bucket written, or one line why not."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import deploy_check
    finally:
        sys.path.pop(0)
    monkeypatch.setenv("ENVMON_STORAGE", "lakehouse")
    assert deploy_check.check_lakehouse() == []
    assert any(key.endswith("_deploy_check.parquet") for key in lake_env.objects())
    monkeypatch.setenv("ENVMON_LAKEHOUSE_DATA", "s3://no-such-bucket/lake/")
    [problem] = deploy_check.check_lakehouse()
    assert "no-such-bucket" in problem
    monkeypatch.setenv("ENVMON_LAKEHOUSE_DATA", lake_env.env["ENVMON_LAKEHOUSE_DATA"])
    monkeypatch.setenv("PGPASSWORD", "wrong")
    [problem] = deploy_check.check_lakehouse()
    assert "password" in problem.lower() or "authentication" in problem.lower(), problem


def test_hosts_creating_a_table_at_once_all_succeed(lake_env: SharedLake) -> None:
    """The first deliveries of two hosts both create lake.landing and set its
    options: PostgreSQL refuses one of the two UPDATEs of DuckLake's metadata
    ("could not serialize access due to concurrent update"), which must be
    retried like a commit conflict, not fail the load (CI run of stop 19)."""
    import threading

    import pyarrow as pa

    from envmon.core import lake_tables

    schema = pa.schema([("k", pa.int64()), ("body", pa.binary())])
    names = [f"race_{i}" for i in range(12)]
    gate = threading.Barrier(4)
    errors: list[BaseException] = []

    def host() -> None:
        try:
            for name in names:
                gate.wait()
                lake_tables.ensure_table(name, schema, inline=False)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            gate.abort()

    threads = [threading.Thread(target=host) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    con = lakehouse.connect(read_only=True)
    try:
        options = con.execute(
            "SELECT scope_entry, value FROM ducklake_options('lake') "
            "WHERE option_name = 'data_inlining_row_limit' AND scope_entry LIKE '%race_%'"
        ).fetchall()
    finally:
        con.close()
    by_table = {entry.rsplit(".", 1)[-1]: value for entry, value in options}
    assert by_table == dict.fromkeys(names, "0")


# --- locks across hosts (PostgreSQL advisory locks) -------------------------------------


def _holder(lake: SharedLake, root: Path, name: str, mode: str, hold: float
            ) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.deploy.lock_holder", "hazwaste.lake",
                             mode, str(hold)], cwd=ROOT, env=lake.host_env(root / name),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _said(process: subprocess.Popen, word: str, timeout: float = 60) -> float:
    """The time `process` printed `word T` (reading its output until then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(word):
            return float(line.split()[1])
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"no {word!r} from the holder: {process.stderr.read()}")


def _advisory_locks_held(lake: SharedLake) -> int:
    import psycopg2

    con = psycopg2.connect(lake.env["ENVMON_LAKEHOUSE_CATALOG"])
    try:
        with con.cursor() as cursor:
            # A bigint key is shown split: classid its high 32 bits, objid its low.
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                           "AND granted AND classid::bigint = ((%(k)s >> 32) & 4294967295) "
                           "AND objid::bigint = (%(k)s & 4294967295)",
                           {"k": locks.advisory_key("hazwaste.lake")})
            return cursor.fetchone()[0]
    finally:
        con.close()


def test_an_exclusive_lock_holds_across_hosts_and_dies_with_its_holder(
        lake_env: SharedLake, tmp_path: Path) -> None:
    """Two hosts with separate ENVMON_HOME (their flock files have nothing in
    common): the second waits for the first's exclusive lock, in PostgreSQL."""
    first = _holder(lake_env, tmp_path, "a", "exclusive", 3)
    _said(first, "acquired")
    assert _advisory_locks_held(lake_env) == 1
    second = _holder(lake_env, tmp_path, "b", "exclusive", 0)
    released = _said(first, "released")
    assert _said(second, "acquired") >= released
    assert first.wait(30) == 0 and second.wait(30) == 0

    # Killed while holding it: PostgreSQL ends the session and the lock with it.
    killed = _holder(lake_env, tmp_path, "c", "exclusive", 600)
    _said(killed, "acquired")
    waiting = _holder(lake_env, tmp_path, "d", "exclusive", 0)
    time.sleep(1)
    assert waiting.poll() is None  # still waiting behind the holder
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    _said(waiting, "acquired", timeout=30)
    assert waiting.wait(30) == 0 and _advisory_locks_held(lake_env) == 0


def test_shared_holders_on_two_hosts_hold_together_and_keep_out_an_exclusive_one(
        lake_env: SharedLake, tmp_path: Path) -> None:
    """Hazardous-waste loads hold the lake shared on any host; a refresh
    (exclusive) waits until none holds it."""
    a = _holder(lake_env, tmp_path, "a", "shared", 3)
    a_got = _said(a, "acquired")
    b = _holder(lake_env, tmp_path, "b", "shared", 3)
    b_got = _said(b, "acquired")
    refresh = _holder(lake_env, tmp_path, "r", "exclusive", 0)
    a_left = _said(a, "released")
    assert b_got < a_left  # both held it at once
    b_left = _said(b, "released")
    assert _said(refresh, "acquired") >= max(a_left, b_left) >= a_got
    assert all(p.wait(30) == 0 for p in (a, b, refresh))

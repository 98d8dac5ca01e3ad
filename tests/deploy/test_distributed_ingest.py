"""Issue 14's distributed load: two hosts that share no file system, only a
PostgreSQL catalog and an S3 bucket (tests/deploy/shared_lake.py), load
overlapping deliveries of all three domains at once while an analyst reads.

Each host is a set of `envmon ingest` processes (air, water, hazardous waste
at the same time) with an ENVMON_HOME of its own. The deliveries are the
demo's, in the publishers' formats, for four days: host A loads days 1-3,
host B days 2-4. What must hold: nothing lost and nothing twice (the
warehouse equals one host loading everything alone on files), every delivery
loaded once with the other host's run a duplicate, every ledger row
balanced, and no reader ever sees a key twice or an unbalanced run. Then a
host killed (-9) between its lake writes and its commit leaves nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.deploy.shared_lake import SharedLake

ROOT = Path(__file__).resolve().parents[2]
DAYS = [date(2026, 10, d) for d in range(1, 5)]
HOSTS = {"a": DAYS[:3], "b": DAYS[1:]}
FORMATS = {"air": "china-sites", "water": "cnemc-water", "hazwaste": "manifest-json"}
# Rows that must never be there twice, with the keys the loads upsert by.
UNIQUE = {"air_hourly": ("station_code", "ts", "_part"),
          "water_readings": ("section_code", "ts", "_part"),
          "hw_manifests": ("manifest_no", "version", "_part")}
# What the warehouse must say, compared with one host alone; run ids differ.
VIEWS = ("air_hourly", "air_daily_city", "water_readings", "water_section_daily",
         "water_section_monthly", "water_compensation", "hw_manifests", "hw_manifest_copies",
         "hw_anomalies", "hw_flows_monthly")


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[date, list[Path]]]:
    """domain -> day -> that day's deliveries (demo generators, seed 2026)."""
    from envmon.demo import sources

    root = tmp_path_factory.mktemp("feeds")
    beijing = timezone(timedelta(hours=8))
    out: dict[str, dict[date, list[Path]]] = {d: {} for d in FORMATS}
    for day in DAYS:
        out["air"][day] = sources.air_day(root / "air", day, 2026)
        out["hazwaste"][day] = [p for p in sources.hazwaste_day(root / "hw", day, 2026)
                                if p.name.startswith("manifests_")]
        out["water"][day] = [
            path for hour in (0, 12) for path in sources.water_release(
                root / "water", datetime(day.year, day.month, day.day, hour, 30,
                                         tzinfo=beijing), 2026)]
    return out


def _ingest(domain: str, files: list[Path], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "envmon.cli", "ingest", domain, "--format", FORMATS[domain],
         "--no-data-docs", *map(str, files)],
        cwd=env["ENVMON_HOME"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def _host_files(feeds: dict, domain: str, days: list[date]) -> list[Path]:
    return [path for day in days for path in feeds[domain][day]]


def _views(env: dict[str, str]) -> dict[str, list[tuple]]:
    """The warehouse's rows (run ids left out), sorted, as a host with `env` sees them."""
    code = (
        "import json, sys\n"
        "from envmon.domains import build_warehouse\n"
        "from envmon.core.warehouse import connect_read_only\n"
        "build_warehouse(); con = connect_read_only(); out = {}\n"
        f"for view in {VIEWS!r}:\n"
        "    result = con.execute(f'SELECT * FROM {view}')\n"
        "    keep = [i for i, d in enumerate(result.description) if d[0] != 'run_id']\n"
        "    out[view] = sorted(json.dumps([str(r[i]) for i in keep], ensure_ascii=False)\n"
        "                       for r in result.fetchall())\n"
        "json.dump(out, sys.stdout)\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    return json.loads(done.stdout)


def _read_once(con) -> list[str]:  # con: duckdb connection, read-only on the lakehouse
    """What the analyst checks on every read: no key twice, every run balanced."""
    tables = {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()}
    problems = []
    for table, key in UNIQUE.items():
        if table in tables:
            cols = ", ".join(key)
            twice = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM lake.{table} "
                                f"GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0]
            if twice:
                problems.append(f"{table}: {twice} keys twice")
    if "ledger_runs" in tables:
        unbalanced = con.execute(
            "SELECT count(*) FROM lake.ledger_runs "
            "WHERE rows_in <> rows_loaded + rows_quarantined").fetchall()[0][0]
        loaded_twice = con.execute(
            "SELECT count(*) FROM (SELECT dataset, sha256 FROM lake.ledger_runs "
            "WHERE status IN ('ok', 'incomplete') GROUP BY ALL HAVING count(*) > 1)"
        ).fetchall()[0][0]
        if unbalanced or loaded_twice:
            problems.append(f"ledger: {unbalanced} unbalanced, {loaded_twice} loaded twice")
    return problems


def _lake_rows(sql: str, params: list | None = None) -> list[tuple]:
    """Rows of `sql` on the lakehouse, read-only; none while it or its table does not exist."""
    import duckdb

    from envmon.core import lakehouse

    try:
        con = lakehouse.connect(read_only=True)
    except duckdb.InvalidInputException as exc:  # no catalog yet: nothing loaded
        assert "does not exist" in str(exc)
        return []
    try:
        return con.execute(sql, params or []).fetchall()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


def test_two_hosts_load_all_three_domains_at_once(shared_lake: SharedLake, feeds: dict,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from envmon.core import lakehouse

    # Alone on files: what the warehouse must end up saying.
    alone = {**os.environ, "ENVMON_STORAGE": "files", "ENVMON_HOME": str(tmp_path / "alone")}
    for var in shared_lake.env:
        if var.startswith("ENVMON_LAKEHOUSE"):
            alone.pop(var, None)
    (tmp_path / "alone").mkdir()
    for domain in FORMATS:
        proc = _ingest(domain, _host_files(feeds, domain, DAYS), alone)
        assert proc.wait(timeout=600) == 0, proc.stderr.read()[-3000:]

    hosts = {name: shared_lake.host_env(tmp_path / name) for name in HOSTS}
    procs = [(name, domain, _ingest(domain, _host_files(feeds, domain, days), hosts[name]))
             for name, days in HOSTS.items() for domain in FORMATS]
    for var, value in shared_lake.env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("ENVMON_HOME", str(tmp_path / "analyst"))
    reads, problems = 0, []
    deadline = time.monotonic() + 900
    while any(p.poll() is None for _, _, p in procs) and time.monotonic() < deadline:
        try:
            con = lakehouse.connect(read_only=True)
        except Exception as exc:  # noqa: BLE001 - the catalog may not exist yet
            if "ducklake" not in str(exc).lower() and "catalog" not in str(exc).lower():
                raise
            time.sleep(0.2)
            continue
        try:
            problems += _read_once(con)
            reads += 1
        finally:
            con.close()
        time.sleep(0.5)  # attaching costs CPU the hosts need
    for name, domain, proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, f"host {name} {domain}:\n{out[-2000:]}\n{err[-3000:]}"
    print(f"\n{reads} consistent reads during the load")
    assert reads >= 3 and problems == []

    # Nothing on the hosts' disks but their own landing and warehouse files.
    for name in HOSTS:
        home = Path(hosts[name]["ENVMON_HOME"])
        assert not list((home / "lake").rglob("*.parquet")) if (home / "lake").exists() else True
        assert not (home / "lakehouse").exists()
    assert any(key.endswith(".parquet") for key in shared_lake.objects())

    con = lakehouse.connect(read_only=True)
    try:
        assert _read_once(con) == []
        runs = con.execute("SELECT dataset, sha256, status FROM lake.ledger_runs").fetchall()
    finally:
        con.close()
    deliveries = {domain: len(_host_files(feeds, domain, DAYS)) for domain in FORMATS}
    overlap = {domain: len(_host_files(feeds, domain, DAYS[1:3])) for domain in FORMATS}
    con = lakehouse.connect(read_only=True)
    try:
        landed = con.execute("SELECT domain, sha256 FROM lake.landing").fetchall()
    finally:
        con.close()
    # Received by both hosts, kept once: one row per delivery.
    assert len(landed) == len(set(landed)) == sum(deliveries.values())
    loaded = [r for r in runs if r[2] in ("ok", "incomplete")]
    assert len(loaded) == sum(deliveries.values())
    assert sum(r[2] == "duplicate" for r in runs) == sum(overlap.values())
    assert len(runs) == sum(deliveries.values()) + sum(overlap.values())

    analyst = {**os.environ, **shared_lake.env, "ENVMON_HOME": str(tmp_path / "analyst")}
    assert _views(analyst) == _views(alone)


def test_a_host_killed_before_its_commit_leaves_nothing(shared_lake: SharedLake, feeds: dict,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in shared_lake.env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("ENVMON_HOME", str(tmp_path / "analyst"))
    from envmon.demo import sources

    files = sources.air_day(tmp_path / "feed", date(2026, 10, 5), 2026)

    def runs_of(names: list[str]) -> list[tuple]:
        return _lake_rows("SELECT files, status FROM lake.ledger_runs WHERE files IN "
                          f"({', '.join('?' for _ in names)})", names)

    def hours_of_day() -> int:
        rows = _lake_rows("SELECT count(*) FROM lake.air_hourly "
                          "WHERE ts >= TIMESTAMPTZ '2026-10-05 00:00:00+08' "
                          "AND ts < TIMESTAMPTZ '2026-10-06 00:00:00+08'")
        return rows[0][0] if rows else 0

    before = hours_of_day()
    killed_env = {**shared_lake.host_env(tmp_path / "killed"), "ENVMON_FAULT": "after-lake-write"}
    proc = _ingest("air", files, killed_env)
    proc.communicate(timeout=600)
    assert proc.returncode == -9
    assert hours_of_day() == before and runs_of([f.name for f in files]) == []

    survivor = shared_lake.host_env(tmp_path / "survivor")
    proc = _ingest("air", files, survivor)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert runs_of([f.name for f in files]) == [(files[0].name, "ok")]
    assert hours_of_day() > before


def _envmon(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "envmon.cli", *args], cwd=env["ENVMON_HOME"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finished(proc: subprocess.Popen, what: str) -> str:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, f"{what}:\n{out[-2000:]}\n{err[-3000:]}"
    return out


def test_alerts_and_reports_need_no_shared_disk(shared_lake: SharedLake, feeds: dict,
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hosts that share no file system run the alert rules at the same
    time, three times each: every notice reaches the webhook once. Host b,
    which loaded nothing, builds its warehouse file when it first opens it.
    A report written on host a is handed out by host b, and its status is in
    host b's commitment_status."""
    import yaml

    from tests.alerts.conftest import SECRET_ENV, config_data
    from tests.alerts.servers import WebhookReceiver

    receiver = WebhookReceiver()
    try:
        alerts_yaml = tmp_path / "alerts.yaml"
        alerts_yaml.write_text(yaml.safe_dump(config_data(webhook=receiver), allow_unicode=True),
                               encoding="utf-8")
        hosts = {name: {**shared_lake.host_env(tmp_path / name),
                        "ENVMON_ALERTS_CONFIG": str(alerts_yaml), SECRET_ENV: "s3cret"}
                 for name in HOSTS}
        # The lake holds the first days whether or not the load test ran first
        # (a delivery loaded before is a duplicate run, nothing more).
        for domain in ("air", "water"):
            _finished(_ingest(domain, _host_files(feeds, domain, DAYS[:2]), hosts["a"]),
                      f"load {domain}")
        # Host b has loaded nothing and built nothing: its first alerts run
        # opens a warehouse file that does not exist yet, and builds it.
        assert not (Path(hosts["b"]["ENVMON_HOME"]) / "warehouse.duckdb").exists()
        now = "2026-10-03T09:00:00+08:00"
        for round_ in range(3):
            runs = [(name, _envmon(env, "alerts", "run", "--now", now))
                    for name, env in hosts.items()]
            for name, proc in runs:
                _finished(proc, f"host {name}, alerts run {round_ + 1}")
        keys = [r.headers["idempotency-key"] for r in receiver.accepted()]
    finally:
        receiver.stop()
    for var, value in shared_lake.env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("ENVMON_HOME", str(tmp_path / "analyst"))
    assert keys, "the rules raised nothing to deliver"
    assert len(keys) == len(set(keys)), "a notice was delivered twice"
    outbox = _lake_rows("SELECT notice_id, status FROM lake.alert_outbox "
                        "WHERE channel = 'bureau-webhook'")
    assert sorted(outbox) == sorted((key, "sent") for key in keys)
    for name in HOSTS:  # nothing of the store on either host's disk
        assert not (Path(hosts[name]["ENVMON_HOME"]) / "alerts").exists()

    a, b = hosts["a"], hosts["b"]
    _finished(_envmon(a, "report", "--period", "2026-10"), "report on host a")
    written = Path(a["ENVMON_HOME"]) / "reports" / "2026-10" / "yrd"
    assert (Path(b["ENVMON_HOME"]) / "warehouse.duckdb").exists()
    got = tmp_path / "from-b"
    _finished(_envmon(b, "reports", "get", "--period", "2026-10", "--out", str(got)),
              "reports get on host b")
    assert (got / "report.html").read_bytes() == (written / "report.html").read_bytes()
    assert sorted(p.name for p in (got / "report_csv").iterdir()) == \
        sorted(p.name for p in (written / "report_csv").iterdir())
    counted = _finished(_envmon(b, "query", "--csv",
                                "SELECT count(*) AS n FROM commitment_status "
                                "WHERE report_period = '2026-10'"), "query on host b")
    assert int(counted.split()[-1]) > 0

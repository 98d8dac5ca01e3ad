"""Pre-flight check of an envmon deployment, run by the airflow-init service.

Fails (exit 1, one line per problem) before any DAG runs when:
- ENVMON_HOME is not writable, or its filesystem has no working flock (the
  lake's per-dataset locks would not exclude each other: two workers could
  write one partition at once);
- the configuration (ENVMON_CONFIG_DIR) does not load, or a domain schedules
  a source it does not define;
- a scheduled source names an environment variable for its secret
  (`*_env`, e.g. `api_key_env: OPENAQ_API_KEY`) that is not set;
- ENVMON_REFERENCE_DIR is set but is not a directory;
- ENVMON_STORAGE=lakehouse and the lakehouse cannot be attached and written
  (catalog unreachable, wrong password, bucket missing or keys refused).

    python scripts/deploy_check.py
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import uuid
from pathlib import Path


def check_home(root: Path) -> list[str]:
    """ENVMON_HOME is writable and two open files exclude each other with flock."""
    try:
        locks = root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        probe = locks / f".deploy-check-{uuid.uuid4().hex}.lock"
        with open(probe, "a+") as first, open(probe, "a+") as second:
            fcntl.flock(first.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            try:
                fcntl.flock(second.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # excluded, as it must be
            else:
                return [f"ENVMON_HOME={root}: flock does not exclude a second holder on this "
                        "filesystem; use a local volume or NFSv4 with locking"]
        probe.unlink()
    except OSError as exc:
        if exc.errno == errno.ENOLCK:
            return [f"ENVMON_HOME={root}: no flock support on this filesystem (ENOLCK); "
                    "use a local volume or NFSv4 with locking"]
        return [f"ENVMON_HOME={root}: not writable by uid {os.getuid()}: {exc}"]
    return []


def check_config() -> list[str]:
    """Every domain's scheduled sources exist and their named secrets are set."""
    from envmon.core.config import config_dir, load_yaml
    from envmon.core.errors import ConfigError

    try:
        sources = load_yaml("sources.yaml")
    except ConfigError as exc:
        return [str(exc)]
    problems = []
    where = config_dir() / "sources.yaml"
    for domain, settings in sources.items():
        if not isinstance(settings, dict):
            continue
        defined = settings.get("sources") or {}
        for name in settings.get("scheduled") or []:
            if name not in defined:
                problems.append(f"{where}: {domain}.scheduled names {name!r}, "
                                f"not in {domain}.sources")
                continue
            for key, value in (defined[name] or {}).items():
                if key.endswith("_env") and value and not os.environ.get(str(value)):
                    problems.append(f"{where}: {domain} source {name!r} reads its {key[:-4]} "
                                    f"from ${value}, which is not set")
    return problems


def check_reference() -> list[str]:
    from envmon.core.errors import ConfigError
    from envmon.core.reference import load_air_stations

    try:
        stations = load_air_stations()
    except ConfigError as exc:
        return [str(exc)]
    return [] if len(stations) else ["the air station registry is empty"]


def check_lakehouse() -> list[str]:
    """With ENVMON_STORAGE=lakehouse: attach it and commit a claim row (which
    writes the catalog); the first check of a new deployment creates the catalog."""
    from envmon.core import lakehouse
    from envmon.core.errors import ConfigError

    try:
        if not lakehouse.active():
            return []
        config = lakehouse.settings()
        con = lakehouse.connect(config)
        try:
            lakehouse.transact(con, lambda c: None, claims=["deploy_check"])
            # A claim is inlined in the catalog: write and read a file where
            # the data files go, so a missing bucket or refused keys show here.
            probe = f"{config.data_path}_deploy_check.parquet".replace("'", "''")
            con.execute(f"COPY (SELECT 1 AS ok) TO '{probe}' (FORMAT parquet)")
            con.execute(f"SELECT * FROM read_parquet('{probe}')").fetchall()
        finally:
            con.close()
    except ConfigError as exc:
        return [str(exc)]
    except Exception as exc:  # noqa: BLE001 - duckdb raises many types; say which and why
        return [f"lakehouse ({config.describe()}): {type(exc).__name__}: "
                f"{str(exc).splitlines()[0]}"]
    return []


def main() -> int:
    from envmon.core.settings import home

    root = home().root
    problems = check_home(root) + check_config() + check_reference() + check_lakehouse()
    for problem in problems:
        print(f"deploy_check: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"deploy_check: ok (ENVMON_HOME={root}, "
          f"config={os.environ.get('ENVMON_CONFIG_DIR', 'bundled')}, "
          f"reference={os.environ.get('ENVMON_REFERENCE_DIR', 'bundled')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

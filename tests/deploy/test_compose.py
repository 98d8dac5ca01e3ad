"""docker-compose.yml agrees with the Dockerfile, the DAG folder and the settings the code reads.

Docker cannot run here, so the deployment files are checked as data: names
that must match do (settings, paths, service names, ports), no secret has a
value in the repository, every long-running service has a health check, and
the image carries what the code looks for at run time. The same topology runs
from real processes in test_distributed.py.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import yaml

from envmon.core import settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")

# ${NAME}, ${NAME:-default}, ${NAME:?message} (compose interpolation; $$ is a literal $).
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|SECRET_KEY|FERNET_KEY|API_KEY|TOKEN|AUTH)$")

COMPONENT_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
# Containers that run task code, or envmon code against ENVMON_HOME.
TASK_RUNNERS = ("airflow-worker", "airflow-init", "airflow-cli")


def _command(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def _airflow_services() -> dict[str, dict]:
    return {name: s for name, s in SERVICES.items() if "build" in s}


def _env(name: str) -> dict[str, str]:
    return {k: str(v) for k, v in (SERVICES[name].get("environment") or {}).items()}


def _mounts(name: str) -> dict[str, str | None]:
    """Container path -> source of a service's volumes: a named volume, a host
    path, or None for an anonymous volume (one per container, not shared)."""
    return {target: source for source, target in map(_volume, SERVICES[name].get("volumes") or [])}


def _volume(spec: str) -> tuple[str | None, str]:
    """(source, target) of "source:target[:mode]"; a source may be ${VAR:-default}.

    A spec with no source ("/var/lib/envmon" alone) is an anonymous volume:
    (None, target).
    """
    hidden = INTERPOLATION.sub(lambda m: "\0" * len(m.group(0)), spec)
    cut = hidden.find(":")
    if cut < 0:
        return None, spec
    end = hidden.find(":", cut + 1)
    return spec[:cut] or None, spec[cut + 1:end if end > 0 else None]


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _dockerfile_arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, flags=re.M)
    assert match, f"Dockerfile declares no ARG {name} with a default"
    return match.group(1)


def _dockerfile_env() -> dict[str, str]:
    """ENV settings of the Dockerfile (ENV a=b \\ c=d continuation lines)."""
    env = {}
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", DOCKERFILE, flags=re.M):
        for pair in block.replace("\\\n", " ").split():
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def _dockerfile_copies() -> dict[str, PurePosixPath]:
    """Source -> absolute destination of every COPY, resolving WORKDIR."""
    workdir, copies = PurePosixPath("/"), {}
    for line in DOCKERFILE.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "WORKDIR":
            workdir = workdir / words[1]
        elif words[0] == "COPY":
            *sources, dest = [w for w in words[1:] if not w.startswith("--")]
            for source in sources:
                target = workdir / dest
                copies[source.rstrip("/")] = (target / source if dest.endswith("/")
                                              or dest == "./" else target)
    return copies


def _dockerignored(path: str) -> bool:
    """Docker's rule: the last .dockerignore pattern that matches decides."""
    ignored = False
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/").removeprefix("**/")
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p.split("/")[-1], pattern)
               for p in prefixes):
            ignored = not negate
    return ignored


def settings_the_code_reads() -> set[str]:
    """Environment variables read by envmon/, checks/ and dags/, and named in config/.

    Found as os.environ.get("X") / os.getenv("X") / os.environ["X"], as
    constants `..._ENV = "X"`, and as `*_env: X` values in config/*.yaml (the
    variables that hold a source's secret).
    """
    call = re.compile(r"""os\.(?:environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
                      r"""|os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]""")
    constant = re.compile(r"""^\s*[A-Z0-9_]*_ENV(?:_[A-Z0-9_]+)?\s*(?::\s*str\s*)?=\s*"""
                          r"""["']([A-Z][A-Z0-9_]*)["']""", flags=re.M)
    names: set[str] = set()
    files = [*ROOT.glob("envmon/**/*.py"), *ROOT.glob("dags/*.py")]
    for path in files:
        if path.name == "faults.py":  # the drills' crash points: never set in a deployment
            continue
        text = path.read_text(encoding="utf-8")
        names |= {a or b for a, b in call.findall(text)}
        names |= set(constant.findall(text))

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).endswith("_env") and isinstance(value, str) and value:
                    names.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in (ROOT / "config").glob("*.yaml"):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return names


def test_the_scan_finds_the_settings_known_today() -> None:
    # If this fails the scan above broke, not the deployment.
    assert {"ENVMON_HOME", "ENVMON_CONFIG_DIR", "ENVMON_REFERENCE_DIR", "ENVMON_AIR_START",
            "OPENAQ_API_KEY"} <= settings_the_code_reads()


def test_the_topology_has_every_component() -> None:
    assert {"postgres", "redis", "airflow-init", *COMPONENT_COMMANDS} <= set(SERVICES)
    for name, command in COMPONENT_COMMANDS.items():
        assert _command(SERVICES[name]).endswith(command), (name, _command(SERVICES[name]))
    assert "airflow db migrate" in _command(SERVICES["airflow-init"])


def test_every_airflow_service_runs_the_project_image() -> None:
    airflow = _airflow_services()
    assert set(COMPONENT_COMMANDS) | {"airflow-init"} <= set(airflow)
    images = {s["image"] for s in airflow.values()}
    assert len(images) == 1, images
    for name, service in airflow.items():
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name


def test_dockerfile_is_the_official_image_of_the_locked_airflow() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    airflow = next(p["version"] for p in lock["package"] if p["name"] == "apache-airflow")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    python = re.search(r"(\d+\.\d+)", project["project"]["requires-python"]).group(1)
    assert _dockerfile_arg("AIRFLOW_IMAGE") == f"apache/airflow:{airflow}-python{python}"
    assert re.search(r"^FROM \$\{AIRFLOW_IMAGE\}$", DOCKERFILE, flags=re.M)
    makefile_uv = re.search(r"^UV_VERSION := (\S+)$",
                            (ROOT / "Makefile").read_text(encoding="utf-8"), flags=re.M)
    assert _dockerfile_arg("UV_VERSION") == makefile_uv.group(1)
    # the lock, frozen, without the dev group
    assert "uv sync --frozen --no-dev" in DOCKERFILE
    assert "--no-install-project" in DOCKERFILE  # dependencies cached apart from the code


def test_the_image_holds_what_the_code_reads_at_run_time() -> None:
    copies = _dockerfile_copies()
    project_root = copies["envmon"].parent
    assert copies["pyproject.toml"].parent == project_root
    # settings.py finds these beside envmon/ (PROJECT_ROOT), so they must sit there.
    needed = [settings.REFERENCE_DIR, settings.CONFIG_DIR, settings.WAREHOUSE_SQL_DIR,
              settings.CHECKS_DIR, ROOT / "dags", ROOT / "scripts", ROOT / "uv.lock"]
    for path in needed:
        relative = path.relative_to(ROOT).as_posix()
        assert copies.get(relative) == project_root / relative, (relative, copies.get(relative))
        assert not _dockerignored(relative), f".dockerignore drops {relative}"
    for path in [*ROOT.glob("envmon/**/*.py"), *ROOT.glob("dags/*.py"),
                 *ROOT.glob("reference/**/*.csv"), *ROOT.glob("warehouse/*.sql")]:
        relative = path.relative_to(ROOT).as_posix()
        if "__pycache__" not in relative:
            assert not _dockerignored(relative), f".dockerignore drops {relative}"
    for local in (".venv/bin/python", "var/warehouse.duckdb", ".git/HEAD", ".env",
                  "envmon/__pycache__/cli.cpython-311.pyc"):
        assert _dockerignored(local), f".dockerignore lets {local} into the build context"


def test_dag_folder_is_where_the_image_puts_dags() -> None:
    image_dags = str(_dockerfile_copies()["dags"])
    assert _dockerfile_env()["AIRFLOW__CORE__DAGS_FOLDER"] == image_dags
    for name in _airflow_services():
        assert _env(name)["AIRFLOW__CORE__DAGS_FOLDER"] == image_dags, name
        assert _env(name)["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False", name


def test_airflow_settings_point_at_the_services_of_this_file() -> None:
    api_ports = [p.split(":")[-1] for p in SERVICES["airflow-apiserver"]["ports"]]
    postgres = SERVICES["postgres"]["environment"]
    redis = SERVICES["redis"]["command"]
    redis_password = redis[redis.index("--requirepass") + 1]
    assert SERVICES["redis"]["environment"]["REDISCLI_AUTH"] == redis_password  # health check
    for name in _airflow_services():
        env = _env(name)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        execution = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (execution.hostname, str(execution.port), execution.path) == (
            "airflow-apiserver", api_ports[0], "/execution/"), name
        # the same user, password and database the postgres service is created with
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
            f"postgresql+psycopg2://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
            f"@postgres:5432/{postgres['POSTGRES_DB']}"), name
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which is not installed.
        backend = env["AIRFLOW__CELERY__RESULT_BACKEND"]
        assert backend == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        # the password the redis service requires
        assert env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://:{redis_password}@redis:6379/0", name
        for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
                    "AIRFLOW__CORE__FERNET_KEY"):
            # one required variable, the same in every component
            assert env[key] == _env("airflow-apiserver")[key], (name, key)
            assert INTERPOLATION.fullmatch(env[key]).group(2) == ":?", (name, key)


def test_every_setting_the_code_reads_reaches_the_task_containers() -> None:
    names = settings_the_code_reads()
    documented = _env_example()
    for service in (*TASK_RUNNERS, "airflow-dag-processor"):
        env, mounts = _env(service), _mounts(service)
        missing = sorted(names - set(env))
        assert not missing, (f"{service} does not get {missing}: add them to "
                             "x-airflow-common.environment in docker-compose.yml and to "
                             ".env.example")
        for name in names:
            variables = INTERPOLATION.findall(env[name])
            if variables:
                # from .env: documented there
                assert variables[0][0] in documented, (name, ".env.example lacks it")
            else:
                # a fixed value is a path in the container: something must be mounted there
                assert env[name] in mounts, (service, name, env[name], mounts)


def test_envmon_home_is_a_volume_of_each_container_none_shared() -> None:
    """What the tasks share is on the lakehouse, so each container's
    ENVMON_HOME is its own anonymous volume and no named volume of envmon's is
    shared; the one shared named volume is Airflow's task logs."""
    home = _dockerfile_env()["ENVMON_HOME"]
    # created in the image, so a new anonymous volume starts with the image's ownership
    assert re.search(rf"^RUN install -d .*{re.escape(home)}( |$)", DOCKERFILE, flags=re.M)
    airflow = _airflow_services()
    assert set(TASK_RUNNERS) <= set(airflow)
    for name in airflow:
        assert _env(name)["ENVMON_HOME"] == home, name
        assert home in _mounts(name), (name, "ENVMON_HOME is not mounted")
        # anonymous: no source, so neither a named volume nor a host path
        assert _mounts(name)[home] is None, (name, _mounts(name)[home])
        # the lakehouse is what they share instead, over the network
        default = {k: m.group(3) if (m := INTERPOLATION.fullmatch(v)) else v
                   for k, v in _env(name).items()}
        assert default["ENVMON_STORAGE"] == "lakehouse", name
        assert default["ENVMON_LAKEHOUSE_DATA"].startswith("s3://"), name
        catalog = dict(part.split("=", 1) for part in default["ENVMON_LAKEHOUSE_CATALOG"].split())
        assert catalog.get("host") in SERVICES, (name, catalog)
    # no named volume but the task logs in a container that runs tasks
    logs = "airflow-logs"
    for name in airflow:
        named = {s for s in _mounts(name).values() if s in COMPOSE["volumes"]}
        assert named <= {logs}, (name, named - {logs})
    # shared because the api-server reads the logs the workers write, at one path
    (worker_logs,) = [t for t, s in _mounts("airflow-worker").items() if s == logs]
    assert _mounts("airflow-apiserver").get(worker_logs) == logs
    for service in ("airflow-init", "airflow-worker"):
        for directory in ("ENVMON_CONFIG_DIR", "ENVMON_REFERENCE_DIR"):
            target = _env(service)[directory]
            (spec,) = [v for v in SERVICES[service]["volumes"] if _volume(v)[1] == target]
            assert spec.endswith(":ro"), (service, directory, spec)


def test_workers_scale() -> None:
    worker = SERVICES["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown
    home = _env("airflow-worker")["ENVMON_HOME"]
    for spec in worker["volumes"]:
        source, target = _volume(spec)
        # writable: the replica's own ENVMON_HOME (anonymous) or the task logs;
        # everything else (host paths) read-only
        assert ((source is None and target == home) or source == "airflow-logs"
                or spec.endswith(":ro")), spec


def test_health_checks_and_start_order() -> None:
    for name, service in SERVICES.items():
        check = service.get("healthcheck") or {}
        if service.get("restart") == "no":  # one-shot commands: nothing to watch
            assert check == {"disable": True}, name
            continue
        assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), name
    for name in _airflow_services():
        depends = SERVICES[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["lakehouse-catalog"]["condition"] == "service_healthy", name
        assert depends["objectstore-init"]["condition"] == "service_completed_successfully"
        if name in COMPONENT_COMMANDS:
            assert depends["airflow-init"]["condition"] == "service_completed_successfully"
    assert (SERVICES["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"]
            == "service_healthy")


def test_the_shared_lakehouse_is_the_services_of_this_file() -> None:
    """By default the tasks write the lakehouse: the catalog and bucket of this
    file, reached over the network, with the secrets from .env."""
    env = _env("airflow-worker")
    default = {k: INTERPOLATION.fullmatch(v).group(3) if INTERPOLATION.fullmatch(v) else v
               for k, v in env.items()}
    assert default["ENVMON_STORAGE"] == "lakehouse"
    catalog = dict(part.split("=", 1) for part in default["ENVMON_LAKEHOUSE_CATALOG"].split())
    assert catalog["host"] == "lakehouse-catalog"
    db = SERVICES["lakehouse-catalog"]["environment"]
    assert (catalog["user"], catalog["dbname"]) == (db["POSTGRES_USER"], db["POSTGRES_DB"])
    assert "password" not in catalog
    assert INTERPOLATION.fullmatch(env["PGPASSWORD"]).group(1) == \
        INTERPOLATION.fullmatch(db["POSTGRES_PASSWORD"]).group(1) == "ENVMON_LAKEHOUSE_PASSWORD"
    assert default["ENVMON_S3_ENDPOINT"].split(":")[0] == "objectstore"
    bucket = default["ENVMON_LAKEHOUSE_DATA"].removeprefix("s3://").split("/")[0]
    assert f"store/{bucket}" in " ".join(SERVICES["objectstore-init"]["entrypoint"])
    store = SERVICES["objectstore"]["environment"]
    assert INTERPOLATION.fullmatch(store["MINIO_ROOT_USER"]).group(1) == "AWS_ACCESS_KEY_ID"
    for secret in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD"):
        assert INTERPOLATION.fullmatch(env[secret]).group(2) == ":?", secret


def test_scripts_the_services_run_exist_in_the_image() -> None:
    scripts = _dockerfile_copies()["scripts"]
    for name, service in SERVICES.items():
        for path in re.findall(r"(/opt/envmon/scripts/\S+\.py)", _command(service)):
            assert PurePosixPath(path).parent == scripts, (name, path)
            assert (ROOT / "scripts" / PurePosixPath(path).name).is_file(), (name, path)


def test_no_secret_in_the_repository() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    referenced = {m.group(1): m for m in INTERPOLATION.finditer(text)}
    documented = _env_example()
    assert set(referenced) == set(documented), (
        f"used but not in .env.example: {sorted(set(referenced) - set(documented))}; "
        f"in .env.example but unused: {sorted(set(documented) - set(referenced))}")
    for name, match in referenced.items():
        if SECRET_NAME.search(name):
            assert documented[name] == "", f".env.example gives {name} a value"
            # required (:?) or optional with an empty default (:-), never a default secret
            assert match.group(2) == ":?" or (match.group(2) == ":-" and not match.group(3)), name
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) or re.search(r"://[^/]*:[^/]*@", str(value)):
                # every secret, alone or inside a URL, comes from the environment
                literal = INTERPOLATION.sub("", str(value))
                assert not re.search(r":[^/@:]+@", literal), (name, key)
                if SECRET_NAME.search(key):
                    assert INTERPOLATION.search(str(value)), (name, key)
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored or "/.env" in ignored, (
        ".env (the filled-in copy of .env.example, with the secrets) must be in .gitignore")

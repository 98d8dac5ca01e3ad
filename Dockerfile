# envmon's production image: the official Airflow 3.3 image plus the project
# and its locked dependencies. docker-compose.yml runs every Airflow component
# from it; docs/deployment.md explains the deployment.
#
#   docker compose build        (or: docker build -t envmon-airflow .)
#
# The lock (uv.lock) is installed with uv into a virtualenv of its own,
# /opt/envmon/.venv, first on PATH: the containers run exactly the package set
# that CI tests (tests/deploy/test_distributed.py), not a mix of it with the
# providers preinstalled in the base image. The Airflow version of the base
# image and of the lock must agree (tests/deploy/test_compose.py checks it).
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

# The uv the Makefile uses (UV_VERSION there): a lock written by a newer uv
# may not be readable by an older one.
ARG UV_VERSION=0.13.8

USER root
# Group 0 and group-writable, as the Airflow image does for every directory it
# writes, so the image also runs under an arbitrary uid with gid 0.
# /var/lib/envmon is ENVMON_HOME; compose mounts an anonymous volume over it
# (one per container), which Docker fills from here on first use (ownership
# included).
RUN install -d -o airflow -g 0 -m 2775 /opt/envmon /var/lib/envmon /etc/envmon
USER airflow

ENV UV_PROJECT_ENVIRONMENT=/opt/envmon/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1
# Into a directory of its own (PIP_USER off: the base image may set it), so it
# does not depend on how the base image installs its own packages.
RUN PIP_USER=false python -m pip install --no-cache-dir --target /opt/envmon/.tools \
        "uv==${UV_VERSION}"

WORKDIR /opt/envmon
# Dependencies first (a layer that changes only with the lock), then the code.
COPY --chown=airflow:0 pyproject.toml uv.lock ./
RUN /opt/envmon/.tools/bin/uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.11
COPY --chown=airflow:0 README.md ./
COPY --chown=airflow:0 envmon ./envmon
COPY --chown=airflow:0 checks ./checks
COPY --chown=airflow:0 config ./config
COPY --chown=airflow:0 reference ./reference
COPY --chown=airflow:0 warehouse ./warehouse
COPY --chown=airflow:0 dags ./dags
COPY --chown=airflow:0 scripts ./scripts
# The project itself, editable: envmon/ finds reference/, config/, checks/
# and warehouse/ beside it in /opt/envmon, and `envmon` is on PATH.
RUN /opt/envmon/.tools/bin/uv sync --frozen --no-dev --python /usr/local/bin/python3.11 \
    && /opt/envmon/.venv/bin/airflow version \
    && /opt/envmon/.venv/bin/python -c "import envmon.air.tasks, envmon.core.checks"

ENV PATH=/opt/envmon/.venv/bin:${PATH} \
    VIRTUAL_ENV=/opt/envmon/.venv \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/envmon/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    ENVMON_HOME=/var/lib/envmon
WORKDIR /opt/airflow

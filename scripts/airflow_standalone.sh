#!/usr/bin/env bash
# `make airflow`: Airflow standalone over the project's DAGs, on this machine.
#
# One command runs the scheduler, dag-processor, triggerer and api-server
# (LocalExecutor, SQLite in AIRFLOW_HOME); the DAGs pull the sources that
# config/sources.yaml schedules (the demo feeds, unless ENVMON_CONFIG_DIR
# points elsewhere) into ENVMON_HOME. Stop it with Ctrl-C. For production use
# docker-compose.yml (docs/deployment.md).
#
# Settings, all optional (scripts/airflow_local_env.sh):
#   ENVMON_HOME          envmon's data                  (default ./var)
#   AIRFLOW_HOME         Airflow's database, logs       (default ./var/airflow)
#   AIRFLOW_PORT         UI and REST API port           (default 8080)
#   AIRFLOW_HOST         address it listens on          (default 127.0.0.1)
#   AIRFLOW_PARALLELISM  tasks at once                  (default 8)
#   ENVMON_AIR_START     first hour the air DAG loads   (default today 00:00 Beijing)
#   ENVMON_WATER_START   first slot the water DAG loads (default today 00:00 Beijing)
#   ENVMON_HAZWASTE_START first day the hazwaste DAG loads (default today 00:00 Beijing)
# DAGs start paused: unpause one in the UI (or `airflow dags unpause air_quality`)
# and it catches up from its start date, then runs on schedule. Backfill past
# days with scripts/airflow_backfill.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/airflow_local_env.sh"
mkdir -p "$AIRFLOW_HOME" "$ENVMON_HOME"

cat <<BANNER
envmon on Airflow standalone
  UI and REST API   http://localhost:$AIRFLOW__API__PORT
  login             admin; the generated password is in
                    $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated
                    (printed below on the first start; cat the file later)
  DAGs              $AIRFLOW__CORE__DAGS_FOLDER (paused; unpause to run)
  config            ${ENVMON_CONFIG_DIR:-$ROOT/config} (the sources it schedules)
  start dates       air $ENVMON_AIR_START, water $ENVMON_WATER_START,
                    hazwaste $ENVMON_HAZWASTE_START
  ENVMON_HOME       $ENVMON_HOME (warehouse: $ENVMON_HOME/warehouse.duckdb)
  AIRFLOW_HOME      $AIRFLOW_HOME
  backfill          scripts/airflow_backfill.sh air_quality FROM TO
BANNER
exec "$AIRFLOW" standalone

# Sourced by airflow_standalone.sh and airflow_backfill.sh: the settings of the
# local Airflow (`make airflow`), so every command sees the same database,
# DAGs and start dates. Each can be overridden from the environment.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AIRFLOW="${AIRFLOW_BIN:-$ROOT/.venv/bin/airflow}"
# Today's Beijing midnight: catching up from there is at most a day of runs.
TODAY="$(TZ=Asia/Shanghai date +%Y-%m-%dT00:00:00+08:00)"

# standalone starts its components as `airflow ...` from PATH.
export PATH="$(dirname "$AIRFLOW"):$PATH"
export ENVMON_HOME="${ENVMON_HOME:-$ROOT/var}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/var/airflow}"
export ENVMON_AIR_START="${ENVMON_AIR_START:-$TODAY}"
export ENVMON_WATER_START="${ENVMON_WATER_START:-$TODAY}"
export ENVMON_HAZWASTE_START="${ENVMON_HAZWASTE_START:-$TODAY}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__API__PORT="${AIRFLOW_PORT:-8080}"
# Only this machine can reach the UI; AIRFLOW_HOST=0.0.0.0 opens it to the network.
export AIRFLOW__API__HOST="${AIRFLOW_HOST:-127.0.0.1}"
# Airflow's default (32) starts 32 LocalExecutor processes: too many for a laptop.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW_PARALLELISM:-8}"

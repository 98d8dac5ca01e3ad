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
# Tasks report to the api-server's execution API, which Airflow looks for at
# http://localhost:8080/execution/ whatever AIRFLOW_PORT says: on another port
# every task failed with "Connection refused". Point it at the address and
# port the api-server listens on (through loopback when that is a wildcard),
# under the path of AIRFLOW__API__BASE_URL, if one is set, as the api-server
# serves it there. An explicit AIRFLOW__CORE__EXECUTION_API_SERVER_URL wins.
case "$AIRFLOW__API__HOST" in
    0.0.0.0) _api_host=127.0.0.1 ;;
    ::) _api_host="[::1]" ;;
    *:*) _api_host="[$AIRFLOW__API__HOST]" ;;  # an IPv6 address in a URL
    *) _api_host="$AIRFLOW__API__HOST" ;;
esac
_api_path=""
if [[ "${AIRFLOW__API__BASE_URL:-}" =~ ^([A-Za-z][A-Za-z0-9+.-]*://[^/]*)?(/.*)?$ ]]; then
    _api_path="${BASH_REMATCH[2]%/}"
fi
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://$_api_host:$AIRFLOW__API__PORT$_api_path/execution/}"
unset _api_host _api_path
# Airflow's default (32) starts 32 LocalExecutor processes: too many for a laptop.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW_PARALLELISM:-8}"

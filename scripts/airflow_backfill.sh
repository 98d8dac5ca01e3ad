#!/usr/bin/env bash
# Backfill a DAG of the local Airflow (`make airflow`, which must be running):
#
#   scripts/airflow_backfill.sh air_quality 2026-10-01T01:00:00+08:00 2026-10-08T00:00:00+08:00
#
# creates one run per schedule slot from FROM to TO inclusive (air_quality is
# hourly and a run at HH:00 loads the hour ending then, so these bounds are
# the natural days 1-7 October, 168 runs), which the standalone scheduler then
# runs, max_active_runs at a time. Extra arguments go to `airflow backfill
# create` (e.g. --reprocess-behavior failed).
#
# Airflow refuses to create a backfill on SQLite while another component holds
# the database ("database is locked"), which happens at random under
# standalone; this retries. With PostgreSQL (docker-compose.yml) it does not.
set -euo pipefail
if [[ $# -lt 3 ]]; then
    sed -n '2,6p' "$0" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/airflow_local_env.sh"
dag="$1" from="$2" to="$3"
shift 3
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if output="$("$AIRFLOW" backfill create --dag-id "$dag" --from-date "$from" \
            --to-date "$to" "$@" 2>&1)"; then
        printf '%s\n' "$output" | tail -n 3
        echo "backfill of $dag $from .. $to created; follow it in the UI (Dag $dag, Runs)"
        exit 0
    fi
    if ! grep -q "database is locked" <<<"$output"; then
        printf '%s\n' "$output" | tail -n 20 >&2
        exit 1
    fi
    echo "attempt $attempt: SQLite busy (database is locked), retrying" >&2
    sleep 3
done
echo "gave up: SQLite stayed locked; try again" >&2
exit 1

#!/usr/bin/env bash
# `make airflow`: this checkout's Airflow on this machine without Docker, the way `airflow
# standalone` runs it: SQLite metadata in .airflow/, LocalExecutor, api-server + scheduler +
# dag-processor + triggerer under one parent (Ctrl-C stops them all). Connections come from
# .env (see .env.example); the metadata DB and the pool mysql_connections come from `make setup`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bin/airflow-env.sh"  # sources .env; AIRFLOW_HOME, dags/, plugins/, no examples

PORT="${AIRFLOW_PORT:-8080}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-http://localhost:$PORT}"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://127.0.0.1:$PORT/execution/}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "port $PORT is taken: set AIRFLOW_PORT in .env or the environment" >&2
  exit 1
fi
[ -f "$ROOT/.env" ] || echo "no .env: copy .env.example to .env and set the connections sqlite_source and mysql_target"

mkdir -p "$AIRFLOW_HOME"
# The admin's password: AIRFLOW_ADMIN_PASSWORD if set, else the one generated at the first start.
password="$(python - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" <<'PY'
import json, os, secrets, sys
path, wanted = sys.argv[1], os.environ.get("AIRFLOW_ADMIN_PASSWORD")
if wanted or not os.path.exists(path) or not os.path.getsize(path):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump({"admin": wanted or secrets.token_urlsafe(12)}, handle)
with open(path) as handle:
    print(json.load(handle)["admin"])
PY
)"
echo "Airflow UI: $AIRFLOW__API__BASE_URL   login: admin / $password"

# Ctrl-C sends SIGINT to the whole foreground process group, and with it the LocalExecutor's
# scheduler of Airflow 3.3.2 waits forever for its workers; SIGTERM stops every component
# cleanly. So the components get a process group of their own, and Ctrl-C becomes SIGTERM to it.
setsid airflow standalone &
group=$!
trap 'kill -TERM -- "-$group" 2>/dev/null || true' INT TERM
(  # the login again once the UI answers, below the components' start-up logs
  until curl -sf "http://127.0.0.1:$PORT/api/v2/monitor/health" >/dev/null; do
    kill -0 -- "-$group" 2>/dev/null || exit 0
    sleep 2
  done
  echo "Airflow UI: $AIRFLOW__API__BASE_URL   login: admin / $password"
) &
wait "$group" || true
# A component that has not stopped a minute after SIGTERM is killed: Ctrl-C always ends them all.
deadline=$((SECONDS + 60))
while kill -0 -- "-$group" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "components still running 60 s after SIGTERM: killed" >&2
    kill -KILL -- "-$group" 2>/dev/null || true
  fi
  sleep 0.5
done
wait

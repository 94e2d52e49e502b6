#!/usr/bin/env bash
# Idempotent setup of a fresh machine: system packages, .venv, Airflow metadata DB and pool.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

need_apt=()
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
[ -f /usr/include/mariadb/mysql.h ] || need_apt+=(libmariadb-dev)
command -v zstd >/dev/null || need_apt+=(zstd)
command -v age >/dev/null || need_apt+=(age)
command -v mariadb-dump >/dev/null || need_apt+=(mariadb-client)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
if [ "${WITH_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null; then need_apt+=(chromium); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The tests use the MariaDB on 127.0.0.1:3306 unless MYSQL_URL names another server: start the
# machine's own server if it is installed and does not answer (after a reboot or a crash).
if [ -z "${MYSQL_URL:-}" ] && [ -x /usr/sbin/mariadbd ] && ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  echo "setup: starting the MariaDB server on 127.0.0.1:3306"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO service mariadb start >/dev/null 2>&1 || true
  for _ in $(seq 60); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 0.5; done
  (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null || { echo "setup: no MariaDB answers on 127.0.0.1:3306" >&2; exit 1; }
fi

stamp=.venv/.requirements.sha
want="$(cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt -c constraints.txt
  echo "$want" > "$stamp"
fi

source bin/airflow-env.sh
mkdir -p "$AIRFLOW_HOME"
.venv/bin/airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 \
  || { tail -20 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
.venv/bin/airflow pools set mysql_connections "${MYSQL_POOL_SLOTS:-8}" "Bounds concurrent MySQL sessions of migration, backup and restore tasks" >/dev/null

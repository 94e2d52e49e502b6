# The Airflow image of this project: the official apache/airflow 3.3.2 image (Python 3.11, the
# version the lock in constraints.txt was tested with) plus what the DAGs run besides Python:
#   - MySQL client tools matching the server: MySQL 8.4's mysqldump/mysqlbinlog/mysql from
#     Oracle's repository by default (MariaDB's cannot read MySQL 8.4 binlogs), or Debian's
#     mariadb-client with --build-arg MYSQL_CLIENT=mariadb for a MariaDB server;
#   - age and zstd (backup encryption and compression), openssl (the compose stack's TLS init);
#   - the build dependencies of mysqlclient, in case pip has to build it;
#   - the runtime block of requirements.txt, installed with constraints.txt (the full lock).
# dags/, plugins/ and include/ are copied in: every worker runs the same code.
FROM apache/airflow:3.3.2-python3.11

ARG MYSQL_CLIENT=mysql-8.4
USER root
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends age zstd openssl gnupg curl ca-certificates \
        pkg-config gcc libmariadb-dev; \
    if [ "$MYSQL_CLIENT" = mariadb ]; then \
        apt-get install -y --no-install-recommends mariadb-client; \
    else \
        curl -fsSL https://repo.mysql.com/RPM-GPG-KEY-mysql-2023 | gpg --dearmor -o /usr/share/keyrings/mysql.gpg; \
        echo "deb [signed-by=/usr/share/keyrings/mysql.gpg] http://repo.mysql.com/apt/debian/ $(. /etc/os-release && echo "$VERSION_CODENAME") mysql-8.4-lts" \
            > /etc/apt/sources.list.d/mysql.list; \
        apt-get update; \
        apt-get install -y --no-install-recommends mysql-community-client; \
    fi; \
    apt-get autoremove -yqq --purge; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/*

USER airflow
COPY --chown=airflow:root requirements.txt constraints.txt /opt/airflow/deps/
# Only the runtime block (up to the first comment after it): the demo app and the test tools stay out.
RUN awk 'NR > 1 && /^# /{exit} {print}' /opt/airflow/deps/requirements.txt > /opt/airflow/deps/runtime.txt \
 && pip install --no-cache-dir -r /opt/airflow/deps/runtime.txt -c /opt/airflow/deps/constraints.txt

COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root include/ /opt/airflow/include/

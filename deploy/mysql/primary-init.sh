# Sourced once by the mysql image's entrypoint at the primary's first start
# (/docker-entrypoint-initdb.d): one account per job, each with the project's least-privilege
# grants from include/sql/users/mysql (mounted at /etc/mysql/grants), every one required to use
# TLS, plus the replication account of the replica.

grants() {  # grants TEMPLATE ACCOUNT: the template with its placeholders filled in
  sed -e "s/{database}/\`${MYSQL_DATABASE}\`/g" -e "s/{account}/$2/g" "/etc/mysql/grants/$1.sql"
}

docker_process_sql <<SQL
CREATE USER IF NOT EXISTS 'migration'@'%' IDENTIFIED BY '${MYSQL_MIGRATION_PASSWORD}' REQUIRE SSL;
CREATE USER IF NOT EXISTS 'backup'@'%' IDENTIFIED BY '${MYSQL_BACKUP_PASSWORD}' REQUIRE SSL;
CREATE USER IF NOT EXISTS 'monitor'@'%' IDENTIFIED BY '${MYSQL_MONITOR_PASSWORD}' REQUIRE SSL;
CREATE USER IF NOT EXISTS 'replication'@'%' IDENTIFIED BY '${MYSQL_REPLICATION_PASSWORD}' REQUIRE SSL;
GRANT REPLICATION SLAVE ON *.* TO 'replication'@'%';
$(grants migration "'migration'@'%'")
$(grants backup "'backup'@'%'")
$(grants monitor "'monitor'@'%'")
SQL

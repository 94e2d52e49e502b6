# Sourced once by the mysql image's entrypoint at the replica's first start: replicate the
# primary over verified TLS with GTID auto-positioning (from the primary's first transaction,
# accounts included), then make this server read-only for everyone from its next start on.

docker_process_sql <<SQL
RESET BINARY LOGS AND GTIDS;
CHANGE REPLICATION SOURCE TO SOURCE_HOST = 'mysql-primary', SOURCE_PORT = 3306,
  SOURCE_USER = 'replication', SOURCE_PASSWORD = '${MYSQL_REPLICATION_PASSWORD}',
  SOURCE_AUTO_POSITION = 1, SOURCE_CONNECT_RETRY = 10,
  SOURCE_SSL = 1, SOURCE_SSL_CA = '/etc/mysql/tls/ca.pem', SOURCE_SSL_VERIFY_SERVER_CERT = 1;
START REPLICA;
SET PERSIST read_only = ON;
SET PERSIST super_read_only = ON;
SQL

#!/usr/bin/env bash
# TLS for the compose stack's MySQL servers (service tls-init): a private CA, and one server
# certificate whose subjectAltName holds every name clients use (mysql-primary, mysql-replica, mysql-dev,
# and 127.0.0.1 inside the containers), because the project's connections verify the server's
# identity, not just the CA.
# Idempotent: existing files are kept. Usage: make-certs.sh DIR [MYSQL_UID]
set -euo pipefail
dir="$1"
mysql_uid="${2:-999}"  # mysqld's user in the mysql image: it must read the key
mkdir -p "$dir"
cd "$dir"
if [ -f ca.pem ] && [ -f server-cert.pem ] && [ -f server-key.pem ]; then
  echo "TLS files already in $dir"
  exit 0
fi
openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=sqlite-to-mysql compose CA" \
  -keyout ca-key.pem -out ca.pem
openssl req -newkey rsa:3072 -nodes -subj "/CN=mysql-primary" -keyout server-key.pem -out server.csr
printf 'subjectAltName=DNS:mysql-primary,DNS:mysql-replica,DNS:mysql-dev,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
  -extfile server.ext -out server-cert.pem
rm -f server.csr server.ext ca.srl ca-key.pem  # no more certificates are signed: the CA key goes
chmod 644 ca.pem server-cert.pem
chmod 600 server-key.pem
if [ "$(id -u)" = 0 ]; then chown "$mysql_uid:$mysql_uid" server-key.pem; fi
echo "TLS files written to $dir"

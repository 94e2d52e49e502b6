"""TLS through MySqlServerHook and its client option file, against a private mariadbd with
require_secure_transport=ON and certificates made here with openssl."""
from __future__ import annotations

import json
import subprocess

import pytest

from hooks.mysql_server_hook import MySqlServerHook
from mysql_common.errors import ConfigurationError

pytestmark = pytest.mark.integration


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}-key.pem", "-out", f"{name}.pem", cwd=d)


def make_cert(d, name, ca, san):
    (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}-key.pem",
            "-out", f"{name}.csr", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "server", "ca", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "misnamed", "ca", "DNS:db.example.invalid")
    make_cert(d, "client", "ca", "DNS:client")
    return d


def tls_server(private_mariadb, certs, cert="server"):
    server = private_mariadb(options={"ssl-ca": certs / "ca.pem", "ssl-cert": certs / f"{cert}.pem",
                                      "ssl-key": certs / f"{cert}-key.pem"})
    # Switched on after start: the harness's readiness probe connects without TLS.
    server.sql("SET GLOBAL require_secure_transport = ON")
    return server


def hook(monkeypatch, server, ssl=None):
    extra = {"ssl": ssl} if ssl else {}
    monkeypatch.setenv("AIRFLOW_CONN_TLS_TEST", json.dumps({
        "conn_type": "mysql", "host": "127.0.0.1", "port": server.port, "login": "root", "extra": extra}))
    return MySqlServerHook("tls_test")


def cipher(conn) -> str:
    cur = conn.cursor()
    cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    return cur.fetchone()[1]


def full_ssl(certs, ca="ca"):
    return {"ca": str(certs / f"{ca}.pem"), "cert": str(certs / "client.pem"),
            "key": str(certs / "client-key.pem")}


def test_tls_connection_works(private_mariadb, certs, monkeypatch):
    server = tls_server(private_mariadb, certs)
    conn = hook(monkeypatch, server, full_ssl(certs)).get_conn(with_database=False)
    try:
        assert cipher(conn)
    finally:
        conn.close()


def test_plain_connection_is_refused_with_a_hint(private_mariadb, certs, monkeypatch):
    server = tls_server(private_mariadb, certs)
    with pytest.raises(ConfigurationError, match="requires TLS"):
        hook(monkeypatch, server).get_conn(with_database=False)


def test_wrong_ca_fails_clearly(private_mariadb, certs, monkeypatch):
    server = tls_server(private_mariadb, certs)
    with pytest.raises(ConfigurationError, match="TLS error: the server's certificate must be signed by the CA"):
        hook(monkeypatch, server, full_ssl(certs, ca="other-ca")).get_conn(with_database=False)


def test_host_name_is_verified(private_mariadb, certs, monkeypatch):
    server = tls_server(private_mariadb, certs, cert="misnamed")
    with pytest.raises(ConfigurationError, match="TLS error"):
        hook(monkeypatch, server, {"ca": str(certs / "ca.pem")}).get_conn(with_database=False)


def test_no_silent_fallback_to_plain_text(private_mariadb, certs, monkeypatch):
    # A server without TLS: with a CA alone, Connector/C would quietly connect unencrypted.
    server = private_mariadb()
    with pytest.raises(ConfigurationError, match="TLS error"):
        hook(monkeypatch, server, {"ca": str(certs / "ca.pem")}).get_conn(with_database=False)


def test_command_line_clients_use_tls(private_mariadb, certs, monkeypatch):
    server = tls_server(private_mariadb, certs)
    for ca, ok in (("ca", True), ("other-ca", False)):
        with hook(monkeypatch, server, full_ssl(certs, ca)).client_option_file() as option_file:
            run = subprocess.run(["mariadb", f"--defaults-extra-file={option_file}", "--batch",
                                  "-e", "SHOW SESSION STATUS LIKE 'Ssl_cipher'"], capture_output=True, text=True)
        assert (run.returncode == 0 and "TLS" in run.stdout) is ok, run.stderr

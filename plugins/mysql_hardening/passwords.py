"""Password hashes computed here, so that only a hash ever reaches the server.

A `CREATE USER ... IDENTIFIED BY '<password>'` is written to the binary log as it was sent:
every binlog backup, every replica and anyone allowed to read the binlog (the backup account)
gets the password. Sending the server's own stored form instead (`IDENTIFIED VIA
mysql_native_password USING '*<hash>'` on MariaDB, `IDENTIFIED WITH caching_sha2_password AS
'<hash>'` on MySQL 8.4) gives the server exactly what it would have stored, and the binlog,
replicas and audit log only ever see that hash.

A hash is still worth protecting (an offline guess of a weak password), which is why the
accounts need long random passwords; see docs/hardening.md.
"""
from __future__ import annotations

import hashlib
import secrets

NATIVE = "mysql_native_password"  # MariaDB's default; SHA1(SHA1(password)), unsalted
CACHING_SHA2 = "caching_sha2_password"  # MySQL 8.4's default; salted SHA-256 crypt

# caching_sha2_password's stored form: $A$<rounds/1000 as 3 hex digits>$<20-byte salt><43-char digest>
_SHA2_ROUNDS = 5000
_SHA2_SALT = 20
# The salt we generate: printable, and neither '$', a quote nor a backslash, so the stored string
# is a plain SQL literal. The server only requires 20 bytes.
_SALT_CHARS = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CRYPT64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Byte order of the SHA-256 crypt output encoding (Drepper's specification).
_SHA256_ORDER = [(0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14), (15, 25, 5),
                 (6, 16, 26), (27, 7, 17), (18, 28, 8), (9, 19, 29)]


def native_password_hash(password: str) -> str:
    """MariaDB/MySQL mysql_native_password: '*' + HEX(SHA1(SHA1(password)))."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()
    return "*" + hashlib.sha1(inner).hexdigest().upper()


def sha256_crypt(password: bytes, salt: bytes, rounds: int = _SHA2_ROUNDS) -> bytes:
    """The 43-character digest of SHA-256 crypt (Drepper), for any salt length: MySQL's
    caching_sha2_password uses a 20-byte salt where crypt(3) stops at 16."""
    h = hashlib.sha256
    alternate = h(password + salt + password).digest()
    a = h(password + salt)
    n = len(password)
    while n > 32:
        a.update(alternate)
        n -= 32
    a.update(alternate[:n])
    n = len(password)
    while n:
        a.update(alternate if n & 1 else password)
        n >>= 1
    digest = a.digest()
    p_bytes = (h(password * len(password)).digest() * (len(password) // 32 + 1))[:len(password)]
    s_bytes = (h(salt * (16 + digest[0])).digest() * (len(salt) // 32 + 1))[:len(salt)]
    for i in range(rounds):
        c = h(p_bytes if i & 1 else digest)
        if i % 3:
            c.update(s_bytes)
        if i % 7:
            c.update(p_bytes)
        c.update(digest if i & 1 else p_bytes)
        digest = c.digest()
    out = bytearray()

    def encode(b2: int, b1: int, b0: int, chars: int) -> None:
        word = (b2 << 16) | (b1 << 8) | b0
        for _ in range(chars):
            out.append(_CRYPT64[word & 63])
            word >>= 6

    for i, j, k in _SHA256_ORDER:
        encode(digest[i], digest[j], digest[k], 4)
    encode(0, digest[31], digest[30], 3)
    return bytes(out)


def caching_sha2_hash(password: str, salt: bytes | None = None) -> bytes:
    """The authentication_string MySQL 8.4 stores for caching_sha2_password."""
    if salt is None:
        salt = "".join(secrets.choice(_SALT_CHARS) for _ in range(_SHA2_SALT)).encode()
    if len(salt) != _SHA2_SALT:
        raise ValueError(f"caching_sha2_password salts are {_SHA2_SALT} bytes")
    prefix = f"$A${_SHA2_ROUNDS // 1000:03X}$".encode()
    return prefix + salt + sha256_crypt(password.encode("utf-8"), salt, _SHA2_ROUNDS)


def caching_sha2_matches(password: str, stored: bytes) -> bool:
    """Does a stored caching_sha2_password string belong to this password? (its own salt and rounds)"""
    if len(stored) != 7 + _SHA2_SALT + 43 or not stored.startswith(b"$A$") or stored[6:7] != b"$":
        return False
    try:
        rounds = int(stored[3:6], 16) * 1000
    except ValueError:
        return False
    salt = stored[7:7 + _SHA2_SALT]
    return secrets.compare_digest(stored[7 + _SHA2_SALT:], sha256_crypt(password.encode("utf-8"), salt, rounds))


def stored_form(plugin: str, password: str) -> bytes:
    """What the server stores for this password under this plugin."""
    if plugin == NATIVE:
        return native_password_hash(password).encode()
    if plugin == CACHING_SHA2:
        return caching_sha2_hash(password)
    raise ValueError(f"no client-side hash for the {plugin} plugin")


def matches(plugin: str, stored: bytes, password: str) -> bool:
    if plugin == NATIVE:
        return secrets.compare_digest(stored.upper(), native_password_hash(password).encode())
    if plugin == CACHING_SHA2:
        return caching_sha2_matches(password, stored)
    return False

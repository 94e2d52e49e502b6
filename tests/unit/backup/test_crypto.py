"""age keys: fail closed, never show the secret, decrypt by hand with the age CLI."""
from __future__ import annotations

import subprocess

import pytest

from mysql_backup.crypto import AGE_HEADER, AgeKey
from mysql_common.errors import ConfigurationError


def new_identity() -> str:
    return subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout


def secret_line(identity: str) -> str:
    return next(line for line in identity.splitlines() if line.startswith("AGE-SECRET-KEY-"))


def test_no_key_means_no_backup():
    with pytest.raises(ConfigurationError, match="never written unencrypted"):
        AgeKey.from_config(secret=None, recipients="")
    with pytest.raises(ConfigurationError):
        AgeKey.from_config(secret="# only a comment\n")


def test_malformed_secret_is_refused_without_showing_it():
    bad = secret_line(new_identity())[:-3] + "xyz"
    with pytest.raises(ConfigurationError) as caught:
        AgeKey.from_config(secret=bad)
    assert bad not in str(caught.value) and bad[20:40] not in str(caught.value)


def test_malformed_recipient_is_refused():
    with pytest.raises(ConfigurationError, match="malformed age recipient"):
        AgeKey.from_config(recipients="age1notakey")


def test_secret_gives_its_recipient_and_repr_hides_it():
    identity = new_identity()
    key = AgeKey.from_config(secret=identity)
    public = identity.split("public key: ")[1].split()[0]
    assert key.recipients == [public] and key.can_decrypt and key.matches([public])
    assert secret_line(identity) not in repr(key)
    assert key.redact(f"oops {secret_line(identity)}") == "oops ***"


def test_recipients_only_can_encrypt_but_not_decrypt():
    public = new_identity().split("public key: ")[1].split()[0]
    key = AgeKey.from_config(recipients=public)
    assert key.recipients == [public] and not key.can_decrypt
    with pytest.raises(ConfigurationError, match="secret key"):
        with key.decrypt_argv("age"):
            pass


def test_roundtrip_through_the_age_cli_with_extra_recipient():
    """Every recipient can decrypt: an offline escrow key opens backups made with the online one."""
    online, escrow = new_identity(), new_identity()
    escrow_public = escrow.split("public key: ")[1].split()[0]
    key = AgeKey.from_config(secret=online, recipients=escrow_public)
    encrypted = subprocess.run(key.encrypt_argv("age"), input=b"payload", capture_output=True, check=True).stdout
    assert encrypted.startswith(AGE_HEADER)
    with key.decrypt_argv("age") as (argv, fds):
        plain = subprocess.run(argv, input=encrypted, capture_output=True, pass_fds=fds, check=True).stdout
    assert plain == b"payload"
    with AgeKey.from_config(secret=escrow).decrypt_argv("age") as (argv, fds):
        assert subprocess.run(argv, input=encrypted, capture_output=True, pass_fds=fds).stdout == b"payload"
    # The secret travels through a pipe: it is not on the command line.
    assert not any("AGE-SECRET" in part for part in argv)

"""age encryption keys: fail closed, never logged, decryptable by hand with the `age` CLI.

The encrypting side needs only public recipients (`age1...`); the secret identity
(`AGE-SECRET-KEY-1...`) is needed to restore. A secret handed to this module is passed to
`age` through an inherited pipe, never through argv, the environment or a file on disk.
"""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
from typing import Iterator

from mysql_common.errors import ConfigurationError, redact

AGE_HEADER = b"age-encryption.org/v1\n"
_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")
_IDENTITY = re.compile(r"^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$")

NO_KEY_HELP = ("backups are never written unencrypted: create a key with `age-keygen -o backup.key`, "
               "store its secret line in the Airflow Variable `mysql_backup_age_secret_key` "
               "(or only its public key in `mysql_backup_age_recipients` on hosts that never restore), "
               "and keep a copy of the secret key offline")


class AgeKey:
    """Recipients to encrypt to and, when the secret is known, identities to decrypt with."""

    def __init__(self, recipients: list[str], identities: list[str], identity_recipients: list[str]):
        self.recipients = recipients
        self._identities = identities
        self.identity_recipients = identity_recipients

    def __repr__(self) -> str:  # never the secret
        return f"AgeKey(recipients={self.recipients}, can_decrypt={self.can_decrypt})"

    @classmethod
    def from_config(cls, *, secret: str | None = None, recipients: str | None = None,
                    keygen: str = "age-keygen") -> "AgeKey":
        """Parse the configured key material; no usable recipient means no backup."""
        identities = [line.strip() for line in (secret or "").splitlines()
                      if line.strip() and not line.strip().startswith("#")]
        for number, line in enumerate(identities, 1):
            if not _IDENTITY.match(line):
                # The offending line is not shown: it may be a mistyped secret.
                raise ConfigurationError(f"the age secret key has a malformed line {number} "
                                         "(expected AGE-SECRET-KEY-1... as written by age-keygen)")
        public = [line.strip() for line in (recipients or "").replace(",", "\n").splitlines()
                  if line.strip() and not line.strip().startswith("#")]
        for line in public:
            if not _RECIPIENT.match(line):
                raise ConfigurationError(f"malformed age recipient {line!r} (expected age1... as printed "
                                         "by `age-keygen -y`)")
        derived = _public_keys(identities, keygen) if identities else []
        everyone = list(dict.fromkeys(derived + public))
        if not everyone:
            raise ConfigurationError("no encryption key configured: " + NO_KEY_HELP)
        return cls(everyone, identities, derived)

    @property
    def can_decrypt(self) -> bool:
        return bool(self._identities)

    def redact(self, text: str) -> str:
        return redact(text, *self._identities)

    def encrypt_argv(self, age: str) -> list[str]:
        argv = [age]
        for recipient in self.recipients:
            argv += ["-r", recipient]
        return argv

    def matches(self, recipients: list[str]) -> bool:
        """Whether one of our identities can open data encrypted to these recipients."""
        return bool(set(self.identity_recipients) & set(recipients))

    @contextlib.contextmanager
    def decrypt_argv(self, age: str) -> Iterator[tuple[list[str], tuple[int, ...]]]:
        """(argv, pass_fds) for `age -d` reading the identities from an inherited pipe."""
        if not self._identities:
            raise ConfigurationError("restoring needs the age secret key (Variable "
                                     "`mysql_backup_age_secret_key`); only public recipients are configured")
        read_fd, write_fd = os.pipe()
        try:
            # A few hundred bytes: fits the pipe buffer, so writing before age starts cannot block.
            os.write(write_fd, ("\n".join(self._identities) + "\n").encode())
            os.close(write_fd)
            write_fd = -1
            yield [age, "-d", "-i", f"/dev/fd/{read_fd}"], (read_fd,)
        finally:
            if write_fd >= 0:
                os.close(write_fd)
            os.close(read_fd)


def _public_keys(identities: list[str], keygen: str) -> list[str]:
    out = subprocess.run([keygen, "-y"], input="\n".join(identities) + "\n", capture_output=True,
                         text=True, timeout=30)
    if out.returncode != 0:
        raise ConfigurationError("age-keygen rejected the secret key: "
                                 + redact(out.stderr.strip().splitlines()[0] if out.stderr else "", *identities))
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]

"""Error types with the operator-facing codes, and the transient/permanent split.

Transient faults (lost connection, deadlock, lock wait timeout) are retried with backoff;
permanent ones (bad data, bad configuration, authentication) fail at once with a clear message.
"""
from __future__ import annotations

# MySQL/MariaDB error numbers that a retry can cure.
TRANSIENT_MYSQL_ERRORS = {
    1040,  # too many connections
    1053,  # server shutdown in progress
    1205,  # lock wait timeout
    1213,  # deadlock
    1317,  # query execution was interrupted
    1927,  # connection was killed (MariaDB)
    2003,  # can't connect (server restarting)
    2006,  # server has gone away
    2013,  # lost connection during query
    2055,  # lost connection at handshake
    4031,  # disconnected by the server because of inactivity (MySQL 8)
}


class OperatorFacingError(Exception):
    """An error whose message is written for the operator: what is wrong and what to do."""

    code = "ERROR"

    def __str__(self) -> str:
        return f"{self.code}: {super().__str__()}"


class PermanentError(OperatorFacingError):
    """Retrying cannot help (bad data, bad configuration, missing privilege)."""

    code = "PERMANENT_FAILURE"


class ConfigurationError(PermanentError):
    code = "BAD_CONFIGURATION"


class TransientError(OperatorFacingError):
    code = "TRANSIENT_FAILURE"


def mysql_errno(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, PermanentError):
        return False
    errno = mysql_errno(exc)
    return errno in TRANSIENT_MYSQL_ERRORS


def redact(text: str, *secrets: str | None) -> str:
    """Replace every non-empty secret in text; used on anything that may reach a log."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text

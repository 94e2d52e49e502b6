"""Errors of the cutover and rollback, each with the code an operator searches the logs for."""
from __future__ import annotations

from mysql_common.errors import OperatorFacingError, PermanentError


def error_text(exc: BaseException) -> str:
    """An error as a report shows it: with its code (ours carry theirs already)."""
    return str(exc) if isinstance(exc, OperatorFacingError) else f"{type(exc).__name__}: {exc}"


class CutoverError(PermanentError):
    """The cutover cannot go on in the state it finds (phase, capture, confirmation)."""

    code = "CUTOVER_REFUSED"


class FreezeTimeout(PermanentError):
    """The write freeze reached its deadline before the switch: writes were released."""

    code = "FREEZE_TIMEOUT"


class CatchUpTooSlow(PermanentError):
    """Changes arrive faster than they are applied: the lag does not shrink."""

    code = "CATCH_UP_TOO_SLOW"


class SwitchFailed(PermanentError):
    """A switch action failed; what was done to restore a consistent state is in the message."""

    code = "SWITCH_FAILED"

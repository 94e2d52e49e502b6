"""Error codes an operator acts on when a backup, a binlog chain or a restore goes wrong.

All are OperatorFacingError subclasses, so the task policy turns the permanent ones into
failures without retries and lets the transient ones (storage briefly unreachable) retry.
"""
from __future__ import annotations

from mysql_common.errors import PermanentError, TransientError


class BackupCorruption(PermanentError):
    """A stored object is missing, truncated or altered (or fails authentication on decryption)."""

    code = "BACKUP_CORRUPTION"

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class BackupWrongKey(PermanentError):
    """The configured age key is not one the backup was encrypted for: nothing is damaged."""

    code = "BACKUP_WRONG_KEY"

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class BackupChainBroken(PermanentError):
    """Binlogs are missing between a full backup and the point to recover to, or the binlog
    numbering was reset in between."""

    code = "BACKUP_CHAIN_BROKEN"


class PitrOutOfRange(PermanentError):
    """The requested point in time is not covered by any backup plus shipped binlogs."""

    code = "PITR_OUT_OF_RANGE"


class StorageFull(PermanentError):
    code = "BACKUP_STORAGE_FULL"


class StorageUnavailable(TransientError):
    """The storage did not answer (network, throttling): a retry may succeed."""

    code = "BACKUP_STORAGE_UNAVAILABLE"


class StageFailed(PermanentError):
    """A command of a pipeline (dump, compression, encryption, client) failed."""

    code = "BACKUP_STAGE_FAILED"


class TransientStageFailed(TransientError):
    """A pipeline command failed for a reason a retry can cure (lost connection, killed)."""

    code = "BACKUP_STAGE_FAILED"

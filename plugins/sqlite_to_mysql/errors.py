"""Errors of the migration, each carrying the code an operator searches the logs for."""
from __future__ import annotations

from mysql_common.errors import ConfigurationError, PermanentError


class SourceError(ConfigurationError):
    """The SQLite source cannot be used as it is (missing, not SQLite, corrupt, locked)."""

    code = "SOURCE_UNUSABLE"


class TypeConflictError(PermanentError):
    """A value does not fit its planned MySQL type, and the policy says fail."""

    code = "TYPE_CONFLICT"


class PreflightBlocked(PermanentError):
    code = "PREFLIGHT_BLOCKED"


class TargetStateError(PermanentError):
    """The target database holds something this run must not overwrite."""

    code = "TARGET_NOT_EMPTY"


class MigrationDataLoss(PermanentError):
    """Verification found rows or values unaccounted for."""

    code = "MIGRATION_DATA_LOSS"

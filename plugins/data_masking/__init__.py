"""Masked copies of a production database for developers, and Parquet snapshots for analysts.

Airflow-free, tested with plain pytest against real servers. The flow of one masked copy:

    rules (include/masking/<db>.yaml) -> coverage check (every column classified, before any write)
    -> stream every table from a scratch restore through the keyed masking transform into a
       staging database on the dev server -> verify (counts, keys, aggregates)
    -> residual-PII scan (keyed hashes of the originals) -> publish (rename into the dev database)
    -> Parquet snapshot of the published copy.

Modules: masking_rules (the YAML), masking_strategies (HMAC-SHA256 transforms), masking_schema
(information_schema of one database), masking_coverage, masked_copy (the streaming copy),
masking_checks (verification and leak scan), parquet_snapshot (Arrow export).
"""
from __future__ import annotations

from pathlib import Path

from mysql_common.errors import PermanentError

# plugins/data_masking/__init__.py -> repository root -> include/masking
RULES_DIR = Path(__file__).resolve().parents[2] / "include" / "masking"


class MaskingError(PermanentError):
    code = "MASKING_FAILED"


class CoverageError(PermanentError):
    code = "MASKING_UNCLASSIFIED"


class MaskingLeak(PermanentError):
    code = "MASKING_LEAK"

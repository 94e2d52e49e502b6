"""Backup storage and encryption key, built from Airflow Variables and the AWS connection.

Variables (all optional but the key; any secrets backend serves them too):
  mysql_backup_location          s3://bucket/prefix, or a local directory that exists
                                 (default: $AIRFLOW_HOME/mysql-backups, created on first use)
  mysql_backup_age_secret_key    the age identity (AGE-SECRET-KEY-1...): backup and restore
  mysql_backup_age_recipients    public age keys (age1...): extra recipients, or the only key
                                 material on hosts that back up but never restore
  mysql_backup_aws_conn_id       AWS connection for S3 (default aws_default)
  mysql_backup_s3_part_mb        first multipart part size in MiB (default 16)
"""
from __future__ import annotations

import os
from urllib.parse import urlparse

from airflow.sdk import BaseHook, Variable

from mysql_backup.crypto import AgeKey
from mysql_backup.storage import LocalStorage, Storage
from mysql_common.errors import ConfigurationError

LOCATION = "mysql_backup_location"
SECRET_KEY = "mysql_backup_age_secret_key"  # "secret" in the name: Airflow masks it everywhere
RECIPIENTS = "mysql_backup_age_recipients"
AWS_CONN = "mysql_backup_aws_conn_id"
PART_MB = "mysql_backup_s3_part_mb"


def default_location() -> str:
    return os.path.join(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "mysql-backups")


class BackupStorageHook(BaseHook):
    """Thin: turns configuration into a mysql_backup Storage and AgeKey."""

    hook_name = "MySQL backup storage"

    def __init__(self, location: str | None = None) -> None:
        super().__init__()
        self.location = location or Variable.get(LOCATION, default=None)

    def get_storage(self) -> Storage:
        """A configured directory must exist (a typo must not start a new, empty backup set
        somewhere else); only the default one is created."""
        if not self.location:
            os.makedirs(default_location(), exist_ok=True)
            return LocalStorage(default_location())
        parsed = urlparse(self.location)
        if parsed.scheme == "s3":
            return self._s3(parsed.netloc, parsed.path)
        if parsed.scheme in ("", "file"):
            return LocalStorage(parsed.path if parsed.scheme else self.location)
        raise ConfigurationError(f"Variable {LOCATION}={self.location!r}: use s3://bucket/prefix or a directory")

    def _s3(self, bucket: str, prefix: str) -> Storage:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
        from botocore.config import Config

        from mysql_backup.s3_storage import S3Storage

        conn_id = Variable.get(AWS_CONN, default=None) or "aws_default"
        # Adaptive retries with backoff for throttling and dropped connections, per request.
        config = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=10, read_timeout=120)
        client = AwsBaseHook(aws_conn_id=conn_id, client_type="s3", config=config).get_conn()
        part_mb = int(Variable.get(PART_MB, default=None) or 16)
        return S3Storage(client, bucket, prefix, part_size=part_mb * 1024 * 1024)

    @staticmethod
    def get_key() -> AgeKey:
        """The age key; ConfigurationError (no backup at all) when none is configured."""
        from airflow.sdk.log import mask_secret

        secret = Variable.get(SECRET_KEY, default=None)
        if secret:
            for line in secret.splitlines():
                if line.strip() and not line.startswith("#"):
                    mask_secret(line.strip())
        return AgeKey.from_config(secret=secret, recipients=Variable.get(RECIPIENTS, default=None))

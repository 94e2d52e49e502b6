"""A pipeline whose output goes to storage: SHA-256 and size on the way, commit or nothing.

The stored bytes are checked to start with the age header, which guards against the failure
WAL-G users hit (#1062): a build or configuration that silently uploads plaintext.
"""
from __future__ import annotations

import hashlib
from typing import Callable

from mysql_common.errors import PermanentError

from mysql_backup.crypto import AGE_HEADER, AgeKey
from mysql_backup.manifest import StoredObject
from mysql_backup.pipeline import Command, run_pipeline
from mysql_backup.storage import ObjectWriter, Storage


class HashingSink:
    """Pipeline sink: SHA-256 and size of what is stored, and proof that it is encrypted."""

    def __init__(self, writer: ObjectWriter, key_name: str):
        self.writer = writer
        self.key_name = key_name
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = b""

    def __call__(self, chunk: memoryview) -> None:
        if len(self.head) < len(AGE_HEADER):
            self.head += bytes(chunk[:len(AGE_HEADER) - len(self.head)])
            if not AGE_HEADER.startswith(self.head[:len(AGE_HEADER)]):
                raise PermanentError(f"{self.key_name}: the encryption stage did not produce age "
                                     "output; refusing to store it")
        self.digest.update(chunk)
        self.size += len(chunk)
        self.writer.write(chunk)

    def stored(self, key: str, raw_size: int | None = None) -> StoredObject:
        if self.size < len(AGE_HEADER):
            raise PermanentError(f"{self.key_name}: the encryption stage produced no output")
        return StoredObject(key, self.size, self.digest.hexdigest(), raw_size)


def store_stream(storage: Storage, key: str, commands: list[Command], *, age_key: AgeKey,
                 stdin=None, check: Callable[[], None] = lambda: None,
                 raw_size: Callable[[], int | None] = lambda: None) -> StoredObject:
    """Run commands (the last one must be age) into storage under key.

    check() runs after every command exited 0 and before the object is committed: it
    raises to throw the object away (e.g. a dump without its completion line).
    """
    writer = storage.writer(key)
    sink = HashingSink(writer, key)
    try:
        run_pipeline(commands, stdin=stdin, sink=sink, redact=age_key.redact)
        check()
        stored = sink.stored(key, raw_size())
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return stored

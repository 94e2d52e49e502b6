"""Where backups are kept: the storage interface and the local-directory backend.

Every backend has the same promise: an object becomes visible under its key only when
`commit()` succeeds, so an interrupted upload never leaves something that looks complete.
What is visible but not yet referenced by a manifest is still not a backup.
"""
from __future__ import annotations

import errno
import os
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from mysql_common.errors import ConfigurationError, PermanentError

from mysql_backup.errors import StorageFull, StorageUnavailable

PARTIAL_MARK = ".partial-"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime
    upload_id: str | None = None  # S3 incomplete multipart uploads only


class ObjectWriter(ABC):
    """Streams one object; invisible until commit(), discarded by abort()."""

    @abstractmethod
    def write(self, data: bytes | memoryview) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def abort(self) -> None: ...


class Storage(ABC):
    """Keys are '/'-separated paths relative to the configured root or prefix."""

    description: str

    @abstractmethod
    def writer(self, key: str) -> ObjectWriter: ...

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a small object atomically."""

    @abstractmethod
    def open_read(self, key: str) -> BinaryIO: ...

    @abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]:
        """Complete objects under prefix, sorted by key."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def incomplete(self, prefix: str) -> list[ObjectInfo]:
        """Interrupted writes (partial files, unfinished multipart uploads) under prefix."""

    @abstractmethod
    def discard_incomplete(self, info: ObjectInfo) -> None: ...

    @abstractmethod
    def problem(self) -> str | None:
        """Why this location cannot hold backups (missing, not readable), or None: usable."""

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as handle:
            return handle.read()

    def local_path(self, key: str) -> Path | None:
        """A path readable in place, for backends that have one (saves a download)."""
        return None


def storage_error(exc: OSError, what: str) -> Exception:
    """Classify an OS error: a full disk is permanent for this run, an I/O hiccup is not."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return StorageFull(f"{what}: no space left on the backup storage ({exc.strerror})")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ConfigurationError(f"{what}: permission denied on the backup storage ({exc.strerror})")
    if exc.errno in (errno.EIO, errno.ETIMEDOUT, errno.ESTALE, errno.EAGAIN):
        return StorageUnavailable(f"{what}: {exc.strerror}")
    return PermanentError(f"{what}: {exc}")


class _LocalWriter(ObjectWriter):
    def __init__(self, final: Path, key: str):
        self.final = final
        self.key = key
        self.partial = final.with_name(f".{final.name}{PARTIAL_MARK}{uuid.uuid4().hex[:12]}")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.partial, "wb")
        except OSError as exc:
            raise storage_error(exc, f"cannot create {key}") from None

    def write(self, data) -> None:
        try:
            self.handle.write(data)
        except OSError as exc:
            raise storage_error(exc, f"writing {self.key}") from None

    def commit(self) -> None:
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.replace(self.partial, self.final)
            _fsync_dir(self.final.parent)
        except OSError as exc:
            self.abort()
            raise storage_error(exc, f"writing {self.key}") from None

    def abort(self) -> None:
        try:
            self.handle.close()
        except OSError:
            pass  # the data is being thrown away; a close error changes nothing
        self.partial.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    """Make the rename durable: a crash must not resurrect the partial name or lose the final one."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage(Storage):
    """A directory on this machine (or a mounted network share)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.description = str(self.root)

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    def writer(self, key: str) -> ObjectWriter:
        return _LocalWriter(self._path(key), key)

    def problem(self) -> str | None:
        """A directory that does not exist is a misspelled location, never an empty one."""
        if not self.root.exists():
            return f"directory {self.root} does not exist (create it, or correct Variable mysql_backup_location)"
        if not self.root.is_dir():
            return f"{self.root} is not a directory"
        if not os.access(self.root, os.R_OK | os.X_OK):
            return f"directory {self.root} cannot be read by this user"
        return None

    def put_bytes(self, key: str, data: bytes) -> None:
        writer = self.writer(key)
        try:
            writer.write(data)
        except BaseException:
            writer.abort()
            raise
        writer.commit()

    def open_read(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise  # the same signal as S3's NoSuchKey: callers name the missing object
        except OSError as exc:
            raise storage_error(exc, f"reading {key}") from None

    def _walk(self, prefix: str):
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                path = Path(dirpath) / name
                yield path.relative_to(self.root).as_posix(), path

    def _info(self, key: str, path: Path) -> ObjectInfo:
        st = path.stat()
        return ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, timezone.utc))

    def list(self, prefix: str) -> list[ObjectInfo]:
        return sorted((self._info(k, p) for k, p in self._walk(prefix) if PARTIAL_MARK not in k),
                      key=lambda info: info.key)

    def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        return self._info(key, path) if path.is_file() else None

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Drop directories left empty, up to the root, so the layout stays browsable.
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def incomplete(self, prefix: str) -> list[ObjectInfo]:
        return sorted((self._info(k, p) for k, p in self._walk(prefix) if PARTIAL_MARK in k),
                      key=lambda info: info.key)

    def discard_incomplete(self, info: ObjectInfo) -> None:
        self.delete(info.key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

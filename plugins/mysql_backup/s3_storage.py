"""S3 (or any S3-compatible server) as backup storage, through a boto3 S3 client.

Large objects go up as multipart uploads that become visible only when completed; an
interrupted upload stays an invisible "incomplete multipart upload" that retention aborts
(a bucket lifecycle rule for incomplete uploads is a good second guard). Parts are uploaded
by one background thread while the pipeline keeps producing, with at most two parts queued,
so memory stays bounded whatever the size of the database.
"""
from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone
from typing import BinaryIO

from mysql_common.errors import ConfigurationError, PermanentError

from mysql_backup.errors import StorageUnavailable
from mysql_backup.storage import ObjectInfo, ObjectWriter, Storage

MIN_PART = 5 * 1024 * 1024          # S3's minimum for every part but the last
MAX_PART = 5 * 1024 * 1024 * 1024   # and its maximum
MAX_PARTS = 10_000
# The part size doubles every this many parts, so an object can grow far beyond
# 10,000 x part_size while small backups keep small parts (and little memory).
PARTS_PER_SIZE_STEP = 1000

_TRANSIENT_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout",
                    "RequestTimeTooSkewed", "Throttling", "503", "500"}
_CONFIG_CODES = {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                 "AllAccessDisabled", "InvalidBucketName", "403"}


def s3_error(exc: Exception, what: str) -> Exception:
    """Translate a botocore error into the project's transient/permanent/configuration split."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NotFound"):
            return FileNotFoundError(what)
        if code in _TRANSIENT_CODES:
            return StorageUnavailable(f"{what}: S3 answered {code}")
        if code in _CONFIG_CODES:
            return ConfigurationError(f"{what}: S3 answered {code}: check the bucket and the "
                                      "credentials of the AWS connection")
        return PermanentError(f"{what}: S3 answered {code}: {exc}")
    if isinstance(exc, NoCredentialsError):
        return ConfigurationError(f"{what}: no AWS credentials: configure the AWS connection")
    if isinstance(exc, BotoCoreError):
        return StorageUnavailable(f"{what}: S3 unreachable ({type(exc).__name__}: {exc})")
    return exc


def part_size_for(part_number: int, base: int) -> int:
    """Size of part n (1-based): base, doubling every PARTS_PER_SIZE_STEP parts, capped."""
    return min(MAX_PART, base * 2 ** ((part_number - 1) // PARTS_PER_SIZE_STEP))


class _S3Writer(ObjectWriter):
    def __init__(self, storage: "S3Storage", key: str):
        self.s3 = storage
        self.key = key
        self.full_key = storage.full_key(key)
        self.buffer = bytearray()
        self.next_part = 1
        self.upload_id: str | None = None
        self.etags: dict[int, str] = {}
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.thread: threading.Thread | None = None
        self.error: Exception | None = None
        self.aborted = False

    # -- producer side ----------------------------------------------------
    def write(self, data) -> None:
        self._raise_if_failed()
        self.buffer += data
        size = part_size_for(self.next_part, self.s3.part_size)
        while len(self.buffer) >= size:
            chunk = bytes(self.buffer[:size])
            del self.buffer[:size]
            self._send(chunk)
            size = part_size_for(self.next_part, self.s3.part_size)

    def _send(self, chunk: bytes) -> None:
        if self.upload_id is None:
            try:
                self.upload_id = self.s3.client.create_multipart_upload(
                    Bucket=self.s3.bucket, Key=self.full_key)["UploadId"]
            except Exception as exc:
                raise s3_error(exc, f"starting upload of {self.key}") from None
            self.thread = threading.Thread(target=self._upload_parts, name=f"s3-upload-{self.key}",
                                           daemon=True)
            self.thread.start()
        if self.next_part > MAX_PARTS:
            raise PermanentError(f"{self.key}: more than {MAX_PARTS} parts: raise the S3 part size")
        self.queue.put((self.next_part, chunk))  # blocks while two parts wait: back-pressure
        self.next_part += 1
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    # -- consumer side (background thread) --------------------------------
    def _upload_parts(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            number, chunk = item
            if self.error is not None or self.aborted:
                continue  # keep draining so the producer never blocks on a dead upload
            try:
                answer = self.s3.client.upload_part(Bucket=self.s3.bucket, Key=self.full_key,
                                                    UploadId=self.upload_id, PartNumber=number, Body=chunk)
                self.etags[number] = answer["ETag"]
            except Exception as exc:
                self.error = s3_error(exc, f"uploading part {number} of {self.key}")

    def _stop_thread(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None

    # -- completion -------------------------------------------------------
    def commit(self) -> None:
        client, bucket = self.s3.client, self.s3.bucket
        try:
            if self.upload_id is None:
                client.put_object(Bucket=bucket, Key=self.full_key, Body=bytes(self.buffer))
                return
            if self.buffer:
                self._send(bytes(self.buffer))
                self.buffer.clear()
            self._stop_thread()
            self._raise_if_failed()
            parts = [{"PartNumber": n, "ETag": self.etags[n]} for n in sorted(self.etags)]
            client.complete_multipart_upload(Bucket=bucket, Key=self.full_key, UploadId=self.upload_id,
                                             MultipartUpload={"Parts": parts})
        except Exception as exc:
            self.abort()
            raise s3_error(exc, f"completing upload of {self.key}") from None

    def abort(self) -> None:
        self.aborted = True
        self._stop_thread()
        if self.upload_id is not None:
            try:
                self.s3.client.abort_multipart_upload(Bucket=self.s3.bucket, Key=self.full_key,
                                                      UploadId=self.upload_id)
            except Exception:
                # Left as an incomplete upload: invisible, and aborted later by retention.
                pass
            self.upload_id = None


class S3Storage(Storage):
    def __init__(self, client, bucket: str, prefix: str = "", *, part_size: int = 16 * 1024 * 1024):
        if part_size < MIN_PART:
            raise ConfigurationError(f"S3 part size must be at least {MIN_PART} bytes")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_size = part_size
        self.description = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    def full_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1:] if self.prefix else full_key

    def writer(self, key: str) -> ObjectWriter:
        return _S3Writer(self, key)

    def problem(self) -> str | None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            error = s3_error(exc, f"bucket {self.bucket}")
            if isinstance(error, FileNotFoundError):
                return f"bucket {self.bucket} does not exist"
            if isinstance(error, StorageUnavailable):
                raise error from None
            return str(error)
        return None

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.full_key(key), Body=data)
        except Exception as exc:
            raise s3_error(exc, f"writing {key}") from None

    def open_read(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"]
        except Exception as exc:
            raise s3_error(exc, f"reading {key}") from None

    def list(self, prefix: str) -> list[ObjectInfo]:
        found = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.full_key(prefix))
            for page in pages:
                for item in page.get("Contents", []):
                    found.append(ObjectInfo(self._relative(item["Key"]), item["Size"], item["LastModified"]))
        except Exception as exc:
            raise s3_error(exc, f"listing {prefix}") from None
        return sorted(found, key=lambda info: info.key)

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except Exception as exc:
            error = s3_error(exc, f"checking {key}")
            if isinstance(error, FileNotFoundError):
                return None
            raise error from None
        return ObjectInfo(key, head["ContentLength"], head["LastModified"])

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))
        except Exception as exc:
            raise s3_error(exc, f"deleting {key}") from None

    def incomplete(self, prefix: str) -> list[ObjectInfo]:
        found = []
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.full_key(prefix))
            for page in pages:
                for item in page.get("Uploads", []):
                    initiated = item.get("Initiated") or datetime.now(timezone.utc)
                    found.append(ObjectInfo(self._relative(item["Key"]), 0, initiated,
                                            upload_id=item["UploadId"]))
        except Exception as exc:
            raise s3_error(exc, f"listing incomplete uploads under {prefix}") from None
        return sorted(found, key=lambda info: info.key)

    def discard_incomplete(self, info: ObjectInfo) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.full_key(info.key),
                                               UploadId=info.upload_id)
        except Exception as exc:
            raise s3_error(exc, f"aborting the incomplete upload of {info.key}") from None

"""Values exactly as Django 5.2 hands them to SQLite, without importing the ORM.

The generator writes rows with plain sqlite3 for speed; these encoders make every value
land in the database with the same storage class and text as an ORM save would
(tests/unit/test_demo_shop.py compares both paths). What Django does on SQLite:

- DecimalField: binds str(Decimal) into a column declared "decimal" (NUMERIC affinity), so
  SQLite stores REAL when there are cents (19.99, 0.1) and INTEGER for whole amounts (20).
  We bind the same text and let SQLite apply the same affinity conversion.
- DateTimeField (USE_TZ=True): converted to UTC, made naive, str() -> TEXT
  'YYYY-MM-DD HH:MM:SS.ffffff'; the fraction is omitted when microsecond == 0.
- JSONField: json.dumps() with default arguments -> TEXT with ', ' / ': ' separators and
  non-ASCII escaped as \\uXXXX (emoji as surrogate pairs).
- UUIDField: 32 lowercase hex digits, no dashes, TEXT (column char(32)).
- BooleanField: INTEGER 0/1.   BinaryField: BLOB (b'' stays an empty BLOB, not NULL).
- Session data: signing.dumps(..., compress=True) with the session key salt.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

EPOCH = dt.datetime(1970, 1, 1)
SESSION_SALT = "django.contrib.sessions.SessionStore"  # SessionBase.key_salt of the db backend
UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def decimal_text(cents: int) -> str:
    """str(Decimal) of an amount with two decimal places, e.g. 1999 -> '19.99'."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def datetime_text(micros: int) -> str:
    """str() of the naive UTC datetime `micros` microseconds after the Unix epoch."""
    return str(EPOCH + dt.timedelta(microseconds=micros))


def datetime_micros(value: dt.datetime) -> int:
    """Inverse of datetime_text for an aware or naive-UTC datetime."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def json_text(value) -> str:
    """What JSONField (no custom encoder) stores."""
    return json.dumps(value)


def uuid4_hex(bits128: int) -> str:
    """A version-4 UUID made from 128 random bits, as UUIDField stores it on SQLite."""
    return f"{(bits128 & UUID4_CLEAR) | UUID4_SET:032x}"


def uuid_text(value: uuid.UUID) -> str:
    return value.hex


def bool_value(value: bool) -> int:
    return 1 if value else 0


class _FixedTimeSigner:
    """Django's TimestampSigner with a chosen timestamp, so generated sessions are reproducible."""

    def __init__(self, key: str):
        from django.core import signing  # pure functions; needs no settings when key is given

        class Signer(signing.TimestampSigner):
            fixed = 0

            def timestamp(self):
                return signing.b62_encode(self.fixed)

        self._signer = Signer(key=key, salt=SESSION_SALT, fallback_keys=[])
        self._serializer = signing.JSONSerializer

    def session_data(self, payload: dict, unix_seconds: int) -> str:
        self._signer.fixed = unix_seconds
        return self._signer.sign_object(payload, serializer=self._serializer, compress=True)


def session_encoder(secret_key: str):
    """Return f(payload, unix_seconds) -> session_data text as SessionStore.encode() writes it."""
    return _FixedTimeSigner(secret_key).session_data

"""Exact conversion of SQLite values into the text MySQL stores for a column kind.

Each function returns the canonical text of the value in its MySQL type (what
`CAST(col AS CHAR)` prints back for that type), or raises ValueConflict when the value
cannot be stored exactly. The same functions feed the bulk copy and the source side of
the checksums; they never round: an inexact conversion is a conflict, not a guess.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Context, Decimal, DecimalException, InvalidOperation


class ValueConflict(ValueError):
    """The value cannot be stored in the planned MySQL type without change."""


# Exact decimal arithmetic: the default context (28 digits) would round or refuse a
# DECIMAL(65,30) value.
EXACT = Context(prec=200, Emax=999999, Emin=-999999)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def to_decimal(value) -> Decimal:
    """The exact decimal a SQLite value stands for.

    A REAL is taken at its shortest round-trip form (repr): 0.99 means 0.99, which is what
    the writer stored and what Django reads back, not 0.98999999999999999112.
    """
    if isinstance(value, bool):
        raise ValueConflict(f"boolean {value!r} is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueConflict(f"{value!r} cannot be stored in MySQL")
        return Decimal(repr(value))
    if isinstance(value, bytes):
        raise ValueConflict("BLOB in a numeric column")
    text = str(value).strip()
    if not _NUMBER.fullmatch(text):
        raise ValueConflict(f"text {excerpt(value)!r} is not a number")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
        raise ValueConflict(f"text {excerpt(value)!r} is not a number") from None


def decimal_shape(value) -> tuple[int, int]:
    """(integer digits, decimal places) needed to hold the value exactly."""
    d = to_decimal(value)
    if d == 0:
        return 0, 0
    try:
        _sign, digits, exponent = d.normalize(context=EXACT).as_tuple()
    except DecimalException:  # e.g. hex text such as '5553e8030381' read as 5553 x 10^8030381
        raise ValueConflict(f"{excerpt(value)!r} is beyond any DECIMAL") from None
    return max(0, len(digits) + exponent), max(0, -exponent)


def decimal_text(value, precision: int, scale: int) -> str:
    """DECIMAL(precision, scale) text, e.g. '19.99'; raises if it would round or overflow."""
    d = to_decimal(value)
    quantum = Decimal(1).scaleb(-scale)
    try:
        q = d.quantize(quantum, context=EXACT)
    except InvalidOperation:
        raise ValueConflict(f"{value!r} does not fit DECIMAL({precision},{scale})") from None
    if q != d:
        raise ValueConflict(f"{value!r} has more than {scale} decimal places")
    if q.adjusted() + 1 > precision - scale and q != 0:
        raise ValueConflict(f"{value!r} does not fit DECIMAL({precision},{scale})")
    if q == 0:
        q = abs(q)  # MySQL has no negative zero
    return f"{q:f}"


def double_text(value) -> str:
    """DOUBLE as its shortest round-trip text; integers only while exactly representable."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueConflict(f"{value!r} cannot be stored in MySQL")
        return repr(value + 0.0)  # -0.0 + 0.0 == 0.0: MySQL keeps no negative zero
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > 2 ** 53 and float(value) != value:
            raise ValueConflict(f"integer {value} cannot be held exactly by a DOUBLE")
        return repr(float(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value)
        if Decimal(repr(number)) != Decimal(value.strip()):
            raise ValueConflict(f"text {excerpt(value)!r} cannot be held exactly by a DOUBLE")
        return repr(number)
    raise ValueConflict(f"{type(value).__name__} {excerpt(value)!r} is not a number")


def integer_text(value, low: int, high: int) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        if not low <= value <= high:
            raise ValueConflict(f"{value} is out of range [{low}, {high}]")
        return str(value)
    if isinstance(value, float) and value.is_integer() and low <= value <= high:
        return str(int(value))
    raise ValueConflict(f"{type(value).__name__} {excerpt(value)!r} is not an integer")


_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off"}


def bool_text(value) -> str:
    if isinstance(value, int) and value in (0, 1):
        return str(int(value))
    if isinstance(value, float) and value in (0.0, 1.0):
        return str(int(value))
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return "1"
        if word in _FALSE:
            return "0"
    raise ValueConflict(f"{excerpt(value)!r} is not a boolean")


_DT = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?")


def datetime_text(value, fsp: int = 6) -> str:
    """DATETIME(fsp) text in UTC, from every text form real writers leave.

    '2020-03-01T00:00:00', with or without a fraction, with 'Z' or an offset (converted to
    UTC, as Django stores datetimes), or a bare date. Numbers are refused: SQLite reads them
    as Julian days, other writers as Unix seconds, and guessing would silently move them.
    """
    if not isinstance(value, str):
        raise ValueConflict(f"{type(value).__name__} {excerpt(value)!r} is not a date/time text")
    match = _DT.fullmatch(value.strip())
    if not match:
        raise ValueConflict(f"{excerpt(value)!r} is not a date/time")
    fraction = match["f"] or ""
    if len(fraction) > fsp and fraction[fsp:].strip("0"):
        raise ValueConflict(f"{excerpt(value)!r} has more than {fsp} fractional digits")
    micro = int((fraction + "000000")[:6])
    try:
        moment = datetime.fromisoformat(match["date"]).replace(
            hour=int(match["h"] or 0), minute=int(match["m"] or 0), second=int(match["s"] or 0),
            microsecond=micro)
    except ValueError:
        raise ValueConflict(f"{excerpt(value)!r} is not a valid date/time") from None
    if match["tz"]:
        try:
            moment = (moment.replace(tzinfo=_parse_offset(match["tz"])).astimezone(timezone.utc)
                      .replace(tzinfo=None))
        except OverflowError:  # year 10000 or 0 in UTC: past what any DATETIME holds
            raise ValueConflict(f"{excerpt(value)!r} is outside MySQL's DATETIME range (1000-9999) in UTC") \
                from None
    if not 1000 <= moment.year <= 9999:
        raise ValueConflict(f"{excerpt(value)!r} is outside MySQL's DATETIME range (1000-9999)")
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if fsp:
        text += "." + f"{moment.microsecond:06d}"[:fsp]
    elif moment.microsecond:
        raise ValueConflict(f"{excerpt(value)!r} has a fraction that DATETIME(0) would drop")
    return text


def _parse_offset(text: str) -> timezone:
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def date_text(value) -> str:
    if not isinstance(value, str):
        raise ValueConflict(f"{type(value).__name__} {excerpt(value)!r} is not a date text")
    text = value.strip()
    try:
        parsed = date.fromisoformat(text[:10])
    except ValueError:
        raise ValueConflict(f"{excerpt(value)!r} is not a valid date") from None
    rest = text[10:].strip(" T")
    if rest and rest.strip("0:.") != "":
        raise ValueConflict(f"{excerpt(value)!r} has a time of day that DATE would drop")
    if not 1000 <= parsed.year <= 9999:
        raise ValueConflict(f"{excerpt(value)!r} is outside MySQL's DATE range")
    return parsed.isoformat()


_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?")


def time_text(value, fsp: int = 6) -> str:
    if not isinstance(value, str):
        raise ValueConflict(f"{type(value).__name__} {excerpt(value)!r} is not a time text")
    match = _TIME.fullmatch(value.strip())
    if not match:
        raise ValueConflict(f"{excerpt(value)!r} is not a time")
    fraction = match[4] or ""
    if len(fraction) > fsp and fraction[fsp:].strip("0"):
        raise ValueConflict(f"{excerpt(value)!r} has more than {fsp} fractional digits")
    try:
        moment = time(int(match[1]), int(match[2]), int(match[3] or 0), int((fraction + "000000")[:6]))
    except ValueError:
        raise ValueConflict(f"{excerpt(value)!r} is not a valid time") from None
    text = moment.strftime("%H:%M:%S")
    return text + ("." + f"{moment.microsecond:06d}"[:fsp] if fsp else "")


_UUID_HEX = re.compile(r"[0-9a-f]{32}")


def uuid_text(value) -> str:
    """Django's UUIDField text (32 lowercase hex digits) in MariaDB's UUID form, with dashes."""
    if not isinstance(value, str) or not _UUID_HEX.fullmatch(value):
        raise ValueConflict(f"{excerpt(value)!r} is not 32 lowercase hex digits")
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def text_text(value) -> str:
    """Text column content: numbers keep their full precision (repr, not SQLite's 15 digits)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueConflict(f"bytes {excerpt(value)!r} are not valid UTF-8") from None
    raise ValueConflict(f"unexpected {type(value).__name__}")


def utf8_problem(raw: bytes) -> str | None:
    """Why these bytes are not valid UTF-8 text for MySQL, or None."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}: {raw[max(0, exc.start - 8):exc.start + 8]!r}"
    return None


def json_problem(text: str) -> str | None:
    """Why MySQL would refuse this JSON document, or None (NaN/Infinity are not JSON)."""
    import json

    def refuse(token):
        raise ValueError(f"{token} is not valid JSON")

    try:
        json.loads(text, parse_constant=refuse)
    except ValueError as exc:
        return f"invalid JSON: {excerpt(str(exc))}"
    return None


def excerpt(value, limit: int = 60) -> str:
    text = value.hex() if isinstance(value, bytes) else str(value)
    return text if len(text) <= limit else text[:limit] + f"...({len(text)} chars)"

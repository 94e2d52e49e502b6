"""Deterministic masking transforms: HMAC-SHA256 under one secret key.

Every pseudonym is a function of (key, domain, input, attempt) only, so equal inputs give equal
outputs in every table (joins and foreign keys line up) and two runs with the same key give the
same copy; another key gives another copy. `domain` separates kinds of data (an email and a
name that happen to be equal still get unrelated pseudonyms); columns that must agree share it.

`attempt` is how collisions are resolved without breaking determinism: a pseudonym equal to its
own input is re-derived with the next attempt, and so are inputs that collide under a unique
key (masked_copy decides which input keeps attempt 0, from the inputs alone).

Outputs fit their column: at most `max_chars` characters. Empty strings and NULL stay as they
are, except for `null` and `fixed`, which replace everything.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable

from data_masking import MaskingError

# Reserved for documentation and testing (RFC 2606 / 6761): a pseudonymous address can never
# reach a real mailbox.
RESERVED_EMAIL_DOMAINS = re.compile(r"(^|\.)(example\.(com|net|org)|example|invalid|test|localhost)$")
# Payment processors' sandbox prefix: test numbers, Luhn-valid, never issued to a cardholder.
TEST_CARD_PREFIX = "400000"
TEST_NETS_V4 = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
TEST_NET_V6 = ipaddress.ip_network("2001:db8::/32")
MAX_ATTEMPTS = 50
# Strategies whose output may equal the input (a NULL stays NULL, a fixed value may be the
# original); every other output differs from its own input.
KEEP_EQUAL = ("null", "fixed", "json")
_LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
          "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris "
          "nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse "
          "cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui "
          "officia deserunt mollit anim id est laborum").split()
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def _names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fake-name source: Faker's en_US name lists (ASCII), sorted so the pool does not
    depend on dict order. The selection is seeded by the HMAC, not by Faker's random state."""
    from faker.providers.person.en_US import Provider

    first = sorted(set(Provider.first_names_female) | set(Provider.first_names_male))
    return tuple(first), tuple(sorted(set(Provider.last_names)))


_NAME_POOLS: tuple[tuple[str, ...], tuple[str, ...]] | None = None


def name_pools() -> tuple[tuple[str, ...], tuple[str, ...]]:
    global _NAME_POOLS
    if _NAME_POOLS is None:
        _NAME_POOLS = _names()
    return _NAME_POOLS


class Keyed:
    """HMAC-SHA256 under the masking key; the key never leaves this object."""

    def __init__(self, key: bytes | str):
        if isinstance(key, str):
            key = key.encode()
        if len(key) < 16:
            raise MaskingError("the masking key must be at least 16 bytes (Variable mysql_masking_secret_key)")
        self._key = key

    def digest(self, domain: str, value: bytes, attempt: int = 0) -> bytes:
        msg = domain.encode() + b"\x1f" + str(attempt).encode() + b"\x1f" + value
        return hmac.new(self._key, msg, hashlib.sha256).digest()

    def number(self, domain: str, value: bytes, attempt: int = 0) -> int:
        return int.from_bytes(self.digest(domain, value, attempt), "big")


def to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat().encode()
    return str(value).encode("utf-8", "surrogatepass")


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:  # every second digit from the right, the check digit's neighbour first
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    return len(digits) > 1 and luhn_check_digit(digits[:-1]) == digits[-1]


@dataclass
class Strategy:
    """One masking rule, ready to apply. `apply(value, row, attempt)`; row gives other columns.

    identifying: the originals are looked for everywhere in the copy by the leak scan.
    disjoint: outputs can never equal a real value (reserved domains and ranges), so an output
    equal to any original is a leak, not a coincidence.
    """

    name: str
    domain: str
    max_chars: int | None = None
    identifying: bool = True
    disjoint: bool = False
    context: tuple[str, ...] = ()  # other columns of the row this rule reads
    options: dict = field(default_factory=dict)
    _fn: Callable | None = None

    def apply(self, value, row: dict | None, keyed: Keyed, attempt: int = 0):
        if value is None and self.name not in ("fixed",):
            return None
        return self._fn(self, value, row or {}, keyed, attempt)

    def pseudonym(self, value, row: dict | None, keyed: Keyed, overrides: dict | None = None):
        """apply() with the collision rules: never the input itself, and the attempt an
        earlier collision check assigned to this input (overrides: input digest -> attempt)."""
        attempt = 0
        if overrides:
            attempt = overrides.get(keyed.digest(self.domain, to_bytes(value)), 0)
        for _ in range(MAX_ATTEMPTS):
            out = self.apply(value, row, keyed, attempt)
            if out is None or out == "" or self.name in KEEP_EQUAL or to_bytes(out) != to_bytes(value):
                return out
            attempt += 1
        raise MaskingError(f"{self.name}: no pseudonym different from its input after {MAX_ATTEMPTS} tries")


def _fit(text: str, limit: int | None) -> str:
    return text if limit is None else text[:limit]


def _pick(pool: tuple[str, ...], n: int) -> str:
    return pool[n % len(pool)]


def _email(s: Strategy, value, row, keyed: Keyed, attempt: int):
    text = str(value)
    if text == "":
        return ""
    n = keyed.number(s.domain, to_bytes(value), attempt)
    first, last = name_pools()
    domain = s.options.get("mail_domain", "example.invalid")
    local = f"{_pick(first, n).lower()}.{_pick(last, n >> 16).lower()}.{n >> 32 & 0xFFFFFF:06x}"
    out = f"{local}@{domain}"
    if s.max_chars is not None and len(out) > s.max_chars:
        out = f"{n >> 32 & 0xFFFFFFFFFF:010x}@{domain}"
    return _fit(out, s.max_chars)


def _digits_from(n: int, count: int) -> str:
    out = []
    for _ in range(count):
        n, d = divmod(n, 10)
        out.append(str(d))
    return "".join(out)


def _phone(s: Strategy, value, row, keyed: Keyed, attempt: int):
    text = str(value)
    digits = [ch for ch in text if ch.isdigit()]
    if not digits:
        return text
    keep = int(s.options.get("keep_prefix", 0))
    fresh = iter(_digits_from(keyed.number(s.domain, to_bytes(value), attempt), len(digits)))
    out, seen = [], 0
    for ch in text:
        if ch.isdigit():
            out.append(ch if seen < keep else next(fresh))
            seen += 1
        else:
            out.append(ch)
    result = "".join(out)
    return int(result) if isinstance(value, int) else result


def _card(s: Strategy, value, row, keyed: Keyed, attempt: int):
    text = str(value)
    positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    if len(positions) < 2:
        return text
    count = len(positions)
    prefix = s.options.get("prefix", TEST_CARD_PREFIX)[: max(0, count - 2)]
    body = prefix + _digits_from(keyed.number(s.domain, to_bytes(value), attempt), count - 1 - len(prefix))
    digits = body + luhn_check_digit(body)
    chars = list(text)
    for i, d in zip(positions, digits):
        chars[i] = d
    result = "".join(chars)
    return int(result) if isinstance(value, int) else result


def _first_name(s, value, row, keyed: Keyed, attempt):
    if str(value) == "":
        return ""
    return _fit(_pick(name_pools()[0], keyed.number(s.domain, to_bytes(value), attempt)), s.max_chars)


def _last_name(s, value, row, keyed: Keyed, attempt):
    if str(value) == "":
        return ""
    return _fit(_pick(name_pools()[1], keyed.number(s.domain, to_bytes(value), attempt)), s.max_chars)


def _full_name(s, value, row, keyed: Keyed, attempt):
    if str(value) == "":
        return ""
    n = keyed.number(s.domain, to_bytes(value), attempt)
    first, last = name_pools()
    return _fit(f"{_pick(first, n)} {_pick(last, n >> 16)}", s.max_chars)


def _username(s, value, row, keyed: Keyed, attempt):
    if str(value) == "":
        return ""
    n = keyed.number(s.domain, to_bytes(value), attempt)
    first, last = name_pools()
    out = f"{_pick(first, n).lower()}.{_pick(last, n >> 16).lower()}{n >> 32 & 0xFFFFFF:x}"
    if s.max_chars is not None and len(out) > s.max_chars:
        # "u" alone would be every input's pseudonym in a one-character column
        out = f"u{n >> 32 & 0xFFFFFFFFFF:x}" if s.max_chars > 1 else f"{n >> 32 & 0xF:x}"
    return _fit(out, s.max_chars)


def _pseudonym(s, value, row, keyed: Keyed, attempt):
    text = str(value)
    if text == "":
        return ""
    length = int(s.options.get("length", 0)) or len(text)
    if s.max_chars is not None:
        length = min(length, s.max_chars)
    alphabet = {"hex": "0123456789abcdef", "digits": "0123456789", "alnum": _ALNUM}[s.options.get("format", "alnum")]
    out, counter = [], 0
    while len(out) < length:
        n = keyed.number(s.domain, to_bytes(value) + b"\x1e" + str(counter).encode(), attempt)
        while n and len(out) < length:
            n, i = divmod(n, len(alphabet))
            out.append(alphabet[i])
        counter += 1
    return "".join(out)


def _ip(s, value, row, keyed: Keyed, attempt):
    text = str(value)
    if text == "":
        return ""
    n = keyed.number(s.domain, to_bytes(value), attempt)
    try:
        version = ipaddress.ip_address(text.split("%")[0]).version
    except ValueError:
        version = 6 if ":" in text else 4
    if version == 6:
        return str(TEST_NET_V6[n % TEST_NET_V6.num_addresses])
    net = TEST_NETS_V4[n % len(TEST_NETS_V4)]
    return str(net[1 + (n >> 8) % 254])


def _lorem(s, value, row, keyed: Keyed, attempt):
    """Neutral words of about the input's length: one HMAC seeds the word choice (free text is
    the bulk of what is masked, so this is the strategy whose cost shows)."""
    text = str(value)
    if text == "":
        return ""
    target = min(len(text), s.max_chars or len(text))
    rng = random.Random(keyed.number(s.domain, to_bytes(value), attempt))
    out = ""
    while len(out) < target:  # words average under 6 characters: one round almost always
        out += (" " if out else "") + " ".join(rng.choices(_LOREM, k=target // 5 + 2))
    out = out[:target].rstrip()
    return (out[:1].upper() + out[1:]) or "x"


def _uuid(s, value, row, keyed: Keyed, attempt):
    """A version-4 UUID (which MariaDB's UUID type accepts), in the input's own spelling."""
    text = str(value)
    if text == "":
        return ""
    raw = bytearray(keyed.digest(s.domain, to_bytes(text.replace("-", "").lower()), attempt)[:16])
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    hexed = raw.hex()
    if "-" in text:
        hexed = f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
    return hexed.upper() if text.isupper() else hexed


def _null(s, value, row, keyed, attempt):
    return None


def _fixed(s, value, row, keyed, attempt):
    return s.options.get("value")


def parse_temporal(value) -> tuple[datetime, str]:
    """(moment, kind): kind is 'date' or 'datetime'; accepts MySQL text and Python values."""
    if isinstance(value, datetime):
        return value, "datetime"
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day), "date"
    text = value.decode() if isinstance(value, bytes) else str(value)
    if len(text) == 10:
        return datetime.strptime(text, "%Y-%m-%d"), "date"
    return datetime.fromisoformat(text), "datetime"


def shift_days(keyed: Keyed, domain: str, entity, max_days: int) -> int:
    """A shift in [-max_days, -1] or [1, max_days], the same for every date of one entity."""
    n = keyed.number(domain, b"" if entity is None else to_bytes(entity))
    days = 1 + n % max_days
    return days if (n >> 64) & 1 else -days


def _date_shift(s, value, row, keyed: Keyed, attempt):
    moment, kind = parse_temporal(value)
    entity = row.get(s.options["entity"]) if s.options.get("entity") else value
    days = shift_days(keyed, s.domain, entity, int(s.options.get("max_days", 30)))
    shifted = moment + timedelta(days=days)
    if isinstance(value, (datetime, date)):
        return shifted if isinstance(value, datetime) else shifted.date()
    if kind == "date":
        return shifted.strftime("%Y-%m-%d")
    fsp = len(str(value).split(".", 1)[1]) if "." in str(value) else 0
    text = shifted.strftime("%Y-%m-%d %H:%M:%S")
    return text + (f".{shifted.microsecond:06d}"[: fsp + 1] if fsp else "")


def django_password_hash(password: str, keyed: Keyed, iterations: int = 1_000_000) -> str:
    """The PBKDF2 hash Django's default hasher writes, with a salt derived from the key: the
    same known dev password gives the same hash on every run (computed once per run)."""
    salt = base64.b32encode(keyed.digest("django-dev-password-salt", b""))[:22].decode().lower()
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def _django_password(s, value, row, keyed: Keyed, attempt):
    """Unusable ("!" + 40 characters, as Django's set_unusable_password writes) unless the run
    has a dev password and the row's flag column (e.g. is_staff) is true."""
    flag = s.options.get("dev_password_for")
    dev_hash = s.options.get("_dev_hash")
    if dev_hash and flag and row.get(flag) not in (None, 0, "0", b"0", False, b"\x00"):
        return dev_hash
    n = keyed.number(s.domain, to_bytes(value), attempt)
    return "!" + "".join(_ALNUM[(n >> (6 * i)) % 36] for i in range(40))


# JSON: "$.a.b", "$.a[*].b", "$.a[0]", '$["odd key"]'
_PATH_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\*|\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def parse_path(path: str) -> list:
    if not path.startswith("$"):
        raise MaskingError(f"JSON path {path!r} must start with $")
    tokens, pos = [], 1
    while pos < len(path):
        m = _PATH_TOKEN.match(path, pos)
        if not m:
            raise MaskingError(f"JSON path {path!r}: cannot read from {path[pos:]!r} "
                               "(use .name, [*], [n] or [\"name\"])")
        if m.group(1) is not None:
            tokens.append(m.group(1))
        elif m.group(2) is not None:
            tokens.append("*" if m.group(2) == "*" else int(m.group(2)))
        else:
            tokens.append(json.loads(f'"{m.group(3)}"'))
        pos = m.end()
    return tokens


def json_leaves(doc, tokens: list, at: tuple = ()):
    """(container, key, full path) of every value the path reaches."""
    if not tokens:
        return
    head, rest = tokens[0], tokens[1:]
    if head == "*":
        items = list(enumerate(doc)) if isinstance(doc, list) else (list(doc.items()) if isinstance(doc, dict) else [])
    elif isinstance(head, int):
        items = [(head, doc[head])] if isinstance(doc, list) and -len(doc) <= head < len(doc) else []
    else:
        items = [(head, doc[head])] if isinstance(doc, dict) and head in doc else []
    for key, child in items:
        if rest:
            yield from json_leaves(child, rest, at + (key,))
        else:
            yield doc, key, at + (key,)


def _json(s, value, row, keyed: Keyed, attempt):
    text = value.decode() if isinstance(value, bytes) else str(value)
    try:
        doc = json.loads(text)
    except ValueError:
        raise MaskingError(f"{s.domain}: a value is not valid JSON, so its paths cannot be masked") from None
    changed = False
    for tokens, inner in s.options["paths"]:
        for container, key, _ in list(json_leaves(doc, tokens)):
            original = container[key]
            if isinstance(original, (dict, list)) and inner.name not in ("null", "fixed"):
                raise MaskingError(f"JSON path reaches an object or array, not a value: mask its "
                                   f"members with a deeper path, or use null/fixed ({inner.name})")
            if isinstance(original, bool):
                continue
            masked = inner.pseudonym(original, row, keyed)
            if isinstance(original, (int, float)) and isinstance(masked, str) and inner.name not in ("fixed",):
                masked = int(masked) if masked.lstrip("-").isdigit() else masked
            container[key] = masked
            changed = True
    if not changed:
        return value
    return json.dumps(doc, ensure_ascii=False, separators=(", ", ": "))


# name -> (function, identifying, disjoint, value kind)
STRATEGIES: dict[str, tuple[Callable, bool, bool, str]] = {
    "email": (_email, True, True, "text"),
    "phone": (_phone, True, False, "text"),
    "card": (_card, True, True, "text"),
    "first_name": (_first_name, False, False, "text"),
    "last_name": (_last_name, False, False, "text"),
    "full_name": (_full_name, True, False, "text"),
    "username": (_username, False, False, "text"),
    "pseudonym": (_pseudonym, True, False, "text"),
    "ip": (_ip, True, True, "text"),
    "uuid": (_uuid, True, False, "text"),
    "lorem": (_lorem, True, False, "text"),
    "null": (_null, False, False, "any"),
    "fixed": (_fixed, False, False, "any"),
    "date_shift": (_date_shift, False, False, "temporal"),
    "django_password": (_django_password, True, True, "text"),
    "json": (_json, False, False, "json"),
}


def build(name: str, *, domain: str | None = None, max_chars: int | None = None, options: dict | None = None,
          where: str = "") -> Strategy:
    """A Strategy from a rule's name and options; MaskingError names the rule when it is wrong."""
    if name not in STRATEGIES:
        raise MaskingError(f"{where}: unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}")
    fn, identifying, disjoint, _kind = STRATEGIES[name]
    options = dict(options or {})
    context: tuple[str, ...] = ()
    if name == "email":
        domain_name = options.get("mail_domain", "example.invalid")
        if not RESERVED_EMAIL_DOMAINS.search(domain_name):
            raise MaskingError(f"{where}: email domain {domain_name!r} is not reserved; use example.invalid, "
                               "example.com/.net/.org or a name under .example, .invalid, .test or .localhost")
    if name == "fixed" and "value" not in options:
        raise MaskingError(f"{where}: fixed needs `value`")
    if name == "date_shift":
        if int(options.get("max_days", 30)) < 1:
            raise MaskingError(f"{where}: max_days must be at least 1")
        if options.get("entity"):
            context = (options["entity"],)
    if name == "django_password" and options.get("dev_password_for"):
        context = (options["dev_password_for"],)
    if name == "json":
        paths = options.get("paths")
        if not isinstance(paths, dict) or not paths:
            raise MaskingError(f"{where}: json needs `paths`, a mapping of JSON path to rule")
        parsed = []
        for path, rule in paths.items():
            inner_name, inner_options = (rule, {}) if isinstance(rule, str) else (
                rule.get("mask"), {k: v for k, v in rule.items() if k != "mask"})
            if inner_name in ("json", "date_shift", "django_password"):
                raise MaskingError(f"{where} {path}: {inner_name} cannot be used inside a JSON path")
            inner = build(inner_name, domain=inner_options.pop("domain", inner_name), options=inner_options,
                          where=f"{where} {path}")
            parsed.append((parse_path(path), inner))
        options["paths"] = parsed
        identifying = any(inner.identifying for _, inner in parsed)
    return Strategy(name, domain or name, max_chars, identifying, disjoint, context, options, fn)

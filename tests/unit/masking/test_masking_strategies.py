"""The masking transforms over their whole value space: deterministic under a key, different
under another key, format-keeping, never the input itself, within the column's length."""
from __future__ import annotations

import ipaddress
import json
import re
import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from data_masking import MaskingError
from data_masking.masking_strategies import (TEST_NET_V6, TEST_NETS_V4, Keyed, build, django_password_hash,
                                             luhn_valid, parse_path, shift_days)

KEY = Keyed(b"unit-test-masking-key-0123456789")
OTHER = Keyed(b"another-masking-key-9876543210ab")
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80)


@given(text)
def test_every_pseudonym_is_a_function_of_key_and_input(value):
    for name in ("email", "first_name", "last_name", "full_name", "username", "pseudonym", "lorem", "ip"):
        strategy = build(name, max_chars=254)
        assert strategy.pseudonym(value, {}, KEY) == strategy.pseudonym(value, {}, KEY)


def test_another_key_gives_other_pseudonyms():
    values = [f"person{i}@shop.example" for i in range(200)]
    email = build("email")
    ours = [email.pseudonym(v, {}, KEY) for v in values]
    theirs = [email.pseudonym(v, {}, OTHER) for v in values]
    assert sum(a != b for a, b in zip(ours, theirs)) == len(values)


@given(st.emails())
def test_email_stays_an_email_on_a_reserved_domain_and_fits(value):
    for limit in (254, 40, 20):
        out = build("email", max_chars=limit).pseudonym(value, {}, KEY)
        assert len(out) <= limit
        if limit >= 30:
            assert re.fullmatch(r"[a-z0-9.]+@example\.invalid", out), out
        assert out != value


def test_email_domain_must_be_reserved():
    with pytest.raises(MaskingError, match="not reserved"):
        build("email", options={"mail_domain": "gmail.com"})
    assert build("email", options={"mail_domain": "dev.example"}).pseudonym("a@b.c", {}, KEY).endswith("@dev.example")


@given(st.from_regex(r"\+?[0-9 ()-]{4,24}", fullmatch=True).filter(lambda s: any(c.isdigit() for c in s)))
def test_phone_keeps_every_non_digit_and_the_digit_count(value):
    out = build("phone").pseudonym(value, {}, KEY)
    assert len(out) == len(value)
    assert [c if not c.isdigit() else "9" for c in out] == [c if not c.isdigit() else "9" for c in value]
    assert out != value


def test_phone_as_an_integer_stays_an_integer_with_its_digit_count():
    out = build("phone").pseudonym(4915112345678, {}, KEY)
    assert isinstance(out, int) and len(str(out)) == 13


@given(st.integers(min_value=12, max_value=19).flatmap(lambda n: st.from_regex(rf"[0-9]{{{n}}}", fullmatch=True)))
def test_card_numbers_become_luhn_valid_test_numbers_of_the_same_length(value):
    out = build("card").pseudonym(value, {}, KEY)
    assert len(out) == len(value) and out.isdigit() and luhn_valid(out) and out.startswith("4000")


def test_card_keeps_separators():
    out = build("card").pseudonym("4111-1111-1111-1111", {}, KEY)
    assert re.fullmatch(r"4000-00\d\d-\d{4}-\d{4}", out) and luhn_valid(out)


@given(st.ip_addresses())
def test_ip_addresses_land_in_documentation_ranges(address):
    out = ipaddress.ip_address(build("ip").pseudonym(str(address), {}, KEY))
    if address.version == 4:
        assert any(out in net for net in TEST_NETS_V4)
    else:
        assert out in TEST_NET_V6


@given(st.uuids())
def test_uuid_keeps_its_spelling_and_is_a_version_4_uuid(value):
    strategy = build("uuid")
    for spelled in (str(value), value.hex):
        out = strategy.pseudonym(spelled, {}, KEY)
        assert len(out) == len(spelled) and ("-" in out) == ("-" in spelled)
        assert uuid.UUID(out).version == 4 and out != spelled


@given(text, st.integers(min_value=1, max_value=30))
@example("u", 1)  # a username column of one character: "u..." cut to "u" for every input
def test_names_and_text_fit_the_column_and_differ_from_the_input(value, limit):
    for name in ("first_name", "last_name", "full_name", "username", "lorem", "pseudonym"):
        out = build(name, max_chars=limit).pseudonym(value, {}, KEY)
        assert len(out) <= limit
        assert out != value or name == "lorem" and len(value) == 0


def test_empty_and_null_stay_as_they_are_but_null_and_fixed_replace_everything():
    for name in ("email", "phone", "first_name", "lorem", "uuid"):
        assert build(name).pseudonym("", {}, KEY) == ""
        assert build(name).pseudonym(None, {}, KEY) is None
    assert build("null").pseudonym("x", {}, KEY) is None
    assert build("fixed", options={"value": "n/a"}).pseudonym(None, {}, KEY) == "n/a"


def test_date_shift_is_the_same_for_every_date_of_an_entity_and_never_zero():
    strategy = build("date_shift", options={"entity": "id", "max_days": 10})
    seen = set()
    for entity in range(300):
        a = strategy.pseudonym("2025-01-10 12:00:00.123456", {"id": entity}, KEY)
        b = strategy.pseudonym("2025-02-10 12:00:00.123456", {"id": entity}, KEY)
        days = shift_days(KEY, strategy.domain, entity, 10)
        seen.add(days)
        assert 1 <= abs(days) <= 10
        assert a == (datetime(2025, 1, 10, 12, 0, 0, 123456) + timedelta(days=days)).isoformat(sep=" ")
        assert datetime.fromisoformat(b) - datetime.fromisoformat(a) == timedelta(days=31)  # distances kept
    assert len(seen) == 20  # both directions, every size
    assert strategy.pseudonym("2025-01-10", {"id": 1}, KEY)[4] == "-"  # a DATE stays a DATE
    assert strategy.pseudonym("2025-01-10 12:00:00", {"id": 1}, KEY).endswith(":00")  # no fraction added


def test_django_passwords_are_unusable_unless_the_dev_password_applies():
    strategy = build("django_password", options={"dev_password_for": "is_staff"})
    out = strategy.pseudonym("pbkdf2_sha256$1000000$salt$hash", {"is_staff": 0}, KEY)
    assert out.startswith("!") and len(out) == 41
    strategy.options["_dev_hash"] = django_password_hash("dev", KEY, iterations=1000)
    assert strategy.pseudonym("pbkdf2_sha256$x", {"is_staff": 1}, KEY).startswith("pbkdf2_sha256$1000$")
    assert strategy.pseudonym("pbkdf2_sha256$x", {"is_staff": 0}, KEY).startswith("!")


def test_the_dev_password_hash_is_what_django_checks():
    from django.conf import settings as django_settings

    if not django_settings.configured:
        django_settings.configure(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"])
    from django.contrib.auth.hashers import check_password

    assert check_password("dev-pass", django_password_hash("dev-pass", KEY, iterations=1000))
    assert not check_password("other", django_password_hash("dev-pass", KEY, iterations=1000))


def test_json_paths_mask_only_what_they_reach_and_keep_types():
    strategy = build("json", options={"paths": {"$.contact.email": "email", "$.phones[*]": "phone",
                                                '$["odd key"]': {"mask": "fixed", "value": "x"}}})
    doc = {"contact": {"email": "anna@shop.example", "name": "Anna"}, "phones": ["+49 30 1234", 4930123],
           "odd key": "secret", "n": 1e-07, "big": 9007199254740993}
    out = json.loads(strategy.pseudonym(json.dumps(doc), {}, KEY))
    assert out["contact"]["email"].endswith("@example.invalid") and out["contact"]["name"] == "Anna"
    assert isinstance(out["phones"][1], int) and out["phones"][0] != doc["phones"][0]
    assert out["odd key"] == "x" and out["n"] == 1e-07 and out["big"] == 9007199254740993
    untouched = json.dumps({"other": 1})
    assert strategy.pseudonym(untouched, {}, KEY) == untouched  # nothing reached: the text is kept as is


def test_json_path_syntax_errors_name_the_path():
    assert parse_path('$.a[*].b[2]["c d"]') == ["a", "*", "b", 2, "c d"]
    with pytest.raises(MaskingError, match="cannot read"):
        parse_path("$.a..b")
    with pytest.raises(MaskingError, match="cannot be used inside"):
        build("json", options={"paths": {"$.a": "date_shift"}})


def test_short_keys_and_unknown_strategies_are_refused():
    with pytest.raises(MaskingError, match="at least 16"):
        Keyed(b"short")
    with pytest.raises(MaskingError, match="unknown strategy"):
        build("scramble")


@settings(max_examples=50)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=40, unique=True))
def test_equal_inputs_give_equal_outputs_in_any_table(values):
    """Two columns with the same strategy and domain agree value by value: foreign keys line up."""
    a, b = build("username", max_chars=150), build("username", max_chars=150)
    assert [a.pseudonym(v, {}, KEY) for v in values] == [b.pseudonym(v, {}, KEY) for v in reversed(values)][::-1]

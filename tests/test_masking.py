"""Secret masking: secret values and sensitive keys never survive into anything that is written."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from bastidor.audit.masking import MASK, SecretMasker, looks_sensitive
from bastidor.expr.taint import taint


def test_secret_value_is_masked_wherever_it_appears_in_text():
    masker = SecretMasker(values=["hunter2"])
    assert masker.mask_text("login with hunter2, then hunter2 again") == "login with ***, then *** again"


def test_longer_secret_containing_a_shorter_one_is_masked_whole():
    masker = SecretMasker(values=["abc", "abcdef"])
    assert masker.mask_text("x abcdef y abc") == "x *** y ***"


def test_empty_secret_values_are_ignored_instead_of_masking_everything():
    masker = SecretMasker(values=["", "tok"])
    masker.add("EMPTY", "")
    assert masker.mask_text("a tok b") == "a *** b"


def test_regex_characters_in_a_secret_are_matched_literally():
    masker = SecretMasker(values=["p.a$s(w)*"])
    assert masker.mask_text("pXa$s(w)* and p.a$s(w)*") == "pXa$s(w)* and ***"


def test_secret_added_during_a_run_is_masked_from_then_on():
    masker = SecretMasker()
    assert masker.mask_text("s3cr3t") == "s3cr3t"
    masker.add("ERP_PASSWORD", "s3cr3t")
    assert masker.mask_text("s3cr3t") == MASK


@pytest.mark.parametrize(
    "key", ["password", "DB_PASSWORD", "passwd", "client_secret", "access_token", "api_key", "X-Api-Key",
            "apiKey", "Authorization", "Set-Cookie"],
)
def test_sensitive_looking_keys_are_recognised(key):
    assert looks_sensitive(key)


@pytest.mark.parametrize("key", ["customer", "amount", "step_path", "flow_sha256", "hash", "prev_hash"])
def test_ordinary_keys_are_not_taken_for_sensitive(key):
    assert not looks_sensitive(key)


def test_values_under_sensitive_keys_and_secret_names_are_masked_whatever_their_type():
    masker = SecretMasker(names=["erp_user"])
    masked = masker.mask({"Password": "pw", "ERP_USER": "alice", "pin_token": 1234, "amount": 10})
    assert masked == {"Password": MASK, "ERP_USER": MASK, "pin_token": MASK, "amount": 10}


def test_nested_structures_are_masked_at_every_depth():
    masker = SecretMasker(values=["hunter2"])
    data = {"a": [{"b": ("note hunter2", {"token": {"deep": 1}})}], "c": {"hunter2"}}
    assert masker.mask(data) == {"a": [{"b": ("note ***", {"token": MASK})}], "c": {MASK}}


def test_masking_returns_a_copy_and_leaves_the_original_untouched():
    masker = SecretMasker(values=["hunter2"])
    original = {"note": "hunter2", "items": ["hunter2"]}
    masker.mask(original)
    assert original == {"note": "hunter2", "items": ["hunter2"]}


def test_secret_inside_a_number_or_object_becomes_masked_text():
    masker = SecretMasker(values=["987654"])
    assert masker.mask({"pin": Decimal("987654"), "count": 3, "ok": True, "none": None}) == {
        "pin": MASK, "count": 3, "ok": True, "none": None,
    }


def test_secret_used_as_a_mapping_key_is_masked():
    masker = SecretMasker(values=["hunter2"])
    assert masker.mask({"hunter2": 1}) == {MASK: 1}


def test_exception_text_is_masked_with_its_type_and_notes():
    masker = SecretMasker(values=["hunter2"])
    error = ValueError("login failed for password hunter2")
    error.add_note("retrying with hunter2")
    text = masker.mask_exception(error)
    assert text.startswith("ValueError: login failed for password ***")
    assert "retrying with ***" in text
    assert "hunter2" not in text


@pytest.mark.parametrize("value", ["h", "hu", 7, Decimal("1.5"), datetime.date(2030, 1, 2)])
def test_a_value_computed_from_a_secret_is_masked_whole_whatever_its_length(value):
    masker = SecretMasker()
    assert masker.mask(taint(value)) == MASK
    assert masker.mask({"note": taint(value), "plain": "h"}) == {"note": MASK, "plain": "h"}
    assert masker.mask([taint(value), 7]) == [MASK, 7]


def test_text_computed_from_a_secret_is_masked_whole_in_free_text_and_as_a_key():
    masker = SecretMasker()
    assert masker.mask_text(taint("the code is x")) == MASK
    assert masker.mask({taint("k"): 1}) == {MASK: 1}


def test_long_enough_values_computed_from_a_secret_are_masked_inside_other_text_too():
    masker = SecretMasker()
    for value in ("abcd", "xy", Decimal("123456.7"), 2031, datetime.date(2030, 1, 2)):
        masker.add_derived(taint(value))
    text = "abcd xy 123456.7 2031 2030-01-02 and a plain abc"
    assert masker.mask_text(text) == "*** xy *** 2031 *** and a plain abc"


def test_a_value_computed_from_a_secret_is_learnt_as_soon_as_it_is_masked():
    masker = SecretMasker()
    masker.mask({"derived": taint("hunter2-lowered")})
    assert masker.mask_text("error: hunter2-lowered rejected") == "error: *** rejected"


def test_known_values_are_listed_longest_first_and_plain_values_are_not_learnt():
    masker = SecretMasker(values=["abc"])
    masker.add_derived("not-a-derived-value")
    masker.add_derived(taint("abcdef"))
    assert masker.values() == ["abcdef", "abc"]


def test_values_learnt_one_at_a_time_are_all_masked():
    masker = SecretMasker(values=["abc"])
    learnt = [f"value-{number}" for number in range(40)]
    for value in learnt:
        masker.add("", value)
        assert masker.mask_text(f"<{value}>") == "<***>"
    assert masker.mask_text(" ".join(["abc", *learnt, "abcdef"])) == " ".join(["***"] * 41 + ["***def"])


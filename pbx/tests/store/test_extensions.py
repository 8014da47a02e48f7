"""Validation, digest hashes and change planning for extensions (pure functions)."""

from __future__ import annotations

import hashlib

import pytest
from pbxd.extensions import InvalidValueError, digest_ha1, make_extension, plan_change, with_password


def test_ha1_follows_rfc_2617_and_rfc_7616() -> None:
    md5, sha256 = digest_ha1("100", "pbx.test", "s3cret")
    assert md5 == hashlib.md5(b"100:pbx.test:s3cret").hexdigest()
    assert sha256 == hashlib.sha256(b"100:pbx.test:s3cret").hexdigest()
    # RFC 2617 section 3.5's example user, for an independent anchor.
    assert (
        digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life")[0] == "939e7578ed9e3c518a452acee763bce9"
    )


@pytest.mark.parametrize("number", ["", " 100", "10 0", "-1", "a" * 65, "100@x", "100;x", "100\n"])
def test_bad_numbers_are_refused_naming_value_and_rule(number: str) -> None:
    with pytest.raises(InvalidValueError, match=r'(?s)^number: ".*" is not an extension number \(1-64'):
        make_extension(number, "", "r", "pw")


@pytest.mark.parametrize("name", ['Al"ice', "Al\\ice", "Al\nice", "x" * 65])
def test_bad_display_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidValueError, match=r"^display name: "):
        make_extension("100", name, "r", "pw")


@pytest.mark.parametrize("password", ["", "pw\n", "x" * 257])
def test_bad_passwords_are_refused_without_echoing_them(password: str) -> None:
    with pytest.raises(InvalidValueError, match=r"^password: ") as raised:
        make_extension("100", "", "r", password)
    if password:
        assert password.strip() not in str(raised.value)


def test_plan_change_outcomes() -> None:
    alice = make_extension("100", "Alice", "r", "pw")
    assert plan_change(None, alice, update=False).outcome == "added"
    assert plan_change(alice, make_extension("100", "Alice", "r", "pw"), update=False).outcome == "unchanged"
    other_password = with_password(alice, "r", "other")
    conflict = plan_change(alice, other_password, update=False)
    assert (conflict.outcome, conflict.conflict) == ("updated", True)
    allowed = plan_change(alice, other_password, update=True)
    assert (allowed.outcome, allowed.conflict) == ("updated", False)
    # Same password under another realm is a different credential.
    assert plan_change(alice, make_extension("100", "Alice", "other-realm", "pw"), update=False).conflict

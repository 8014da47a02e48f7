"""Sites and trunks derived from the inventory: every site joined to every other, overlaps refused."""

from __future__ import annotations

import re

import pytest
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.sites import (
    NumberRange,
    SiteError,
    collect_sites,
    parse_range,
    range_patterns,
    trunk_credentials,
    trunks_for,
)
from hypothesis import given
from hypothesis import strategies as st

SECRET = "inventory-trunk-secret"


def hostvars(**sites: tuple[str, str]) -> dict[str, dict[str, object]]:
    """Two nodes per site, as an inventory's group vars make them."""
    return {
        f"{name.upper()}-N{n}": {"pbx_site": name, "pbx_role_ip": ip, "pbx_number_range": numbers}
        for name, (ip, numbers) in sites.items()
        for n in (1, 2)
    }


def test_each_site_gets_a_trunk_to_every_other_site() -> None:
    hv = hostvars(a=("127.0.1.50", "100-199"), b=("127.0.2.50", "200-299"), c=("127.0.3.50", "300-349"))
    sites = collect_sites(list(hv), hv)
    assert [s.name for s in sites] == ["a", "b", "c"]
    trunks = trunks_for("a", sites, SECRET)
    assert [(t["name"], t["host"], t["port"], t["numbers"], t["trusted_sources"]) for t in trunks] == [
        ("b", "127.0.2.50", 5060, ["2\\d\\d"], ["127.0.2.50"]),
        ("c", "127.0.3.50", 5060, ["3[0-4]\\d"], ["127.0.3.50"]),
    ]
    assert [t["name"] for t in trunks_for("c", sites, SECRET)] == ["a", "b"]


def test_both_ends_of_a_trunk_use_the_same_credentials_and_each_trunk_its_own() -> None:
    hv = hostvars(a=("127.0.1.50", "100-199"), b=("127.0.2.50", "200-299"), c=("127.0.3.50", "300-349"))
    sites = collect_sites(list(hv), hv)
    a_to_b = trunks_for("a", sites, SECRET)[0]
    b_to_a = trunks_for("b", sites, SECRET)[0]
    assert (a_to_b["username"], a_to_b["password"]) == (b_to_a["username"], b_to_a["password"])
    assert a_to_b["username"] == "trunk.a.b" and len(a_to_b["password"]) == 32
    assert trunk_credentials("a", "c", SECRET)[1] != a_to_b["password"]
    assert trunk_credentials("a", "b", "another secret")[1] != a_to_b["password"]
    with pytest.raises(SiteError, match="vault_pbx_trunk_secret is missing"):
        trunks_for("a", sites, "")


def test_adding_a_site_joins_it_to_the_others() -> None:
    two = hostvars(a=("127.0.1.50", "100-199"), b=("127.0.2.50", "200-299"))
    three = {**two, **hostvars(c=("127.0.3.50", "300-399"))}
    assert [t["name"] for t in trunks_for("a", collect_sites(list(two), two), SECRET)] == ["b"]
    assert [t["name"] for t in trunks_for("a", collect_sites(list(three), three), SECRET)] == ["b", "c"]


@pytest.mark.parametrize(
    ("sites", "message"),
    [
        (
            {"a": ("127.0.1.50", "100-199"), "b": ("127.0.2.50", "150-249")},
            r"sites a \(100-199\) and b \(150-249\) have overlapping number ranges",
        ),
        (
            {"a": ("127.0.1.50", "100-199"), "b": ("127.0.1.50", "200-299")},
            "same role address 127.0.1.50:5060",
        ),
        ({"a": ("127.0.1.999", "100-199")}, "pbx_role_ip '127.0.1.999' is not an IP address"),
        ({"a": ("127.0.1.50", "199-100")}, "starts after it ends"),
        ({"a": ("127.0.1.50", "100-2000")}, "ends of different lengths"),
        ({"a": ("127.0.1.50", "100")}, 'is not a number range "FIRST-LAST"'),
    ],
)
def test_bad_sites_are_refused_naming_the_value(sites: dict[str, tuple[str, str]], message: str) -> None:
    hv = hostvars(**sites)
    with pytest.raises(SiteError, match=message):
        collect_sites(list(hv), hv)


def test_hosts_of_one_site_must_agree() -> None:
    hv = hostvars(a=("127.0.1.50", "100-199"))
    hv["A-N2"]["pbx_number_range"] = "100-149"
    with pytest.raises(SiteError, match="hosts A-N1 and A-N2 are both in site a but disagree"):
        collect_sites(list(hv), hv)


def test_ranges_of_different_widths_do_not_overlap() -> None:
    assert not parse_range("100-199", "x").overlaps(parse_range("1000-1999", "x"))
    assert parse_range("100-199", "x").overlaps(parse_range("199-250", "x"))


def test_an_unknown_local_site_is_named() -> None:
    hv = hostvars(a=("127.0.1.50", "100-199"))
    with pytest.raises(SiteError, match="site 'z' is not one of the inventory's sites \\(a\\)"):
        trunks_for("z", collect_sites(list(hv), hv), SECRET)


@given(st.integers(0, 9999), st.integers(0, 9999))
def test_range_patterns_match_exactly_the_numbers_of_the_range(a: int, b: int) -> None:
    low, high = sorted((a, b))
    numbers = NumberRange(f"{low:04d}", f"{high:04d}")
    pattern = re.compile("|".join(f"(?:{p})" for p in range_patterns(numbers)))
    for candidate in {0, low - 1, low, (low + high) // 2, high, high + 1, 9999}:
        if 0 <= candidate <= 9999:
            assert bool(pattern.fullmatch(f"{candidate:04d}")) == (low <= candidate <= high), candidate

"""pbxd against SIPp 3.6.1: registration (right and wrong credentials, unknown user, stale
nonce), calls with BYE and CANCEL, a call across a trunk between two pbxd, and a call routed
to a phone that registered before pbxd restarted."""

from __future__ import annotations

from typing import Any

import pytest

from peers.harness import PbxFactory, Sipp, auth_fields, free_port, registered, trunk_table, wait_until

pytestmark = pytest.mark.peer

PBX_A, PBX_B = "127.0.0.2", "127.0.0.3"
PHONE_1, PHONE_2 = "127.0.0.41", "127.0.0.42"


def final_call_record(pbx: Any, call_count: int = 1) -> dict[str, Any]:
    """The newest call record once it has its disposition (records are written as calls end)."""
    found: list[dict[str, Any]] = []

    def ended() -> bool:
        found[:] = pbx.calls()
        return len(found) == call_count and found[0]["disposition"] is not None

    wait_until(ended, 10, "the call record to be completed")
    return found[0]


def test_register_with_the_right_password_is_stored(pbxes: PbxFactory, sipp: Sipp) -> None:
    pbx = pbxes("a", PBX_A)
    pbx.add_extension("100", "secret-100")
    pbx.start()
    port = free_port(PHONE_1)
    result = sipp.run(
        "register.xml",
        local=(PHONE_1, port),
        remote=(pbx.host, pbx.port),
        fields=auth_fields("100", "secret-100"),
    )
    result.assert_ok(pbx)
    assert pbx.bindings() == [("100", f"sip:100@{PHONE_1}:{port}", f"udp:{PHONE_1}:{port}", "SIPp peer test")]


@pytest.mark.parametrize(("number", "password"), [("100", "wrong-password"), ("999", "any-password")])
def test_register_with_a_wrong_password_or_unknown_user_is_refused(
    pbxes: PbxFactory, sipp: Sipp, number: str, password: str
) -> None:
    pbx = pbxes("a", PBX_A)
    pbx.add_extension("100", "secret-100")
    pbx.start()
    result = sipp.run(
        "register_refused.xml",
        local=(PHONE_1, free_port(PHONE_1)),
        remote=(pbx.host, pbx.port),
        fields=auth_fields(number, password),
    )
    result.assert_ok(pbx)
    assert pbx.bindings() == []
    assert password not in pbx.log_text()


def test_register_with_a_stale_nonce_is_challenged_again(pbxes: PbxFactory, sipp: Sipp) -> None:
    pbx = pbxes("a", PBX_A, extra_sip="nonce_ttl = 1")
    pbx.add_extension("100", "secret-100")
    pbx.start()
    result = sipp.run(
        "register_stale.xml",
        local=(PHONE_1, free_port(PHONE_1)),
        remote=(pbx.host, pbx.port),
        fields=auth_fields("100", "secret-100"),
    )
    result.assert_ok(pbx)
    assert registered(pbx, "100")


def register_phone(sipp: Sipp, pbx: Any, host: str, number: str, password: str) -> tuple[str, int]:
    """Register ``number`` from a fresh port; the answering SIPp then listens on that port."""
    port = free_port(host)
    sipp.run(
        "register.xml", local=(host, port), remote=(pbx.host, pbx.port), fields=auth_fields(number, password)
    ).assert_ok(pbx)
    return host, port


def place_call(
    sipp: Sipp,
    caller_pbx: Any,
    callee_pbx: Any,
    callee: tuple[str, int],
    caller: tuple[str, str, str],
    *,
    scenarios: tuple[str, str] = ("call.xml", "answer.xml"),
) -> None:
    """SIPp phone ``callee`` (already registered on ``callee_pbx``) waits with the second scenario
    while SIPp calls it through ``caller_pbx`` as (number, password, dialled) with the first;
    both must succeed."""
    caller_scenario, callee_scenario = scenarios
    waiting = sipp.start(callee_scenario, local=callee)
    sipp.run(
        caller_scenario,
        local=(PHONE_1, free_port(PHONE_1)),
        remote=(caller_pbx.host, caller_pbx.port),
        fields=auth_fields(*caller),
    ).assert_ok(caller_pbx)
    sipp.finish(waiting, callee_scenario).assert_ok(callee_pbx)


def test_call_between_two_extensions_with_bye(pbxes: PbxFactory, sipp: Sipp) -> None:
    pbx = pbxes("a", PBX_A)
    pbx.add_extension("100", "secret-100")
    pbx.add_extension("101", "secret-101")
    pbx.start()
    callee = register_phone(sipp, pbx, PHONE_2, "101", "secret-101")
    place_call(sipp, pbx, pbx, callee, ("100", "secret-100", "101"))
    record = final_call_record(pbx)
    assert (record["caller"], record["callee"], record["route"], record["disposition"]) == (
        "100",
        "101",
        "local",
        "answered",
    )
    assert record["duration"] > 0


def test_call_cancelled_while_ringing(pbxes: PbxFactory, sipp: Sipp) -> None:
    pbx = pbxes("a", PBX_A)
    pbx.add_extension("100", "secret-100")
    pbx.add_extension("101", "secret-101")
    pbx.start()
    callee = register_phone(sipp, pbx, PHONE_2, "101", "secret-101")
    place_call(
        sipp,
        pbx,
        pbx,
        callee,
        ("100", "secret-100", "101"),
        scenarios=("call_cancel.xml", "ring_cancelled.xml"),
    )
    record = final_call_record(pbx)
    assert (record["caller"], record["callee"], record["disposition"]) == ("100", "101", "cancelled")


def test_call_across_a_trunk_between_two_pbxd(pbxes: PbxFactory, sipp: Sipp) -> None:
    port_a, port_b = free_port(PBX_A), free_port(PBX_B)
    site_a = pbxes("a", PBX_A, port=port_a, trunks="")
    site_b = pbxes("b", PBX_B, port=port_b, trunks=trunk_table("site-a", site_a, r"1\\d\\d"))
    site_a.trunks = trunk_table("site-b", site_b, r"2\\d\\d")
    site_a.write_config()
    site_a.add_extension("100", "secret-100")
    site_b.add_extension("200", "secret-200")
    site_b.start()
    site_a.start()
    callee = register_phone(sipp, site_b, PHONE_2, "200", "secret-200")
    place_call(sipp, site_a, site_b, callee, ("100", "secret-100", "200"))
    at_a = final_call_record(site_a)
    assert (at_a["caller"], at_a["callee"], at_a["route"], at_a["disposition"]) == (
        "100",
        "200",
        "trunk:site-b",
        "answered",
    )
    at_b = final_call_record(site_b)
    assert (at_b["callee"], at_b["route"], at_b["disposition"]) == ("200", "local", "answered")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_registration_survives_a_pbxd_restart(
    pbxes: PbxFactory, sipp: Sipp, backend: str, request: pytest.FixtureRequest
) -> None:
    """What a cluster failover does to pbxd: a new process on the same database."""
    url = None if backend == "sqlite" else request.getfixturevalue("postgres_server").create_database()
    pbx = pbxes("a", PBX_A, database_url=url)
    pbx.add_extension("100", "secret-100")
    pbx.add_extension("101", "secret-101")
    pbx.start()
    callee = register_phone(sipp, pbx, PHONE_2, "101", "secret-101")
    assert pbx.stop() == 0
    pbx.start()
    assert "loaded 1 registrations from the database" in pbx.log_text()
    place_call(sipp, pbx, pbx, callee, ("100", "secret-100", "101"))
    assert final_call_record(pbx)["disposition"] == "answered"

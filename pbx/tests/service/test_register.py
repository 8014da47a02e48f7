"""REGISTER against a running PBX over real sockets: authentication, expiry, contacts."""

from __future__ import annotations

import asyncio

from pbxd.sip.message import Response

from .harness import free_port, make_config, running, store_with
from .phone import Phone, offered_algorithms

HOST = "127.0.0.21"


def run(coroutine: object) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 20))  # type: ignore[arg-type]


def test_register_with_right_password_binds_the_contact_and_writes_it_through() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001")
        async with running(make_config(HOST, port), store) as server:
            phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            first = await phone.transact(phone.new_request("REGISTER", f"sip:{HOST}"))
            assert first[-1].status == 401
            assert offered_algorithms(first[-1]) == ["MD5"]
            response = await phone.register(expires=600)
            assert response.status == 200
            contacts = response.get_all("contact")
            assert len(contacts) == 1 and f"{HOST}:{phone.port}" in contacts[0]
            assert "expires=600" in contacts[0] or "expires=599" in contacts[0]
            bindings = list(store.bindings.values())
            assert [(b.aor, b.source) for b in bindings] == [("1001", f"udp:{HOST}:{phone.port}")]
            assert [b.contact for b in server.registrar.lookup("1001")] == [bindings[0].contact]
            await phone.close()

    run(scenario())


def test_both_digest_algorithms_are_offered_when_configured_and_accepted() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        config = make_config(HOST, port, digest_algorithms=("SHA-256", "MD5"))
        async with running(config, store_with("1001")):
            phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            for algorithm in ("MD5", "SHA-256"):
                request = phone.new_request("REGISTER", f"sip:{HOST}")
                challenge = (await phone.transact(request))[-1]
                assert offered_algorithms(challenge) == ["SHA-256", "MD5"]
                answer = (await phone.transact(phone.authorize(request, challenge, algorithm=algorithm)))[-1]
                assert answer.status == 200, algorithm
            await phone.close()

    run(scenario())


def test_wrong_password_and_unknown_user_are_forbidden_and_nothing_is_bound() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001")
        async with running(make_config(HOST, port), store):
            wrong = await Phone("1001", "not-the-password", host=HOST, pbx=(HOST, port)).start()
            unknown = await Phone("1999", "whatever", host=HOST, pbx=(HOST, port)).start()
            assert (await wrong.register()).status == 403
            assert (await unknown.register()).status == 403
            assert store.bindings == {}
            await wrong.close()
            await unknown.close()

    run(scenario())


def test_stale_nonce_gets_a_new_challenge_with_stale_true() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port, nonce_ttl=1), store_with("1001")) as server:
            phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            request = phone.new_request("REGISTER", f"sip:{HOST}")
            challenge = (await phone.transact(request))[-1]
            server.auth.clock = lambda: server.registrar.clock() + 5  # the nonce is now too old
            stale = (await phone.transact(phone.authorize(request, challenge)))[-1]
            assert stale.status == 401
            assert all("stale=true" in value for value in stale.get_all("www-authenticate"))
            retry = phone.authorize(request, stale)
            retry.set("cseq", "5 REGISTER")
            assert (await phone.transact(retry))[-1].status == 200
            await phone.close()

    run(scenario())


def test_expires_zero_unregisters_and_star_removes_every_contact() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001")
        async with running(make_config(HOST, port), store) as server:
            desk = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            mobile = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            assert (await desk.register()).status == 200
            both = await mobile.register()
            assert both.status == 200 and len(both.get_all("contact")) == 2
            assert len(store.bindings) == 2
            assert (await desk.register(expires=0)).status == 200
            assert [b.contact for b in server.registrar.lookup("1001")] == [f"sip:1001@{HOST}:{mobile.port}"]
            star = await mobile.register(expires=0, extra=[("contact", "*")])
            assert star.status == 400  # "*" beside a real Contact is refused
            request = mobile.new_request("REGISTER", f"sip:{HOST}")
            request.remove("contact")
            request.headers += [("contact", "*"), ("expires", "0")]
            assert (await mobile.request_with_auth(request))[-1].status == 200
            assert store.bindings == {} and server.registrar.lookup("1001") == []
            await desk.close()
            await mobile.close()

    run(scenario())


def test_too_brief_interval_gets_423_with_min_expires_and_contact_param_wins() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            brief: Response = await phone.register(expires=10)
            assert brief.status == 423 and brief.get("min-expires") == "60"
            request = phone.new_request("REGISTER", f"sip:{HOST}")
            request.set("contact", f"{phone.contact};expires=120")
            request.headers.append(("expires", "10"))
            ok = (await phone.request_with_auth(request))[-1]
            assert ok.status == 200 and "expires=120" in (ok.get("contact") or "")
            binding = server.registrar.lookup("1001")[0]
            assert 110 < binding.expires_at - server.registrar.clock() <= 120
            await phone.close()

    run(scenario())


def test_out_of_order_cseq_on_the_same_call_id_is_refused() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")):
            phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            request = phone.new_request("REGISTER", f"sip:{HOST}", cseq=10)
            challenge = (await phone.transact(request))[-1]
            assert (await phone.transact(phone.authorize(request, challenge)))[-1].status == 200
            older = phone.authorize(request, challenge, nc=2)  # the nonce again, counted on
            older.set("cseq", "5 REGISTER")
            assert (await phone.transact(older))[-1].status == 500
            await phone.close()

    run(scenario())


def test_a_source_that_keeps_failing_is_throttled_even_with_the_right_password() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port, auth_failures_per_minute=3), store_with("1001")):
            wrong = await Phone("1001", "guess", host=HOST, pbx=(HOST, port)).start()
            for _ in range(4):
                assert (await wrong.register()).status == 403
            right = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            refused = await right.register()
            assert refused.status == 403 and "too many" in refused.reason
            await wrong.close()
            await right.close()

    run(scenario())


def test_register_over_tcp_reuses_the_connection() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001")
        async with running(make_config(HOST, port), store):
            phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port), transport="tcp").start()
            assert (await phone.register()).status == 200
            assert [b.source for b in store.bindings.values()] == [f"tcp:{HOST}:{phone.port}"]
            await phone.close()

    run(scenario())


def test_a_replayed_digest_answer_binds_nothing_but_a_counted_reuse_of_the_nonce_does() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001")
        async with running(make_config(HOST, port), store):
            phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            request = phone.new_request("REGISTER", f"sip:{HOST}")
            challenge = (await phone.transact(request))[-1]
            answered = phone.authorize(request, challenge)
            assert (await phone.transact(answered))[-1].status == 200

            # Someone who captured that REGISTER sends its Authorization again (Contact is not
            # covered by the digest) to take the extension's calls.
            replay = answered.copy()
            replay.set("via", phone.via())
            replay.set("cseq", "90 REGISTER")
            replay.set("contact", "<sip:1001@127.0.0.99:5099>")
            refused = (await phone.transact(replay))[-1]
            assert refused.status == 401
            assert all("stale=true" in value for value in refused.get_all("www-authenticate"))
            assert [b.contact for b in store.bindings.values()] == [phone.contact.strip("<>")]

            # The phone itself may reuse the nonce with a higher nonce count (RFC 7616 §3.4).
            again = phone.authorize(request, challenge, nc=2)
            again.set("cseq", "91 REGISTER")
            assert (await phone.transact(again))[-1].status == 200
            await phone.close()

    run(scenario())


def test_a_contact_registered_again_from_a_new_source_forgets_the_old_source() -> None:
    """A NAT that moves a phone to a new port: the old address is no longer one of ours."""

    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            before = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            after = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            contact = "<sip:1001@127.0.0.99:5099>"
            for phone in (before, after):
                request = phone.new_request("REGISTER", f"sip:{HOST}")
                request.set("contact", contact)
                assert (await phone.request_with_auth(request))[-1].status == 200
            registrar = server.registrar
            assert registrar.by_address(HOST, after.port) is not None
            assert registrar.by_address("127.0.0.99", 5099) is not None
            assert registrar.by_address(HOST, before.port) is None
            await before.close()
            await after.close()

    run(scenario())

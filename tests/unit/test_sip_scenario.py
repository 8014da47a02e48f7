"""The smoke test's order of checks and verdicts, driven by a scripted PBX (no sockets).

The scripted PBX checks digest answers with the real formula, so a wrong password fails here
as it does against pbxd; ``test_sip_check_pbxd.py`` runs the same scenario against real pbxd.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_message import (
    Message,
    digest_hash,
    ha1,
    parse_challenge,
    response_to,
)
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_phone import Address, Phone
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_scenario import (
    Exchange,
    Outcome,
    Report,
    Scenario,
    TrunkCall,
    smoke_test,
)

REALM = "pbx.test"
PBX_A = Address("127.0.0.41", 5060)
PBX_B = Address("127.0.0.42", 5060)


@dataclass
class ScriptedPbx:
    """Answers like a registrar and proxy; ``silent`` methods get no answer (a timeout)."""

    passwords: dict[str, str]
    phones: dict[str, Phone] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)
    refuse_invite: int | None = None
    sent: list[str] = field(default_factory=list)
    registered: dict[str, int] = field(default_factory=dict)

    def handle(self, exchange: Exchange) -> Outcome:
        request = exchange.request
        self.sent.append(request.method)
        if request.method in self.silent:
            return Outcome((), 5.0)
        if request.method in ("ACK", "OPTIONS"):
            return Outcome(() if request.method == "ACK" else (response_to(request, 200),), 0.001)
        if request.method == "BYE":
            callee = self.phones[request.uri.split(":")[1].split("@")[0]]
            return Outcome(tuple(callee.answer(request)), 0.002)
        header = "authorization" if request.method == "REGISTER" else "proxy-authorization"
        status = 401 if request.method == "REGISTER" else 407
        answer = request.get(header)
        if answer is None:
            challenge = response_to(request, status)
            challenge.headers.append(
                (
                    "www-authenticate" if status == 401 else "proxy-authenticate",
                    f'Digest realm="{REALM}", nonce="n1", qop="auth"',
                )
            )
            return Outcome((challenge,), 0.001)
        user = exchange.phone.number
        if not self._valid(answer, request, user):
            return Outcome((response_to(request, 403),), 0.001)
        if request.method == "REGISTER":
            self.registered[user] = int(request.get("expires") or 0)
            return Outcome((response_to(request, 200),), 0.001)
        if self.refuse_invite:
            return Outcome((response_to(request, self.refuse_invite),), 0.001)
        callee = self.phones[request.uri.split(":")[1].split("@")[0]]
        forwarded = Message(
            request.start_line,
            [("via", "SIP/2.0/UDP 127.0.0.41;branch=z9hG4bKfw"), *request.headers],
            request.body,
        )
        forwarded.headers.insert(1, ("record-route", "<sip:127.0.0.41:5060;lr>"))
        answers = callee.answer(forwarded)
        relayed = []
        for response in answers:
            relayed_response = Message(
                response.start_line,
                [h for h in response.headers if not h[1].endswith("z9hG4bKfw")],
                response.body,
            )
            relayed.append(relayed_response)
        return Outcome((response_to(request, 100), *relayed), 0.003)

    def _valid(self, answer: str, request: Message, user: str) -> bool:
        params = parse_challenge(answer)
        key = ha1("MD5", user, REALM, self.passwords[user])
        ha2 = digest_hash("MD5", f"{request.method}:{params['uri']}")
        expected = digest_hash("MD5", f"{key}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        return params["response"] == expected


def drive(scenario: Scenario, pbx: ScriptedPbx) -> None:
    try:
        exchange = next(scenario)
        while True:
            exchange = scenario.send(pbx.handle(exchange))
    except StopIteration:
        pass


def phones(pbx: ScriptedPbx, caller_password: str = "pw-190") -> tuple[Phone, Phone, Phone]:
    probe = Phone("options", "", Address("127.0.0.1", 4000), PBX_A)
    caller = Phone("190", caller_password, Address("127.0.0.1", 4001), PBX_A)
    callee = Phone("191", "pw-191", Address("127.0.0.1", 4002), PBX_A)
    pbx.phones.update({"190": caller, "191": callee})
    return probe, caller, callee


def test_every_check_passes_in_order_and_the_phones_unregister_at_the_end() -> None:
    pbx = ScriptedPbx({"190": "pw-190", "191": "pw-191", "290": "pw-290"})
    probe, caller, callee = phones(pbx)
    remote = Phone("290", "pw-290", Address("127.0.0.1", 4003), PBX_B)
    pbx.phones["290"] = remote
    report = Report()
    drive(
        smoke_test(
            report,
            probe=probe,
            caller=caller,
            callee=callee,
            trunk_calls=(TrunkCall("site-b", remote),),
            timeout=5,
        ),
        pbx,
    )
    assert report.ok, report.checks
    assert [c.name for c in report.checks] == [
        "OPTIONS 127.0.0.41:5060",
        "REGISTER 190 at 127.0.0.41:5060",
        "REGISTER 191 at 127.0.0.41:5060",
        "REGISTER 290 at 127.0.0.42:5060",
        "call 190 -> 191",
        "call 190 -> 290 across the trunk to site-b",
    ]
    assert report.checks[1].detail == "200 OK after a digest challenge"
    assert report.checks[4].detail.startswith("answered (ringing, 200 OK)")
    assert callee.received_methods() == ["INVITE", "BYE"]
    assert remote.received_methods() == ["INVITE", "BYE"]
    assert pbx.registered == {"190": 0, "191": 0, "290": 0}
    # the 407 of each INVITE is acknowledged, and each answered call gets its end-to-end ACK
    assert pbx.sent.count("ACK") == 4


def test_a_wrong_password_stops_at_the_registration_and_says_what_to_check() -> None:
    pbx = ScriptedPbx({"190": "pw-190", "191": "pw-191"})
    probe, caller, callee = phones(pbx, caller_password="wrong")
    report = Report()
    drive(smoke_test(report, probe=probe, caller=caller, callee=callee, timeout=5), pbx)
    assert not report.ok
    failure = report.first_failure
    assert failure is not None and failure.name == "REGISTER 190 at 127.0.0.41:5060"
    assert "403" in failure.detail and "vault password" in failure.detail
    assert "wrong" not in failure.detail
    assert "INVITE" not in pbx.sent
    assert pbx.registered == {}


def test_no_answer_to_options_says_to_check_the_role_and_registers_nobody() -> None:
    pbx = ScriptedPbx({"190": "pw-190", "191": "pw-191"}, silent={"OPTIONS"})
    probe, caller, callee = phones(pbx)
    report = Report()
    drive(smoke_test(report, probe=probe, caller=caller, callee=callee, timeout=2), pbx)
    assert [c.ok for c in report.checks] == [False]
    assert "no answer within 2 s" in report.checks[0].detail and "role online" in report.checks[0].detail
    assert pbx.sent == ["OPTIONS"]


def test_a_refused_call_is_acknowledged_reported_and_the_registrations_are_removed() -> None:
    pbx = ScriptedPbx({"190": "pw-190", "191": "pw-191"}, refuse_invite=480)
    probe, caller, callee = phones(pbx)
    report = Report()
    drive(smoke_test(report, probe=probe, caller=caller, callee=callee, timeout=5), pbx)
    failure = report.first_failure
    assert failure is not None and failure.name == "call 190 -> 191"
    assert "480" in failure.detail and "never received the INVITE" in failure.detail
    assert pbx.sent[-2:] == ["REGISTER", "REGISTER"] and pbx.registered == {"190": 0, "191": 0}
    assert pbx.sent.count("ACK") == 2  # the 407's and the 480's

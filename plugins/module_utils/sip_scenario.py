# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke test's steps, without I/O: what to send, what counts as a pass, what to tell the operator.

A scenario is a generator. It yields an ``Exchange`` (a phone sends a request and waits for the
final response) and is sent back an ``Outcome``; the transport (``sip_transport``) does the
sending, retransmits, and meanwhile lets the other phones answer what the PBX sends them. So the
order of the checks and their verdicts are tested here with scripted outcomes, and the sockets
are tested once, against real PBXes.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_message import Message
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_phone import Phone

# Registrations made by the test last this long if the final unregister is lost.
TEST_EXPIRES = 120


@dataclass(frozen=True)
class Exchange:
    phone: Phone
    request: Message
    # Wait for the callee's phone to have received this method before the outcome is returned
    # (the BYE's 200 can reach the caller a moment before the callee's socket is read).
    await_at: Phone | None = None
    await_method: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The responses to one request, up to the final one; ``final`` is None after a timeout."""

    responses: tuple[Message, ...]
    elapsed: float

    @property
    def final(self) -> Message | None:
        last = self.responses[-1] if self.responses else None
        return last if last is not None and last.status >= 200 else None


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    elapsed_ms: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "elapsed_ms": self.elapsed_ms}


@dataclass(frozen=True)
class TrunkCall:
    """A call from the local caller to a phone registered at another site's PBX."""

    site: str
    callee: Phone


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((check for check in self.checks if not check.ok), None)


Scenario = Generator[Exchange, Outcome, None]


def _describe(outcome: Outcome) -> str:
    final = outcome.final
    if final is None:
        got = ", ".join(str(r.status) for r in outcome.responses) or "nothing"
        return f"no final response within the timeout (got {got})"
    return f"{final.status} {final.reason}".strip()


def smoke_test(
    report: Report,
    *,
    probe: Phone,
    caller: Phone,
    callee: Phone,
    trunk_calls: tuple[TrunkCall, ...] = (),
    timeout: float,
) -> Scenario:
    """OPTIONS, two registrations, a local call answered and hung up, then one call per trunk.

    Stops at the first failure: every later step depends on the earlier ones. The phones that
    registered unregister at the end (a run that dies on the way leaves registrations that
    expire after TEST_EXPIRES seconds).
    """
    registered: list[Phone] = []
    yield from _checks(
        report,
        registered,
        probe=probe,
        caller=caller,
        callee=callee,
        trunk_calls=trunk_calls,
        timeout=timeout,
    )
    for phone in registered:
        yield from _authenticated(phone, phone.register(0))


def _checks(
    report: Report,
    registered: list[Phone],
    *,
    probe: Phone,
    caller: Phone,
    callee: Phone,
    trunk_calls: tuple[TrunkCall, ...],
    timeout: float,
) -> Scenario:
    outcome = yield Exchange(probe, probe.options())
    final = outcome.final
    answered = final is not None and final.status == 200
    detail = (
        _describe(outcome)
        if final is not None
        else f"no answer within {timeout:g} s: is the PBX role online and its IP address "
        f"{probe.server.host} reachable from the controller?"
    )
    report.checks.append(Check(f"OPTIONS {probe.server}", answered, detail, _ms(outcome)))
    if not answered:
        return
    for phone in (caller, callee, *(trunk.callee for trunk in trunk_calls)):
        if not (yield from _register(report, phone, timeout)):
            return
        registered.append(phone)
    if not (yield from _call(report, caller, callee, f"call {caller.number} -> {callee.number}", timeout)):
        return
    for trunk in trunk_calls:
        name = f"call {caller.number} -> {trunk.callee.number} across the trunk to {trunk.site}"
        if not (yield from _call(report, caller, trunk.callee, name, timeout)):
            return


def _ms(outcome: Outcome) -> int:
    return round(outcome.elapsed * 1000)


def _authenticated(
    phone: Phone, request: Message
) -> Generator[Exchange, Outcome, tuple[Message, Outcome, int]]:
    """Send ``request``, answering one digest challenge; the request last sent, its outcome, and
    the first status (401/407 when a challenge was answered)."""
    outcome = yield Exchange(phone, request)
    final = outcome.final
    first = final.status if final is not None else 0
    if final is not None and final.status in (401, 407):
        if request.method == "INVITE":
            yield from _send_only(phone, phone.ack_failure(request, final))
        request = phone.authorize(request, final)
        retry = yield Exchange(phone, request)
        outcome = Outcome(outcome.responses + retry.responses, outcome.elapsed + retry.elapsed)
    return request, outcome, first


def _send_only(phone: Phone, request: Message) -> Generator[Exchange, Outcome, None]:
    """ACKs have no response: the transport sends them and returns at once."""
    yield Exchange(phone, request)


def register(report: Report, phone: Phone, timeout: float, expires: int = TEST_EXPIRES) -> Scenario:
    """One registration with digest, as its own scenario (the failover watch registers phones
    for the length of a drill)."""
    yield from _register(report, phone, timeout, expires)


def unregister(phones: list[Phone]) -> Scenario:
    for phone in phones:
        yield from _authenticated(phone, phone.register(0))


def call(report: Report, caller: Phone, callee: Phone, name: str, timeout: float) -> Scenario:
    """One call answered and hung up, as its own scenario."""
    yield from _call(report, caller, callee, name, timeout)


def _register(
    report: Report, phone: Phone, timeout: float, expires: int = TEST_EXPIRES
) -> Generator[Exchange, Outcome, bool]:
    _request, outcome, first = yield from _authenticated(phone, phone.register(expires))
    final = outcome.final
    name = f"REGISTER {phone.number} at {phone.server}"
    if final is not None and final.status == 200:
        detail = "200 OK after a digest challenge" if first in (401, 407) else "200 OK without a challenge"
        report.checks.append(Check(name, True, detail, _ms(outcome)))
        return True
    if final is None:
        detail = f"no final response within {timeout:g} s"
    elif final.status in (401, 403, 407):
        detail = (
            f"{_describe(outcome)}: the PBX refused the password; check that extension {phone.number} "
            "exists and that its vault password is the one the PBX's digest hash was made from"
        )
    else:
        detail = _describe(outcome)
    report.checks.append(Check(name, False, detail, _ms(outcome)))
    return False


def _call(
    report: Report, caller: Phone, callee: Phone, name: str, timeout: float
) -> Generator[Exchange, Outcome, bool]:
    invite, outcome, _first = yield from _authenticated(caller, caller.invite(callee.number))
    final = outcome.final
    statuses = [r.status for r in outcome.responses]
    if final is None or final.status != 200:
        if final is not None:
            yield from _send_only(caller, caller.ack_failure(invite, final))
        hint = (
            f"no final response within {timeout:g} s"
            if final is None
            else f"{_describe(outcome)}; the callee's phone "
            + (
                "received the INVITE"
                if "INVITE" in callee.received_methods()
                else "never received the INVITE"
            )
        )
        report.checks.append(Check(name, False, hint, _ms(outcome)))
        return False
    dialog, ack = caller.confirm(invite, final)
    yield from _send_only(caller, ack)
    bye = yield Exchange(caller, caller.bye(dialog), await_at=callee, await_method="BYE")
    ended = bye.final is not None and bye.final.status == 200 and "BYE" in callee.received_methods()
    ringing = "ringing, " if 180 in statuses else ""
    detail = (
        f"answered ({ringing}200 OK) in {_ms(outcome)} ms and ended (BYE 200 OK)"
        if ended
        else f"answered, but the BYE got {_describe(bye)} and the callee "
        + ("received it" if "BYE" in callee.received_methods() else "never received it")
    )
    report.checks.append(Check(name, ended, detail, _ms(outcome) + _ms(bye)))
    return ended

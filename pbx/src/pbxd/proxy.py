"""The stateful proxy (RFC 3261 §16): calls between extensions and across trunks.

A new INVITE is authenticated (407) unless it comes from a trusted trunk peer, routed by the
dial plan, and forked in parallel to every registered contact of the callee (or sent over the
trunk). The PBX record-routes, so BYEs and re-INVITEs of answered calls pass through it; those
are routed by their Route header and Request-URI only, not by memory of the call, so an answered
call survives a failover of the PBX. CANCEL, ring timeout and best-response selection (§16.7)
live here; call detail records are fed from here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from pbxd.auth import Authenticator, Hashes
from pbxd.cdr import CallRecorder
from pbxd.config import SipSettings
from pbxd.dialplan import DialPlan, Reject, ToExtension, ToTrunk
from pbxd.endpoint import Endpoint, Incoming, Outgoing
from pbxd.identity import LocalAddresses
from pbxd.registrar import Registrar
from pbxd.sip import digest
from pbxd.sip.message import Request, Response, make_response, new_tag, parse_via
from pbxd.sip.transaction import State
from pbxd.sip.uri import SipUri, UriError, parse_name_addr, parse_port, parse_uri
from pbxd.store.base import Binding
from pbxd.transport import Peer
from pbxd.trunks import Trunks, TrunkState

log = logging.getLogger("pbxd.proxy")

# Statuses that tell the caller how to resubmit: preferred within the 4xx class (§16.7 step 6).
_INFORMATIVE_4XX = (401, 407, 415, 420, 484, 486)


@dataclass(slots=True, eq=False)
class Branch:
    """One forwarded copy of the INVITE."""

    request: Request
    dest: Peer
    trunk: TrunkState | None = None
    outgoing: Outgoing | None = None
    final: Response | None = None
    done: bool = False
    cancel_wanted: bool = False
    cancelled: bool = False
    auth_retried: bool = False


@dataclass(slots=True, eq=False)
class CallAttempt:
    """One INVITE server transaction and its branches."""

    incoming: Incoming
    branches: list[Branch] = field(default_factory=list)
    answered: bool = False
    cancelled: bool = False
    finished: bool = False
    ring_timer: asyncio.TimerHandle | None = None

    @property
    def call_id(self) -> str:
        return self.incoming.request.call_id


class Proxy:
    def __init__(
        self,
        *,
        settings: SipSettings,
        endpoint: Endpoint,
        registrar: Registrar,
        auth: Authenticator,
        dialplan: DialPlan,
        trunks: Trunks,
        recorder: CallRecorder,
        local: LocalAddresses,
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.registrar = registrar
        self.auth = auth
        self.dialplan = dialplan
        self.trunks = trunks
        self.recorder = recorder
        self.local = local
        self._attempts: dict[tuple[str, ...], CallAttempt] = {}
        self._re_invites: dict[tuple[str, ...], Branch] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def attempts_in_progress(self) -> int:
        return len(self._attempts)

    async def stop(self) -> None:
        for attempt in self._attempts.values():
            if attempt.ring_timer is not None:
                attempt.ring_timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        self._attempts.clear()
        self._re_invites.clear()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- entry points (called by the router) ---------------------------------------------------
    def on_request(self, incoming: Incoming) -> None:
        request = incoming.request
        try:
            parse_uri(request.uri)
        except UriError as error:
            self.endpoint.respond(
                incoming, make_response(request, 400, f"Bad Request (Request-URI: {error})")
            )
            return
        rejection = self._check_forwardable(request)
        if rejection is not None:
            self.endpoint.respond(incoming, rejection)
            return
        popped = self._pop_own_route(request)
        if request.tag("to") is not None:
            self._forward_in_dialog(incoming, popped)
        elif request.method == "INVITE":
            early = self._precheck(incoming)
            if early is not None:
                self.endpoint.respond(incoming, early)
                return
            attempt = CallAttempt(incoming)
            self._attempts[incoming.key] = attempt
            self._spawn(self._start_call(attempt))
        else:
            response = make_response(request, 405, to_tag=new_tag(), extra=[("allow", ALLOW)])
            self.endpoint.respond(incoming, response)

    def _precheck(self, incoming: Incoming) -> Response | None:
        """A challenge or refusal decided without the database (see Authenticator.precheck)."""
        trunk = self.trunks.from_source(incoming.source.host)
        if trunk is not None and trunk.config.username is None:
            return None  # a trusted peer without digest
        return self.auth.precheck(incoming.request, incoming.source.host, proxy=True)

    def on_cancel(self, cancel: Incoming, invite: Incoming | None) -> None:
        if invite is None:
            self.endpoint.respond(cancel, make_response(cancel.request, 481, to_tag=new_tag()))
            return
        self.endpoint.respond(cancel, make_response(cancel.request, 200, to_tag=new_tag()))
        attempt = self._attempts.get(invite.key)
        if attempt is None:
            re_invite = self._re_invites.get(invite.key)
            if re_invite is not None:
                # The callee answers the re-INVITE 487, and that answer is relayed.
                self._cancel_branch(re_invite)
            elif invite.tx.state is State.PROCEEDING:
                self.endpoint.respond(invite, make_response(invite.request, 487, to_tag=new_tag()))
            return
        attempt.cancelled = True
        self._cancel_branches(attempt)
        self._finish(attempt, make_response(invite.request, 487, to_tag=new_tag()))

    def on_ack(self, ack: Request, source: Peer) -> None:
        """An ACK for a 2xx: end-to-end, forwarded statelessly along its route."""
        if self._check_forwardable(ack) is not None:
            return
        popped = self._pop_own_route(ack)
        allowed = popped or self._addressed_to_us(ack) or self._for_our_phone(ack)
        dest = self._in_dialog_destination(ack) if allowed else None
        if dest is None:
            log.debug("dropped an ACK with nowhere to go: %s", ack)
            return
        forwarded = ack.copy()
        self._decrement_max_forwards(forwarded)
        # A stateless forward derives its branch from the incoming one (§16.11).
        incoming_branch = ack.top_via.branch
        branch = "z9hG4bK" + hashlib.sha256(incoming_branch.encode()).hexdigest()[:16]
        forwarded.prepend("via", self.endpoint.via(dest.transport, branch))
        self.endpoint.send_stateless(forwarded, dest)

    def on_stray_response(self, response: Response, source: Peer) -> None:
        """A response without a client transaction: a retransmitted 2xx for an INVITE whose
        transaction has ended. Forward it along the Via path if the top Via is ours."""
        if response.status < 200 or response.status >= 300 or response.cseq[1] != "INVITE":
            return
        vias = response.get_all("via")
        if len(vias) < 2 or not self.local.is_own_via(vias[0]):
            return
        forwarded = response.copy()
        forwarded.pop_first("via")
        next_via = parse_via(vias[1])
        host = next_via.params.get("received") or next_via.host
        rport = next_via.params.get("rport")
        port = (parse_port(rport) if rport else None) or next_via.port or 5060
        self.endpoint.send_stateless(forwarded, Peer(next_via.transport.lower(), host, port))

    # --- checks shared by every forwarded request ------------------------------------------------
    def _check_forwardable(self, request: Request) -> Response | None:
        max_forwards = _max_forwards(request)
        if max_forwards <= 0:
            return make_response(request, 483, to_tag=new_tag())
        if self.local.in_via(request):
            return make_response(request, 482, to_tag=new_tag())
        return None

    def _pop_own_route(self, request: Request) -> bool:
        """Remove the top Routes that name this PBX (§16.4; two when it record-routed twice
        between transports, RFC 5658); True if it removed any."""
        popped = False
        while (route := request.get("route")) is not None:
            try:
                uri = parse_name_addr(route).uri
            except UriError:
                break
            if not self.local.is_local(uri):
                break
            request.pop_first("route")
            popped = True
        return popped

    @staticmethod
    def _decrement_max_forwards(request: Request) -> None:
        request.set("max-forwards", str(_max_forwards(request) - 1))

    # --- in-dialog requests (BYE, re-INVITE, ...) ------------------------------------------------
    def _in_dialog_destination(self, request: Request) -> Peer | None:
        route = request.get("route")
        try:
            if route is not None:
                return _uri_peer(parse_name_addr(route).uri)
            target = parse_uri(request.uri)
        except UriError:
            return None
        if not self.local.is_local(target):
            return _uri_peer(target)
        # A phone that ignored our Record-Route (SIPp's built-in UAC does): route by number.
        bindings = self.registrar.lookup(target.user or "")
        if bindings:
            binding = bindings[0]
            request.uri = binding.contact
            return self._binding_peer(binding)
        return None

    def _forward_in_dialog(self, incoming: Incoming, popped_own_route: bool) -> None:
        request = incoming.request
        if not popped_own_route and not self._addressed_to_us(request) and not self._for_our_phone(request):
            # Neither routed through us, nor addressed to us or one of our phones: no open relay.
            self.endpoint.respond(incoming, make_response(request, 403, "Forbidden (not routed here)"))
            return
        dest = self._in_dialog_destination(request)
        if dest is None:
            self.endpoint.respond(incoming, make_response(request, 481))
            return
        if request.method == "BYE":
            self.recorder.ended(request.call_id)
        forwarded = request.copy()
        self._decrement_max_forwards(forwarded)
        forwarded.prepend("via", self.endpoint.via(dest.transport))

        # A re-INVITE is remembered while unanswered, so that its CANCEL can follow it.
        branch = Branch(forwarded, dest)

        def relay(response: Response) -> None:
            if response.status >= 200:
                self._re_invites.pop(incoming.key, None)
            elif branch.cancel_wanted and not branch.cancelled:
                self._send_cancel(branch)
            if response.status == 100:
                return
            upstream = response.copy()
            upstream.pop_first("via")
            self.endpoint.respond(incoming, upstream)

        def timed_out() -> None:
            self._re_invites.pop(incoming.key, None)
            self.endpoint.respond(incoming, make_response(request, 408, to_tag=new_tag()))

        branch.outgoing = self.endpoint.send_request(forwarded, dest, relay, timed_out)
        if request.method == "INVITE" and not branch.outgoing.tx.terminated:
            self._re_invites[incoming.key] = branch

    def _for_our_phone(self, request: Request) -> bool:
        """A request without Route sent to a registered phone's contact: a UAS that did not
        copy our Record-Route into its 2xx (SIPp's built-in uas) makes callers do this."""
        if request.get("route") is not None:
            return False
        try:
            target = parse_uri(request.uri)
        except UriError:
            return False
        return self.registrar.by_address(target.host, target.port or 5060) is not None

    def _addressed_to_us(self, request: Request) -> bool:
        try:
            return self.local.is_local(parse_uri(request.uri))
        except UriError:
            return False

    # --- new calls --------------------------------------------------------------------------------
    async def _start_call(self, attempt: CallAttempt) -> None:
        try:
            await self._route_call(attempt)
        except Exception:
            log.exception("failed to route %s", attempt.incoming.request)
            self._finish(attempt, make_response(attempt.incoming.request, 500, to_tag=new_tag()))

    async def _route_call(self, attempt: CallAttempt) -> None:
        incoming = attempt.incoming
        request = incoming.request
        trunk = self.trunks.from_source(incoming.source.host)
        caller = _user_of(request.get("from"))
        if trunk is None or trunk.config.username is not None:
            lookup = None
            if trunk is not None:
                hashes = trunk.hashes(self.auth.realm)

                async def lookup_trunk(username: str) -> Hashes | None:
                    return hashes if username == trunk.config.username else None

                lookup = lookup_trunk
            outcome = await self.auth.authenticate(request, incoming.source.host, proxy=True, lookup=lookup)
            if outcome.reject is not None:
                self._finish(attempt, outcome.reject, record=False)
                return
            if trunk is None and outcome.username != caller:
                self._finish(
                    attempt, make_response(request, 403, "Forbidden (From is not you)"), record=False
                )
                return
        if attempt.finished:
            return  # cancelled while authenticating
        try:
            number = parse_uri(request.uri).user or ""
        except UriError:
            number = ""
        extension = await self.auth.extension(number)
        if attempt.finished:
            return  # cancelled while the database answered
        decision = self.dialplan.route(
            number, is_extension=extension is not None and extension.enabled, from_trunk=trunk is not None
        )
        if isinstance(decision, ToTrunk):
            self._call_trunk(attempt, caller, decision)
            return
        callee = decision.number if isinstance(decision, ToExtension) else number
        self.recorder.started(attempt.call_id, caller, callee, "local")
        if isinstance(decision, Reject):
            self._finish(attempt, make_response(request, decision.status, decision.reason, to_tag=new_tag()))
            return
        if decision.number != number:
            extension = await self.auth.extension(decision.number)
            if attempt.finished:
                return  # cancelled while the database answered: _finish recorded it
        if extension is None or not extension.enabled:
            self._finish(attempt, make_response(request, 404, to_tag=new_tag()))
            return
        bindings = self.registrar.lookup(decision.number)
        if not bindings:
            self._finish(attempt, make_response(request, 480, to_tag=new_tag()))
            return
        for binding in bindings:
            self._add_branch(attempt, binding.contact, self._binding_peer(binding), None)
        self._start_ring_timer(attempt)

    def _call_trunk(self, attempt: CallAttempt, caller: str, decision: ToTrunk) -> None:
        request = attempt.incoming.request
        state = self.trunks[decision.trunk]
        self.recorder.started(attempt.call_id, caller, decision.number, f"trunk:{state.name}")
        if not state.up:
            self._finish(
                attempt, make_response(request, 503, f"Service Unavailable (trunk {state.name} is down)")
            )
            return
        self._add_branch(attempt, state.request_uri(decision.number), state.peer, state)
        self._start_ring_timer(attempt)

    def _binding_peer(self, binding: Binding) -> Peer:
        """Send to where the REGISTER came from (NAT, RFC 3581); over TCP, reuse its connection
        if still open, else connect to the contact address."""
        transport, _, rest = binding.source.partition(":")
        host, _, port = rest.rpartition(":")
        if transport == "tcp" and (host, int(port)) not in self.endpoint.transports.connections:
            try:
                return _uri_peer(parse_uri(binding.contact))
            except UriError:
                pass
        return Peer(transport, host, int(port))

    def _start_ring_timer(self, attempt: CallAttempt) -> None:
        loop = asyncio.get_running_loop()
        attempt.ring_timer = loop.call_later(self.settings.ring_timeout, self._ring_timeout, attempt)

    def _ring_timeout(self, attempt: CallAttempt) -> None:
        if attempt.finished:
            return
        log.info("call %s rang for %d s unanswered", attempt.call_id, self.settings.ring_timeout)
        self._cancel_branches(attempt)
        self._finish(attempt, make_response(attempt.incoming.request, 408, to_tag=new_tag()))

    # --- branches --------------------------------------------------------------------------------
    def _add_branch(self, attempt: CallAttempt, uri: str, dest: Peer, trunk: TrunkState | None) -> None:
        original = attempt.incoming.request
        forwarded = original.copy()
        forwarded.uri = uri
        self._decrement_max_forwards(forwarded)
        inbound = attempt.incoming.source.transport
        if inbound != dest.transport:
            # Double record-routing (RFC 5658): the caller reaches us on its transport, the
            # callee on its own. The caller's route set is the reverse, so its entry goes below.
            forwarded.prepend("record-route", self._record_route(inbound))
        forwarded.prepend("record-route", self._record_route(dest.transport))
        forwarded.prepend("via", self.endpoint.via(dest.transport))
        # Credentials for this PBX's realm were consumed here; they mean nothing downstream.
        forwarded.headers = [
            (name, value)
            for name, value in forwarded.headers
            if name != "proxy-authorization" or not self._for_our_realm(value)
        ]
        branch = Branch(forwarded, dest, trunk)
        attempt.branches.append(branch)
        self._send_branch(attempt, branch)

    def _for_our_realm(self, credentials: str) -> bool:
        """Whether Proxy-Authorization ``credentials`` answer this PBX's challenge (the realm
        compared as parsed: quoted or not, as the authenticator accepted it)."""
        return digest.parse_auth_params(credentials)[1].get("realm") == self.auth.realm

    def _record_route(self, transport: str) -> str:
        host, port = self.endpoint.transports.advertised(transport)
        parameter = ";transport=tcp" if transport == "tcp" else ""
        return f"<sip:{host}:{port}{parameter};lr>"

    def _send_branch(self, attempt: CallAttempt, branch: Branch) -> None:
        branch.outgoing = self.endpoint.send_request(
            branch.request,
            branch.dest,
            lambda response: self._on_branch_response(attempt, branch, response),
            lambda: self._on_branch_timeout(attempt, branch),
            timer_c=max(180.0, self.settings.ring_timeout + 5.0),
        )

    def _on_branch_response(self, attempt: CallAttempt, branch: Branch, response: Response) -> None:
        status = response.status
        if status < 200:
            if branch.cancel_wanted and not branch.cancelled:
                self._send_cancel(branch)
            if status > 100 and not attempt.finished:
                self._relay(attempt, response)
            return
        branch.done = True
        if status < 300:
            self._relay(attempt, response)
            if not attempt.answered and not attempt.cancelled:
                attempt.answered = True
                self.recorder.answered(attempt.call_id)
                self._cancel_branches(attempt, except_branch=branch)
                self._close(attempt)
            return
        branch.final = response
        if status in (401, 407) and self._retry_with_credentials(attempt, branch, response):
            return
        if status >= 600:
            self._cancel_branches(attempt)
        self._maybe_finish(attempt)

    def _on_branch_timeout(self, attempt: CallAttempt, branch: Branch) -> None:
        branch.done = True
        self._maybe_finish(attempt)

    def _relay(self, attempt: CallAttempt, response: Response) -> None:
        upstream = response.copy()
        upstream.pop_first("via")
        incoming = attempt.incoming
        if incoming.tx.state in (State.PROCEEDING, State.ACCEPTED):
            self.endpoint.respond(incoming, upstream)
        elif 200 <= response.status < 300:
            # The caller already has a final answer (a CANCEL raced this 2xx): pass it on so
            # the caller can ACK and hang up that dialog.
            self.endpoint.send_stateless(upstream, incoming.reply_to)

    def _retry_with_credentials(self, attempt: CallAttempt, branch: Branch, response: Response) -> bool:
        """A trunk peer challenged us: answer once with the trunk's credentials."""
        trunk = branch.trunk
        if trunk is None or branch.auth_retried or attempt.finished:
            return False
        username, password = trunk.config.username, trunk.config.password
        header = "proxy-authenticate" if response.status == 407 else "www-authenticate"
        # One challenge per algorithm, the peer's preferred first (RFC 8760 §2.4): answer the
        # first one this PBX can compute.
        challenge = next((c for c in response.get_all(header) if _answerable(c)), None)
        if username is None or password is None or challenge is None:
            return False
        retry = branch.request.copy()
        retry.pop_first("via")
        retry.prepend("via", self.endpoint.via(branch.dest.transport))
        # Same CSeq: the number belongs to the caller's dialog, and a higher one reaching the
        # callee would make the caller's next in-dialog request look out of order there.
        answer = digest.authorization(
            challenge_value=challenge,
            method="INVITE",
            uri=retry.uri,
            username=username,
            password=password,
            cnonce=secrets.token_hex(8),
        )
        retry.set("proxy-authorization" if response.status == 407 else "authorization", answer)
        retried = Branch(retry, branch.dest, branch.trunk, auth_retried=True)
        attempt.branches.remove(branch)
        attempt.branches.append(retried)
        self._send_branch(attempt, retried)
        return True

    def _cancel_branches(self, attempt: CallAttempt, except_branch: Branch | None = None) -> None:
        for branch in attempt.branches:
            if branch is except_branch or branch.done or branch.cancel_wanted:
                continue
            self._cancel_branch(branch)

    def _cancel_branch(self, branch: Branch) -> None:
        """CANCEL now if the branch has had a provisional response, else once it has one
        (§9.1: a CANCEL may overtake its INVITE)."""
        branch.cancel_wanted = True
        if branch.outgoing is not None and branch.outgoing.tx.provisional_seen:
            self._send_cancel(branch)

    def _send_cancel(self, branch: Branch) -> None:
        """CANCEL a branch (§9.1): same Request-URI, Call-ID, From, To, CSeq number and top Via."""
        branch.cancelled = True
        invite = branch.request
        headers = [("via", invite.get("via") or "")]
        headers += [
            (k, v) for k, v in invite.headers if k in ("route", "from", "to", "call-id", "max-forwards")
        ]
        headers.append(("cseq", f"{invite.cseq[0]} CANCEL"))
        cancel = Request("CANCEL", invite.uri, headers)
        self.endpoint.send_request(cancel, branch.dest, lambda response: None)
        outgoing = branch.outgoing
        if outgoing is not None:
            outgoing.tx.give_up_by(self.endpoint.now() + 64 * self.endpoint.timers.t1)
            self.endpoint.adjust_deadline(outgoing)

    # --- final answers ---------------------------------------------------------------------------
    def _maybe_finish(self, attempt: CallAttempt) -> None:
        if attempt.finished or not all(branch.done for branch in attempt.branches):
            return
        best = self._best_response(attempt)
        self._finish(attempt, best)

    def _best_response(self, attempt: CallAttempt) -> Response:
        """RFC 3261 §16.7 step 6: a 6xx if any, else the lowest class, preferring statuses
        that help the caller; 503 becomes 500; no answer at all becomes 408."""
        finals = [b.final for b in attempt.branches if b.final is not None]
        request = attempt.incoming.request
        if not finals:
            return make_response(request, 408, to_tag=new_tag())
        six = [r for r in finals if r.status >= 600]
        if six:
            chosen = six[0]
        else:
            lowest = min(r.status // 100 for r in finals)
            candidates = [r for r in finals if r.status // 100 == lowest]
            preferred = [r for s in _INFORMATIVE_4XX for r in candidates if r.status == s]
            chosen = preferred[0] if preferred else min(candidates, key=lambda r: r.status)
        upstream = chosen.copy()
        upstream.pop_first("via")
        if upstream.status == 503:
            upstream.status, upstream.reason = 500, "Server Internal Error"
        return upstream

    def _finish(self, attempt: CallAttempt, response: Response, *, record: bool = True) -> None:
        """Send the final non-2xx answer to the caller and close the attempt."""
        if attempt.finished:
            return
        if attempt.incoming.tx.state is State.PROCEEDING:
            self.endpoint.respond(attempt.incoming, response)
        if record:
            self.recorder.failed(attempt.call_id, response.status)
        self._close(attempt)

    def _close(self, attempt: CallAttempt) -> None:
        attempt.finished = True
        # The branches' transactions live on for 32 s (absorbing retransmissions, passing on
        # late 2xx, sending a pending CANCEL): they need no more than the forwarded request's
        # identity and route.
        for branch in attempt.branches:
            branch.request = branch.request.skeleton()
        attempt.branches = []
        if attempt.ring_timer is not None:
            attempt.ring_timer.cancel()
            attempt.ring_timer = None
        self._attempts.pop(attempt.incoming.key, None)


# New requests the PBX handles, plus those it passes along inside calls. Other new requests
# (MESSAGE, SUBSCRIBE, ...) get 405 with this list.
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, NOTIFY, REFER"


def _uri_peer(uri: SipUri) -> Peer:
    default = 5061 if uri.scheme == "sips" else 5060
    return Peer(uri.transport if uri.transport in ("udp", "tcp") else "udp", uri.host, uri.port or default)


def _answerable(challenge: str) -> bool:
    """A Digest challenge in an algorithm this PBX supports, with a realm and a nonce."""
    scheme, params = digest.parse_auth_params(challenge)
    algorithm = params.get("algorithm", "MD5").upper().removesuffix("-SESS")
    return (
        scheme == "digest"
        and algorithm in digest.SUPPORTED_ALGORITHMS
        and "realm" in params
        and "nonce" in params
    )


def _max_forwards(request: Request) -> int:
    """Max-Forwards (70 when absent, RFC 3261 §16.6 step 3); the parser has checked its digits."""
    value = request.get("max-forwards")
    return 70 if value is None else int(value.strip())


def _user_of(value: str | None) -> str:
    try:
        return parse_name_addr(value or "").uri.user or ""
    except UriError:
        return ""

"""The stateful proxy (RFC 3261 §16): calls between extensions and across trunks.

A new INVITE is authenticated (407, sent statelessly) unless it comes from a trunk peer trusted
by its address, routed by the dial plan, and forked in parallel to every registered contact of
the callee (or sent over the trunk). The PBX record-routes, so BYEs and re-INVITEs of answered
calls pass through it; those are routed by their Route header and Request-URI only, not by
memory of the call, so an answered call survives a failover of the PBX. The Record-Route is
signed (``pbxd.routesign``) and only requests whose Route carries a valid signature are relayed
to other hosts. CANCEL, ring timeout and best-response selection (§16.7) live here; call detail
records are fed from here.

Loops are told from spirals as RFC 3261 §16.3 item 4 says: the branch of every Via the PBX
writes starts with a hash of the fields that identify the request as received (§16.6 item 8),
and a request that comes back is a loop only if it still hashes the same.
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
from pbxd.cdr import CallKey, CallRecorder
from pbxd.config import SipSettings
from pbxd.dialplan import DialPlan, Reject, ToExtension, ToTrunk
from pbxd.endpoint import Endpoint, Incoming, Outgoing, ignore_timeout
from pbxd.identity import LocalAddresses
from pbxd.registrar import Registrar
from pbxd.routesign import Grant, RouteSigner
from pbxd.sip import digest, randomness
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
    record_routes: tuple[str, ...] = ()  # the Record-Route values this PBX added
    cseq_offset: int = 0  # how much higher the CSeq is than the caller's (a trunk's challenge)
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
    loop_hash: str
    branches: list[Branch] = field(default_factory=list)
    answered: bool = False
    cancelled: bool = False
    finished: bool = False
    ring_timer: asyncio.TimerHandle | None = None
    # Branches a CANCEL (or the ring timeout) found unfinished: until each has its final
    # response, a 2xx may still come (the callee answered as the CANCEL crossed), so the record
    # waits for them; then the call is recorded as failed with ``unsettled_status``.
    unsettled: list[Branch] = field(default_factory=list)
    unsettled_status: int = 487
    # The call record's key (Call-ID, caller's tag), taken while the request is whole: once
    # answered, the server transaction keeps only a label of it.
    key: CallKey = field(init=False)

    def __post_init__(self) -> None:
        request = self.incoming.request
        self.key = (request.call_id, request.tag("from") or "")

    @property
    def call_id(self) -> str:
        return self.key[0]


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
        # Replaced by the key the cluster shares (``use_route_key``) before the PBX serves.
        self.signer = RouteSigner(secrets.token_bytes(32))

    def use_route_key(self, key: bytes) -> None:
        """Sign and check Record-Routes with ``key`` (from the database: every node has it)."""
        self.signer = RouteSigner(key)
        self.auth.set_challenge_tag(key)
        # The endpoint recognises the ACKs and the would-be dialogs of challenges by it.
        self.endpoint.stateless_tag = self.auth.challenge_tag

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
        loop_hash = loop_hash_of(request)
        rejection = self._check_forwardable(request, loop_hash)
        if rejection is not None:
            self.endpoint.respond(incoming, rejection)
            return
        popped = self._pop_own_route(request)
        if request.tag("to") is not None:
            self._forward_in_dialog(incoming, popped, loop_hash)
        elif request.method == "INVITE":
            if self._precheck(incoming):
                return
            attempt = CallAttempt(incoming, loop_hash)
            self._attempts[incoming.key] = attempt
            self._spawn(self._start_call(attempt))
        else:
            response = make_response(request, 405, to_tag=new_tag(), extra=[("allow", ALLOW)])
            self.endpoint.respond(incoming, response)

    def _precheck(self, incoming: Incoming) -> bool:
        """Answer statelessly what needs no database (see Authenticator.precheck); True if
        that settled the request."""
        trunk = self.trunks.from_source(incoming.source.host)
        if trunk is not None and trunk.trusted_by_address:
            return False
        early = self.auth.precheck(incoming.request, (incoming.source.host, incoming.source.port), proxy=True)
        if early is None:
            return False
        self.endpoint.respond_statelessly(incoming, early.response)
        return True

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
        self._give_up(attempt, make_response(invite.request, 487, to_tag=new_tag()))

    def _give_up(self, attempt: CallAttempt, response: Response) -> None:
        """Cancel every branch and answer the caller ``response``; the record waits until no
        branch can answer any more (``_settle``)."""
        self._cancel_branches(attempt)
        unsettled = [branch for branch in attempt.branches if not branch.done]
        self._finish(attempt, response, record=not unsettled)
        attempt.unsettled, attempt.unsettled_status = unsettled, response.status

    def on_ack(self, ack: Request, source: Peer) -> None:
        """An ACK for a 2xx: end-to-end, forwarded statelessly along its route."""
        loop_hash = loop_hash_of(ack)
        if self._check_forwardable(ack, loop_hash) is not None:
            return
        popped = self._pop_own_route(ack)
        grant = self._grant(ack, popped) if popped else None
        allowed = grant is not None or (not popped and self._for_us_unrouted(ack))
        dest = self._in_dialog_destination(ack) if allowed else None
        if dest is None:
            log.debug("dropped an ACK with nowhere to go: %s", ack)
            return
        forwarded = ack.copy()
        self._decrement_max_forwards(forwarded)
        _shift_cseq(forwarded, _offset_for(grant, ack))
        # A stateless forward derives its branch from the incoming one (§16.11).
        incoming_branch = ack.top_via.branch
        unique = hashlib.sha256(incoming_branch.encode()).hexdigest()[:16]
        forwarded.prepend("via", self.endpoint.via(dest.transport, f"z9hG4bK{loop_hash}.{unique}"))
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
    def _check_forwardable(self, request: Request, loop_hash: str) -> Response | None:
        max_forwards = _max_forwards(request)
        if max_forwards <= 0:
            return make_response(request, 483, to_tag=new_tag())
        if self._is_loop(request, loop_hash):
            return make_response(request, 482, to_tag=new_tag())
        return None

    def _is_loop(self, request: Request, loop_hash: str) -> bool:
        """§16.3 item 4: a Via of this PBX whose branch starts with the request's own hash.
        One with another hash is a spiral (the request came back changed, say retargeted by a
        peer to another number): it is handled like any request."""
        marker = f"z9hG4bK{loop_hash}."
        for value in request.get_all("via"):
            if self.local.is_own_via(value) and parse_via(value).branch.startswith(marker):
                return True
        return False

    def _pop_own_route(self, request: Request) -> list[SipUri]:
        """Remove the top Routes that name this PBX (§16.4; two when it record-routed twice
        between transports, RFC 5658); the URIs removed."""
        popped: list[SipUri] = []
        while (route := request.get("route")) is not None:
            try:
                uri = parse_name_addr(route).uri
            except UriError:
                break
            if not self.local.is_local(uri):
                break
            request.pop_first("route")
            popped.append(uri)
        return popped

    def _grant(self, request: Request, popped: list[SipUri]) -> Grant | None:
        """The signature of this PBX on one of the Routes it removed, if valid for the dialog."""
        tags = (request.tag("from"), request.tag("to"))
        for uri in popped:
            grant = self.signer.verify(uri.params, request.call_id, tags)
            if grant is not None:
                return grant
        return None

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

    def _forward_in_dialog(self, incoming: Incoming, popped: list[SipUri], loop_hash: str) -> None:
        request = incoming.request
        grant = None
        if popped:
            grant = self._grant(request, popped)
            if grant is None:
                # Routed through us, but not along a route this PBX recorded: no open relay.
                reason = "Forbidden (not a dialog this PBX record-routed)"
                self.endpoint.respond(incoming, make_response(request, 403, reason))
                return
        elif not self._for_us_unrouted(request):
            # Neither routed through us, nor addressed to us or one of our phones: no open relay.
            self.endpoint.respond(incoming, make_response(request, 403, "Forbidden (not routed here)"))
            return
        dest = self._in_dialog_destination(request)
        if dest is None:
            self.endpoint.respond(incoming, make_response(request, 481))
            return
        offset = _offset_for(grant, request)
        forwarded = request.copy()
        self._decrement_max_forwards(forwarded)
        _shift_cseq(forwarded, offset)
        forwarded.prepend("via", self.endpoint.via(dest.transport, _branch(loop_hash)))
        is_bye = request.method == "BYE"

        # A re-INVITE is remembered while unanswered, so that its CANCEL can follow it.
        branch = Branch(forwarded, dest)

        def relay(response: Response) -> None:
            if response.status >= 200:
                self._re_invites.pop(incoming.key, None)
            elif branch.cancel_wanted and not branch.cancelled:
                self._send_cancel(branch)
            if response.status == 100:
                return
            if is_bye and 200 <= response.status < 300:
                # Only the other side's acceptance ends the call: a forged BYE gets a 481 there.
                self.recorder.ended(request.call_id, request.tag("from") or "", request.tag("to") or "")
            upstream = response.copy()
            upstream.pop_first("via")
            _shift_cseq(upstream, -offset)
            self.endpoint.respond(incoming, upstream)

        def timed_out() -> None:
            self._re_invites.pop(incoming.key, None)
            self.endpoint.respond(incoming, make_response(request, 408, to_tag=new_tag()))

        branch.outgoing = self.endpoint.send_request(forwarded, dest, relay, timed_out)
        if request.method == "INVITE" and not branch.outgoing.tx.terminated:
            self._re_invites[incoming.key] = branch

    def _for_us_unrouted(self, request: Request) -> bool:
        """An in-dialog request without a Route that this PBX serves: addressed to the PBX (it
        goes to the extension's phone) or to one of its phones' contacts. With a Route of
        someone else's, the Route would decide where it goes: that would be relaying."""
        if request.get("route") is not None:
            return False
        return self._addressed_to_us(request) or self._for_our_phone(request)

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
        if trunk is not None and trunk.config.username is None and not trunk.trusted_by_address:
            trunk = None  # neither digest nor trust by address: a caller like any other
        if trunk is None or not trunk.trusted_by_address:
            lookup = None
            if trunk is not None:
                hashes = trunk.hashes(self.auth.realm)

                async def lookup_trunk(username: str) -> Hashes | None:
                    return hashes if username == trunk.config.username else None

                lookup = lookup_trunk
            source = (incoming.source.host, incoming.source.port)
            outcome = await self.auth.authenticate(request, source, proxy=True, lookup=lookup)
            if outcome.username is None:
                if not attempt.finished:
                    self.endpoint.respond_statelessly(incoming, outcome.reject)
                    self._close(attempt)
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
        self.recorder.started(attempt.key, caller, callee, "local")
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
        self.recorder.started(attempt.key, caller, decision.number, f"trunk:{state.name}")
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
        self._give_up(attempt, make_response(attempt.incoming.request, 408, to_tag=new_tag()))

    # --- branches --------------------------------------------------------------------------------
    def _add_branch(self, attempt: CallAttempt, uri: str, dest: Peer, trunk: TrunkState | None) -> None:
        original = attempt.incoming.request
        forwarded = original.copy()
        forwarded.uri = uri
        self._decrement_max_forwards(forwarded)
        record_routes = self._record_routes(attempt, dest, 0)
        for value in reversed(record_routes):
            forwarded.prepend("record-route", value)
        forwarded.prepend("via", self.endpoint.via(dest.transport, _branch(attempt.loop_hash)))
        # Credentials for this PBX's realm were consumed here; they mean nothing downstream.
        forwarded.headers = [
            header
            for header in forwarded.headers
            if header[0] != "proxy-authorization" or not self._for_our_realm(header[1])
        ]
        branch = Branch(forwarded, dest, trunk, record_routes)
        attempt.branches.append(branch)
        self._send_branch(attempt, branch)

    def _for_our_realm(self, credentials: str) -> bool:
        """Whether Proxy-Authorization ``credentials`` answer this PBX's challenge (the realm
        compared as parsed: quoted or not, as the authenticator accepted it)."""
        return digest.parse_auth_params(credentials)[1].get("realm") == self.auth.realm

    def _record_routes(self, attempt: CallAttempt, dest: Peer, offset: int) -> tuple[str, ...]:
        """The Record-Route values to add, top first, signed for the dialog. Two when the
        transports differ (RFC 5658): the caller reaches us on its transport, the callee on
        its own; the caller's route set is the reverse, so its entry goes below."""
        request = attempt.incoming.request
        signature = self.signer.parameters(request.call_id, request.tag("from") or "", offset)
        inbound = attempt.incoming.source.transport
        transports = [dest.transport] if inbound == dest.transport else [dest.transport, inbound]
        return tuple(self._record_route(transport, signature) for transport in transports)

    def _record_route(self, transport: str, signature: str) -> str:
        host, port = self.endpoint.transports.advertised(transport)
        parameter = ";transport=tcp" if transport == "tcp" else ""
        return f"<sip:{host}:{port}{parameter};lr{signature}>"

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
                self._relay(attempt, branch, response)
            return
        branch.done = True
        if status < 300:
            self._relay(attempt, branch, response)
            if not attempt.answered:
                # Answered, even if a CANCEL crossed this 2xx: the caller gets it, ACKs it and
                # has a call to hang up; the record must say so.
                attempt.answered = True
                attempt.unsettled = []
                self.recorder.answered(attempt.key, response.tag("to") or "")
                if not attempt.finished:
                    self._cancel_branches(attempt, except_branch=branch)
                    self._close(attempt)
                self._only_relay_repeats(attempt.incoming, branch)
            return
        branch.final = response
        if status in (401, 407) and self._retry_with_credentials(attempt, branch, response):
            return
        if status >= 600:
            self._cancel_branches(attempt)
        self._maybe_finish(attempt)
        self._settle(attempt)

    def _on_branch_timeout(self, attempt: CallAttempt, branch: Branch) -> None:
        branch.done = True
        self._maybe_finish(attempt)
        self._settle(attempt)

    def _settle(self, attempt: CallAttempt) -> None:
        """Record a call given up on once no branch can answer it any more."""
        if attempt.unsettled and all(branch.done for branch in attempt.unsettled):
            attempt.unsettled = []
            if not attempt.answered:
                self.recorder.failed(attempt.key, attempt.unsettled_status)

    def _only_relay_repeats(self, incoming: Incoming, branch: Branch) -> None:
        """The answered branch's transaction lives on for 32 s (Timer M) only to pass on the
        2xx the callee repeats: its callbacks need no more than where the caller is, not the
        whole call (a few hundred bytes for each call answered in the last 32 s)."""
        outgoing = branch.outgoing
        if outgoing is None:
            return
        offset = branch.cseq_offset
        outgoing.on_response = lambda response: self._relay_to(incoming, offset, response)
        outgoing.on_timeout = ignore_timeout

    def _relay(self, attempt: CallAttempt, branch: Branch, response: Response) -> None:
        self._relay_to(attempt.incoming, branch.cseq_offset, response)

    def _relay_to(self, incoming: Incoming, cseq_offset: int, response: Response) -> None:
        upstream = _upstream(cseq_offset, response)
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
        retry.prepend("via", self.endpoint.via(branch.dest.transport, _branch(attempt.loop_hash)))
        # A new request needs a higher CSeq (RFC 3261 §8.1.3.5, §22.2). The caller's dialog
        # keeps its numbers: the signed Record-Route carries the offset, so that whichever node
        # relays the caller's later requests adds it (and takes it off their answers).
        offset = branch.cseq_offset + 1
        number, method = branch.request.cseq
        retry.set("cseq", f"{number + 1} {method}")
        record_routes = self._record_routes(attempt, branch.dest, offset)
        retry.headers = [
            h for h in retry.headers if h[0] != "record-route" or h[1] not in branch.record_routes
        ]
        for value in reversed(record_routes):
            retry.prepend("record-route", value)
        answer = digest.authorization(
            challenge_value=challenge,
            method="INVITE",
            uri=retry.uri,
            username=username,
            password=password,
            cnonce=secrets.token_hex(8),
        )
        retry.set("proxy-authorization" if response.status == 407 else "authorization", answer)
        retried = Branch(retry, branch.dest, branch.trunk, record_routes, offset, auth_retried=True)
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
        finals = [(b, b.final) for b in attempt.branches if b.final is not None]
        request = attempt.incoming.request
        if not finals:
            return make_response(request, 408, to_tag=new_tag())
        six = [(b, r) for b, r in finals if r.status >= 600]
        if six:
            chosen = six[0]
        else:
            lowest = min(r.status // 100 for _, r in finals)
            candidates = [(b, r) for b, r in finals if r.status // 100 == lowest]
            preferred = [(b, r) for s in _INFORMATIVE_4XX for b, r in candidates if r.status == s]
            chosen = preferred[0] if preferred else min(candidates, key=lambda item: item[1].status)
        branch, response = chosen
        upstream = _upstream(branch.cseq_offset, response)
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
            self.recorder.failed(attempt.key, response.status)
        self._close(attempt)

    def _close(self, attempt: CallAttempt) -> None:
        attempt.finished = True
        # The branches' transactions live on for 32 s (absorbing retransmissions, passing on
        # late 2xx, sending a pending CANCEL): they need no more than the forwarded request's
        # identity and route.
        for branch in attempt.branches:
            shrunk = branch.outgoing.tx.request if branch.outgoing is not None else branch.request
            # A transaction that has its final response holds a skeleton already: share it.
            branch.request = shrunk if shrunk is not branch.request else branch.request.skeleton()
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


def loop_hash_of(request: Request) -> str:
    """A hash of what identifies a request as received (RFC 3261 §16.6 item 8): if it comes
    back through this PBX unchanged, it is a loop."""
    fields = (
        request.uri,
        request.tag("from") or "",
        request.tag("to") or "",
        request.call_id,
        str(request.cseq[0]),
        *request.get_all("route"),
        *request.get_all("proxy-require"),
        *request.get_all("proxy-authorization"),
    )
    text = "\x00".join(fields).encode("utf-8", "surrogateescape")
    return hashlib.sha256(text).hexdigest()[:12]


def _branch(loop_hash: str) -> str:
    """A Via branch for a forwarded request: the loop hash, then a unique part."""
    return f"z9hG4bK{loop_hash}.{randomness.token_hex(6)}"


def _offset_for(grant: Grant | None, request: Request) -> int:
    """The CSeq offset to add to an in-dialog request: only the caller's requests (their From
    tag is the caller's) are renumbered."""
    if grant is None or not grant.offset or request.tag("from") != grant.caller_tag:
        return 0
    return grant.offset


def _shift_cseq(message: Request | Response, offset: int) -> None:
    if offset:
        number, method = message.cseq
        message.set("cseq", f"{max(0, number + offset)} {method}")


def _upstream(cseq_offset: int, response: Response) -> Response:
    """A branch's response as the caller gets it: our Via off, the CSeq the caller sent."""
    upstream = response.copy()
    upstream.pop_first("via")
    _shift_cseq(upstream, -cseq_offset)
    return upstream


def _max_forwards(request: Request) -> int:
    """Max-Forwards (70 when absent, RFC 3261 §16.6 step 3); the parser has checked its digits."""
    value = request.get("max-forwards")
    return 70 if value is None else int(value.strip())


def _user_of(value: str | None) -> str:
    try:
        return parse_name_addr(value or "").uri.user or ""
    except UriError:
        return ""

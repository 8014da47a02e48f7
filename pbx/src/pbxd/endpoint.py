"""The transaction layer bound to the transports and the event loop's clock.

It matches incoming messages to the sans-I/O transactions of ``pbxd.sip.transaction``, executes
what they ask (transmit, deliver, time out), drives their timers from one ticking task, stamps
``received``/``rport`` on incoming Vias (RFC 3581) and answers unparseable requests with 400.
New requests, ACKs for 2xx, CANCELs and stray responses go up to a ``RequestHandler``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pbxd.overload import LoadGauge
from pbxd.sip.message import Request, Response, SipParseError, Via, make_response, new_tag
from pbxd.sip.transaction import (
    DEFAULT_TIMERS,
    ClientTransaction,
    Deliver,
    Event,
    ServerTransaction,
    State,
    Timeout,
    Timers,
    Transmit,
    transaction_key,
)
from pbxd.transport import Peer, SipTransport

log = logging.getLogger("pbxd.endpoint")

TICK = 0.02
# Answers kept for retransmissions until Timer J (see ``Endpoint._answered``), at most: about
# 1.1 KB each, so some 36 MB. Normal traffic keeps far fewer (a thousand phones re-registering
# every minute keep about 530); a burst past the cap, such as every phone re-registering at
# once after a failover, makes the oldest go before their 32 s. A retransmission of one of those
# is then handled as a new request (a REGISTER is challenged again). Kamailio's tm keeps a
# finished transaction 5 s (wt_timer, in the README of its tm module), for the same reason.
MAX_ANSWERED = 32_768
# INVITE transactions kept after their 2xx (RFC 6026 Accepted: the server one absorbs the
# caller's retransmitted INVITE, the client one passes on the callee's repeated 2xx until
# Timer L or M, 32 s), at most: two per answered call, about 1.1 KB each (2.3 KB a call,
# measured with tracemalloc), so some 18 MB. Up to 256 answered calls a second keep their
# 32 s; past the cap the oldest go first (at 1,000 calls a second, after some 8 s, still
# longer than the 5 s Kamailio's tm keeps a finished transaction: wt_timer, in the README of
# its tm module). A later retransmission of one of those INVITEs is then a new request
# (challenged again: its nonce is spent), and a later 2xx a stray response, which the proxy
# forwards statelessly along its Vias.
MAX_ACCEPTED = 16_384

# Out-of-dialog requests that are never shed: OPTIONS answers health probes (a cluster or a
# peer that sees no answer takes the PBX for dead), CANCEL and ACK end work the PBX has.
_NEVER_SHED = frozenset({"OPTIONS", "CANCEL", "ACK"})


@dataclass(slots=True, eq=False)
class Incoming:
    """A server transaction with where its request came from and where responses go."""

    tx: ServerTransaction
    source: Peer
    reply_to: Peer
    key: tuple[str, ...]
    scheduled: float | None = None
    # TCP: where responses go once the request's connection has closed (§18.2.2).
    reconnect_to: Peer | None = None
    accepted: bool = False  # counted among the Accepted INVITE transactions (MAX_ACCEPTED)

    @property
    def request(self) -> Request:
        return self.tx.request


@dataclass(slots=True, eq=False)
class Outgoing:
    """A client transaction with its destination and the callbacks of its owner."""

    tx: ClientTransaction
    dest: Peer
    key: tuple[str, ...]
    on_response: Callable[[Response], None]
    on_timeout: Callable[[], None] = field(default=lambda: None)
    scheduled: float | None = None
    accepted: bool = False  # counted among the Accepted INVITE transactions (MAX_ACCEPTED)


class RequestHandler(Protocol):
    def on_request(self, incoming: Incoming) -> None: ...

    def on_cancel(self, cancel: Incoming, invite: Incoming | None) -> None: ...

    def on_ack(self, ack: Request, source: Peer) -> None: ...

    def on_stray_response(self, response: Response, source: Peer) -> None: ...


def _ignore_response(response: Response) -> None:
    """Callback of a transaction whose owner is gone."""


def ignore_timeout() -> None:
    """Callback of a transaction whose owner is gone or that has nothing left to do on timeout."""


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def _only_repeats(tx: ServerTransaction) -> bool:
    """Whether all that is left of ``tx`` is to repeat its final response until Timer J: a
    non-INVITE server transaction over UDP that has sent it."""
    return not tx.is_invite and tx.state is State.COMPLETED and not tx.reliable


def reply_address(via: Via, source: Peer) -> Peer:
    """Where responses go (RFC 3261 §18.2.2, RFC 3581 §4)."""
    if source.transport == "tcp":
        return source
    host = via.params.get("received") or via.host
    rport = via.params.get("rport")
    port = int(rport) if rport and rport.isdigit() else (via.port or 5060)
    if host == source.host and port == source.port:
        return source  # the usual case; one Peer less for each transaction kept 32 s
    return Peer(source.transport, host, port)


def _reconnect_address(via: Via, source: Peer) -> Peer | None:
    """Over TCP, where a response goes when the request's connection has closed: the
    source address and the Via's sent-by port (RFC 3261 §18.2.2)."""
    if source.transport != "tcp":
        return None
    return Peer("tcp", source.host, via.port or 5060)


class Endpoint:
    def __init__(
        self, transports: SipTransport, timers: Timers = DEFAULT_TIMERS, load: LoadGauge | None = None
    ) -> None:
        self.transports = transports
        self.handler: RequestHandler | None = None
        self.timers = timers
        self.load = load or LoadGauge()
        # Whether host:port is a registered phone's address (set by the server from the
        # registrar): the load shedder spares those.
        self.registered_source: Callable[[str, int], bool] = lambda host, port: False
        # Whether a request from host:port that did not authenticate may be answered now (set
        # by the server to the authenticator's per-source cap): a 503 while shedding is such an
        # answer, and must not make the PBX a reflector for forged source addresses.
        self.may_answer_unauthenticated: Callable[[str, int], bool] = lambda host, port: True
        # The To tag of every final response the PBX sends statelessly (503s when shedding, and,
        # set by the proxy, the authenticator's challenges and refusals). No transaction absorbs
        # the ACK of such a response, and no dialog has the tag: requests that carry it are
        # recognised by it (an ACK dropped, anything else answered 481).
        self.stateless_tag = new_tag()
        self._server: dict[tuple[str, ...], Incoming] = {}
        # Non-INVITE server transactions that have sent their final response over UDP: for
        # Timer J (32 s) they only repeat it, so they are kept as the response and where it
        # went, not as transactions (at 3,000 registrations a second, 96,000 are kept at once).
        # Timer J is the same for all, so they expire in the order they were answered.
        self._answered: dict[tuple[str, ...], tuple[Response, Peer, float]] = {}
        self._answered_expiry: deque[tuple[float, tuple[str, ...]]] = deque()
        self._client: dict[tuple[str, ...], Outgoing] = {}
        # INVITE transactions in Accepted, oldest first (Timer L and M are the same for all, so
        # this is also the order in which they end); ended ones leave from the front.
        self._accepted: deque[Incoming | Outgoing] = deque()
        # (deadline, sequence, is_server, key): keys, not transactions, so that a transaction
        # that ended early is freed at once instead of when its last planned timer would fire.
        self._heap: list[tuple[float, int, bool, tuple[str, ...]]] = []
        self._sequence = itertools.count()
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        transports.deliver = self.receive
        transports.on_bad_message = self.reject_malformed
        transports.on_unreachable = self.peer_unreachable

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._ticker = self._loop.create_task(self._tick_forever())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        self._server.clear()
        self._answered.clear()
        self._answered_expiry.clear()
        self._accepted.clear()
        self._client.clear()
        self._heap.clear()

    def now(self) -> float:
        assert self._loop is not None, "the endpoint is not started"
        return self._loop.time()

    @property
    def transaction_counts(self) -> tuple[int, int]:
        """(server, client) transactions alive: for leak checks."""
        return len(self._server) + len(self._answered), len(self._client)

    # --- incoming --------------------------------------------------------------------------
    def receive(self, message: Request | Response, source: Peer) -> None:
        try:
            if isinstance(message, Request):
                self._receive_request(message, source)
            else:
                self._receive_response(message, source)
        except SipParseError as error:
            log.info("dropped a message from %s: %s", source, error.reason)
        except Exception:
            log.exception("failed to handle a message from %s", source)

    def reject_malformed(self, error: SipParseError, source: Peer) -> None:
        request = error.partial
        if not isinstance(request, Request) or request.method == "ACK" or request.get("via") is None:
            log.info("dropped an unparseable message from %s: %s", source, error.reason)
            return
        try:
            via = self._stamp_via(request, source)
        except SipParseError:
            log.info("dropped an unparseable message from %s: %s", source, error.reason)
            return
        log.info("answered 400 to a malformed request from %s: %s", source, error.reason)
        response = make_response(request, 400, f"Bad Request ({error.reason[:100]})")
        self.transports.send(response, reply_address(via, source))

    def peer_unreachable(self, peer: Peer) -> None:
        """The transport could not reach ``peer`` (§17.1.4): the client transactions sending
        to it end now instead of when Timer B or F fires."""
        for outgoing in [o for o in self._client.values() if o.dest == peer]:
            self._run_client(outgoing, outgoing.tx.on_transport_error())

    def _receive_request(self, request: Request, source: Peer) -> None:
        assert self.handler is not None, "the endpoint has no request handler"
        via = self._stamp_via(request, source)
        method = request.method
        key = transaction_key(request, "INVITE" if method == "ACK" else method)
        answered = self._answered.get(key)
        if answered is not None:
            self.load.retransmissions += 1
            self.transports.send(answered[0], answered[1])
            return
        existing = self._server.get(key)
        if existing is not None and not (method == "ACK" and existing.tx.state is State.ACCEPTED):
            if method != "ACK":
                self.load.retransmissions += 1
            self._run_server(existing, existing.tx.on_request(request, self.now()))
            return
        to_tag = request.tag("to")
        if method == "ACK":
            if to_tag == self.stateless_tag:
                return  # the ACK of a response sent statelessly
            # An ACK for a 2xx (RFC 6026 §8.7: even one reusing the INVITE's branch) is end-to-end.
            self.handler.on_ack(request, source)
            return
        if to_tag is not None and to_tag == self.stateless_tag:
            self._no_such_dialog(request, via, source)
            return
        self.load.requests += 1
        if (
            method not in _NEVER_SHED
            and self.load.under_pressure(self.now())
            and to_tag is None
            and self._shed(request, via, source)
        ):
            return
        tx = ServerTransaction(request, self.now(), reliable=source.transport == "tcp", timers=self.timers)
        incoming = Incoming(
            tx, source, reply_address(via, source), key, reconnect_to=_reconnect_address(via, source)
        )
        self._server[key] = incoming
        try:
            if method == "CANCEL":
                self.handler.on_cancel(incoming, self._server.get((*key[:-1], "INVITE")))
            else:
                self.handler.on_request(incoming)
        except Exception:
            # Never leave a transaction without a final response: it would live forever.
            log.exception("failed to handle %s from %s", request, source)
            if tx.state in (State.TRYING, State.PROCEEDING):
                self.respond(incoming, make_response(request, 500, to_tag=new_tag()))
        if method == "INVITE" and tx.state is State.PROCEEDING and tx.last_response is None:
            # §17.2.1: 100 Trying at once, unless the handler has already answered (a 407).
            self.respond(incoming, make_response(request, 100))

    def _shed(self, request: Request, via: Via, source: Peer) -> bool:
        """Answer a new request 503 statelessly if the PBX is overloaded (``pbxd.overload``):
        no transaction is kept, so refusing costs little memory and time. A request without
        credentials from a source past its cap of answers is dropped instead."""
        continues_work = request.get("authorization") is not None or (
            request.get("proxy-authorization") is not None
        )
        registered = self.registered_source(source.host, source.port)
        now = self.now()
        if (
            self.load.shed_reason(now, request.method, continues_work=continues_work, registered=registered)
            is None
        ):
            return False
        if not continues_work and not self.may_answer_unauthenticated(source.host, source.port):
            return True
        response = make_response(
            request, 503, to_tag=self.stateless_tag, extra=[("retry-after", str(self.load.retry_after()))]
        )
        self.transports.send(response, reply_address(via, source))
        return True

    def _no_such_dialog(self, request: Request, via: Via, source: Peer) -> None:
        """Answer 481 statelessly to a request in the "dialog" of a response sent statelessly
        (RFC 3261 §12.2.2): a client that took a 503, 401 or 403 for the start of a dialog ends
        it with a BYE (SIPp does for every REGISTER shed or refused). Relayed by its
        Request-URI, it would reach a phone that knows no such dialog and may never answer:
        32 s of retransmissions for each, in the overload that shed it."""
        if self.may_answer_unauthenticated(source.host, source.port):
            self.transports.send(make_response(request, 481), reply_address(via, source))

    def _stamp_via(self, request: Request, source: Peer) -> Via:
        """Write where the request really came from into its top Via. ``received`` and the
        value of ``rport`` are the server's to write (RFC 3261 §18.2.1, RFC 3581 §4): values
        the sender put there are overwritten, or they would aim responses elsewhere."""
        via = request.top_via
        params = via.params
        wanted: dict[str, str | None] = {}
        if "rport" in params:
            wanted = {"rport": str(source.port), "received": source.host}
        elif via.host != source.host or "received" in params:
            wanted = {"received": source.host}
        if any(params.get(name, "") != value for name, value in wanted.items()):
            params.update(wanted)
            request.replace_top_via(via)
        return via

    def _receive_response(self, response: Response, source: Peer) -> None:
        via = response.top_via
        outgoing = self._client.get((via.branch, response.cseq[1]))
        if outgoing is None:
            assert self.handler is not None, "the endpoint has no request handler"
            self.handler.on_stray_response(response, source)
            return
        self._run_client(outgoing, outgoing.tx.on_response(response, self.now()))

    # --- outgoing --------------------------------------------------------------------------
    def respond(self, incoming: Incoming, response: Response) -> None:
        self._run_server(incoming, incoming.tx.respond(response, self.now()))

    def respond_statelessly(self, incoming: Incoming, response: Response | None) -> None:
        """Send ``response`` (None: nothing) and forget the transaction at once: for challenges
        and refusals of unauthenticated requests, which would otherwise be repeated until Timer H
        (a reflection amplifier) and held for 32 s. A retransmission is answered afresh."""
        if response is not None:
            self.transports.send(response, self._response_destination(incoming))
        incoming.tx.abandon()
        self._after(incoming)

    def send_request(
        self,
        request: Request,
        dest: Peer,
        on_response: Callable[[Response], None],
        on_timeout: Callable[[], None] = lambda: None,
        *,
        timer_c: float | None = None,
    ) -> Outgoing:
        """Send ``request`` (whose top Via is already ours) in a new client transaction."""
        tx = ClientTransaction(request, reliable=dest.transport == "tcp", timers=self.timers, timer_c=timer_c)
        key = (request.top_via.branch, request.method)
        outgoing = Outgoing(tx, dest, key, on_response, on_timeout)
        self._client[key] = outgoing
        self._run_client(outgoing, tx.start(self.now()))
        return outgoing

    def send_stateless(self, message: Request | Response, dest: Peer) -> None:
        self.transports.send(message, dest)

    def adjust_deadline(self, outgoing: Outgoing) -> None:
        """Reschedule after the owner changed the transaction's timers (``give_up_by``)."""
        self._after(outgoing)

    def via(self, transport: str, branch: str | None = None) -> str:
        """A Via value naming this PBX on ``transport`` with a new (or given) branch."""
        host, port = self.transports.advertised(transport)
        return f"SIP/2.0/{transport.upper()} {host}:{port};branch={branch or new_branch()};rport"

    # --- running transactions ---------------------------------------------------------------
    def _run_server(self, incoming: Incoming, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Transmit):
                self.transports.send(event.message, self._response_destination(incoming))
            elif isinstance(event, Timeout):
                log.debug("no ACK for the final response to %s", incoming.request)
        self._after(incoming)

    def _response_destination(self, incoming: Incoming) -> Peer:
        reply_to = incoming.reply_to
        if incoming.reconnect_to is None or (reply_to.host, reply_to.port) in self.transports.connections:
            return reply_to
        return incoming.reconnect_to

    def _run_client(self, outgoing: Outgoing, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Transmit):
                self.transports.send(event.message, outgoing.dest)
            elif isinstance(event, Deliver):
                outgoing.on_response(event.response)
            elif isinstance(event, Timeout):
                outgoing.on_timeout()
        if outgoing.tx.state is State.COMPLETED:
            # Timer D or K only absorbs repeats of the final response the owner has had: its
            # callbacks, and the call state they close over, need not wait with it.
            outgoing.on_response = _ignore_response
            outgoing.on_timeout = ignore_timeout
        self._after(outgoing)

    def _after(self, item: Incoming | Outgoing) -> None:
        tx = item.tx
        if isinstance(item, Incoming) and _only_repeats(item.tx):
            self._keep_answer(item)
            return
        if tx.terminated:
            self._remove(item)
            return
        if tx.state is State.ACCEPTED and not item.accepted:
            self._keep_accepted(item)
        deadline = tx.deadline
        if deadline is not None and deadline != item.scheduled:
            item.scheduled = deadline
            entry = (deadline, next(self._sequence), isinstance(item, Incoming), item.key)
            heapq.heappush(self._heap, entry)

    def _remove(self, item: Incoming | Outgoing) -> None:
        if isinstance(item, Incoming):
            if self._server.get(item.key) is item:
                del self._server[item.key]
            return
        if self._client.get(item.key) is item:
            del self._client[item.key]
        # The callbacks usually close over their owner, which holds this Outgoing:
        # breaking the cycle lets reference counting free the call at once.
        item.on_response = _ignore_response
        item.on_timeout = ignore_timeout

    def _keep_accepted(self, item: Incoming | Outgoing) -> None:
        """Count an INVITE transaction that has entered Accepted; past ``MAX_ACCEPTED``, end
        the oldest one now instead of at its Timer L or M."""
        item.accepted = True
        accepted = self._accepted
        accepted.append(item)
        self._drop_ended_accepted()
        if len(accepted) > MAX_ACCEPTED:
            oldest = accepted.popleft()
            oldest.tx.abandon()
            self._remove(oldest)

    def _drop_ended_accepted(self) -> None:
        accepted = self._accepted
        while accepted and accepted[0].tx.terminated:
            accepted.popleft()

    def _keep_answer(self, incoming: Incoming) -> None:
        """Keep a finished non-INVITE server transaction as its response until Timer J."""
        tx = incoming.tx
        if self._server.get(incoming.key) is incoming:
            del self._server[incoming.key]
        assert tx.last_response is not None and tx.deadline is not None
        self._answered[incoming.key] = (tx.last_response, self._response_destination(incoming), tx.deadline)
        self._answered_expiry.append((tx.deadline, incoming.key))
        if len(self._answered) > MAX_ANSWERED:
            self._forget_oldest_answer()

    def _forget_answers(self, now: float) -> None:
        expiry = self._answered_expiry
        while expiry and expiry[0][0] <= now:
            self._forget_next_answer()

    def _forget_oldest_answer(self) -> None:
        expiry = self._answered_expiry
        while expiry and not self._forget_next_answer():
            pass

    def _forget_next_answer(self) -> bool:
        """Take the next entry off the expiry queue; forget its answer unless that has been
        replaced since (False when the entry was stale)."""
        due, key = self._answered_expiry.popleft()
        kept = self._answered.get(key)
        if kept is None or kept[2] != due:
            return False
        del self._answered[key]
        return True

    def _compact_heap(self) -> None:
        """Drop entries of ended or rescheduled transactions (a Timer C planned for 3 minutes
        but stopped by a 2xx would otherwise stay in the heap for those 3 minutes)."""
        live: list[Incoming | Outgoing] = [*self._server.values(), *self._client.values()]
        self._heap = []
        for item in live:
            if item.scheduled is not None:
                self._heap.append(
                    (item.scheduled, next(self._sequence), isinstance(item, Incoming), item.key)
                )
        heapq.heapify(self._heap)

    async def _tick_forever(self) -> None:
        while True:
            before = self.now()
            await asyncio.sleep(TICK)
            now = self.now()
            self.tick()
            self.load.sample(now, lag=max(0.0, now - before - TICK))

    def tick(self) -> None:
        now = self.now()
        self._forget_answers(now)
        if len(self._heap) > 2 * (len(self._server) + len(self._client)) + 1000:
            self._compact_heap()
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, is_server, key = heapq.heappop(heap)
            item: Incoming | Outgoing | None = self._server.get(key) if is_server else self._client.get(key)
            if item is None or item.scheduled != due or item.tx.deadline != due:
                continue  # ended, or superseded by a later schedule of the same transaction
            item.scheduled = None
            try:
                if isinstance(item, Incoming):
                    self._run_server(item, item.tx.on_timer(now))
                else:
                    self._run_client(item, item.tx.on_timer(now))
            except Exception:
                log.exception("timer of %s failed", item.tx.request)
        self._drop_ended_accepted()

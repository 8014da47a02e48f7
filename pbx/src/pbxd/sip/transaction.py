"""SIP transactions (RFC 3261 §17, with the RFC 6026 Accepted states) as state machines.

A transaction never reads a clock and never touches a socket: every method takes ``now`` (any
monotonic clock, in seconds) and returns the list of things to do (``Transmit`` a message,
``Deliver`` a response to the transaction user, report a ``Timeout``). ``deadline`` tells when
``on_timer`` must next be called; the caller owns the timer wheel.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pbxd.sip.message import Message, Request, Response

T1 = 0.5
T2 = 4.0
T4 = 5.0


@dataclass(frozen=True, slots=True)
class Timers:
    t1: float = T1
    t2: float = T2
    t4: float = T4


DEFAULT_TIMERS = Timers()


class State(enum.Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class Transmit:
    message: Message


@dataclass(frozen=True, slots=True)
class Deliver:
    response: Response


@dataclass(frozen=True, slots=True)
class Timeout:
    """Timer B, F or H fired: the peer never answered (or never acknowledged)."""


Event = Transmit | Deliver | Timeout


def transaction_key(message: Message, method: str) -> tuple[str, ...]:
    """The key matching requests and responses to a transaction (RFC 3261 §17.2.3).

    ``method`` is the transaction's method (INVITE for an ACK or CANCEL's target). For branches
    without the RFC 3261 magic cookie, fall back on the RFC 2543 rule.
    """
    via = message.top_via
    branch = via.branch
    if branch.startswith("z9hG4bK"):
        return (branch, f"{via.host}:{via.port or ''}", method)
    from_tag = message.tag("from") or ""
    number = message.cseq[0]
    return ("2543", message.call_id, from_tag, str(number), f"{via.host}:{via.port or ''}", method)


class _Transaction:
    """Timer bookkeeping shared by all four machines."""

    # Slots: tens of thousands of finished transactions are alive at once under load.
    __slots__ = ("_deadlines", "reliable", "request", "state", "timers")

    def __init__(self, request: Request, reliable: bool, timers: Timers) -> None:
        self.request = request
        self.reliable = reliable
        self.timers = timers
        self.state = State.TRYING
        self._deadlines: dict[str, float] = {}

    @property
    def deadline(self) -> float | None:
        return min(self._deadlines.values()) if self._deadlines else None

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def _start(self, name: str, at: float) -> None:
        self._deadlines[name] = at

    def _stop(self, *names: str) -> None:
        for name in names:
            self._deadlines.pop(name, None)

    def _terminate(self) -> None:
        self.state = State.TERMINATED
        self._deadlines.clear()

    def abandon(self) -> None:
        """End now, keeping nothing: the transaction user answered statelessly, or the
        endpoint is past its cap of transactions kept only for retransmissions."""
        self._terminate()

    def _shrink(self) -> None:
        """After the final response only the request's identity is needed, for up to 32 s."""
        self.request = self.request.skeleton()

    def on_timer(self, now: float) -> list[Event]:
        """Fire every timer that is due."""
        events: list[Event] = []
        for name, at in sorted(self._deadlines.items(), key=lambda item: item[1]):
            if at <= now and self._deadlines.get(name) == at:
                del self._deadlines[name]
                events.extend(self._fire(name, now))
        return events

    def _fire(self, name: str, now: float) -> list[Event]:
        raise NotImplementedError


class ServerTransaction(_Transaction):
    """INVITE (§17.2.1) or non-INVITE (§17.2.2) server transaction."""

    __slots__ = ("_interval", "is_invite", "last_response")

    def __init__(
        self, request: Request, now: float, *, reliable: bool, timers: Timers = DEFAULT_TIMERS
    ) -> None:
        super().__init__(request, reliable, timers)
        self.is_invite = request.method == "INVITE"
        self.state = State.PROCEEDING if self.is_invite else State.TRYING
        self.last_response: Response | None = None
        self._interval = timers.t1

    def respond(self, response: Response, now: float) -> list[Event]:
        """The transaction user sends ``response``."""
        status = response.status
        if self.state is State.TERMINATED:
            return []
        if self.is_invite:
            if self.state is State.ACCEPTED and 200 <= status < 300:
                return [Transmit(response)]  # a 2xx retransmitted by the UAS, passed on
            if self.state is not State.PROCEEDING:
                return []
            if status < 200:
                self.last_response = response.frozen()
                return [Transmit(self.last_response)]
            if status < 300:
                self.state = State.ACCEPTED
                # Accepted absorbs INVITEs and repeats nothing: neither the response nor the
                # request is needed any more, only a name for the log (32 s of every call).
                self.request = self.request.label()
                self.last_response = None
                self._start("L", now + 64 * self.timers.t1)
                return [Transmit(response)]
            self._shrink()
            self.state = State.COMPLETED
            self.last_response = response.frozen()
            if not self.reliable:
                self._start("G", now + self._interval)
            self._start("H", now + 64 * self.timers.t1)
            return [Transmit(self.last_response)]
        if self.state not in (State.TRYING, State.PROCEEDING):
            return []
        self.last_response = response.frozen()
        if status < 200:
            self.state = State.PROCEEDING
            return [Transmit(self.last_response)]
        self.state = State.COMPLETED
        # Kept 32 s to repeat its response: the request itself is needed no more.
        self.request = self.request.label()
        self._start("J", now + (0 if self.reliable else 64 * self.timers.t1))
        return [Transmit(self.last_response)]

    def on_request(self, request: Request, now: float) -> list[Event]:
        """A retransmission of the request, or (INVITE) the ACK for a non-2xx final response."""
        if request.method == "ACK":
            if self.is_invite and self.state is State.COMPLETED:
                self.state = State.CONFIRMED
                self._stop("G", "H")
                self._start("I", now + (0 if self.reliable else self.timers.t4))
            return []
        if self.state in (State.PROCEEDING, State.COMPLETED) and self.last_response is not None:
            return [Transmit(self.last_response)]
        return []

    def _fire(self, name: str, now: float) -> list[Event]:
        if name == "G" and self.state is State.COMPLETED and self.last_response is not None:
            self._interval = min(2 * self._interval, self.timers.t2)
            self._start("G", now + self._interval)
            return [Transmit(self.last_response)]
        if name == "H":
            self._terminate()
            return [Timeout()]
        if name in ("I", "J", "L"):
            self._terminate()
        return []


class ClientTransaction(_Transaction):
    """INVITE (§17.1.1) or non-INVITE (§17.1.2) client transaction. ``start`` sends the request."""

    __slots__ = ("_interval", "_timer_c", "ack", "is_invite", "provisional_seen")

    def __init__(
        self,
        request: Request,
        *,
        reliable: bool,
        timers: Timers = DEFAULT_TIMERS,
        timer_c: float | None = None,
    ) -> None:
        """``timer_c`` (proxies, RFC 3261 §16.6 step 11) bounds how long an INVITE may stay in
        Proceeding; each provisional response restarts it."""
        super().__init__(request, reliable, timers)
        self.is_invite = request.method == "INVITE"
        self.state = State.CALLING if self.is_invite else State.TRYING
        self._interval = timers.t1
        self._timer_c = timer_c
        self.ack: Request | None = None
        self.provisional_seen = False

    def start(self, now: float) -> list[Event]:
        if not self.reliable:
            self._start("A" if self.is_invite else "E", now + self._interval)
        self._start("B" if self.is_invite else "F", now + 64 * self.timers.t1)
        return [Transmit(self.request)]

    def give_up_by(self, at: float) -> None:
        """Terminate with a Timeout at ``at`` unless a final response came (a CANCEL was sent
        and the peer may never answer the INVITE, RFC 3261 §9.1)."""
        if self.is_invite and self.state in (State.CALLING, State.PROCEEDING):
            self._timer_c = None
            self._start("C", at)

    def on_response(self, response: Response, now: float) -> list[Event]:
        status = response.status
        if self.is_invite:
            return self._invite_response(response, status, now)
        if self.state in (State.TRYING, State.PROCEEDING):
            if status < 200:
                self.state = State.PROCEEDING
                self.provisional_seen = True
                return [Deliver(response)]
            self.state = State.COMPLETED
            self._stop("E", "F")
            self._start("K", now + (0 if self.reliable else self.timers.t4))
            # Timer K absorbs repeats of the response and sends nothing: a name for the log.
            self.request = self.request.label()
            return [Deliver(response)]
        return []

    def _invite_response(self, response: Response, status: int, now: float) -> list[Event]:
        if self.state in (State.CALLING, State.PROCEEDING):
            self._stop("A")
            if status < 200:
                self.state = State.PROCEEDING
                self.provisional_seen = True
                self._stop("B")
                if self._timer_c is not None:
                    self._start("C", now + self._timer_c)
                return [Deliver(response)]
            self._stop("C")
            if status < 300:
                self.state = State.ACCEPTED
                self._stop("B")
                self._start("M", now + 64 * self.timers.t1)
                # Accepted only passes on repeated 2xx: nothing is built from the request now.
                self.request = self.request.label()
                return [Deliver(response)]
            self.state = State.COMPLETED
            self._stop("B")
            self._start("D", now + (0 if self.reliable else 32.0))
            self.ack = build_ack(self.request, response)
            self._shrink()
            return [Transmit(self.ack), Deliver(response)]
        if self.state is State.ACCEPTED and 200 <= status < 300:
            return [Deliver(response)]  # 2xx retransmission: the TU passes it on
        if self.state is State.COMPLETED and status >= 300 and self.ack is not None:
            return [Transmit(self.ack)]
        return []

    def on_transport_error(self) -> list[Event]:
        """The transport could not deliver the request (§17.1.4): report it as a timeout."""
        if self.state in (State.CALLING, State.TRYING, State.PROCEEDING):
            self._terminate()
            return [Timeout()]
        return []

    def _fire(self, name: str, now: float) -> list[Event]:
        if name in ("A", "E") and self.state in (State.CALLING, State.TRYING, State.PROCEEDING):
            if name == "E" and self.state is State.PROCEEDING:
                self._interval = self.timers.t2
            elif name == "A":
                self._interval = 2 * self._interval
            else:
                self._interval = min(2 * self._interval, self.timers.t2)
            self._start(name, now + self._interval)
            return [Transmit(self.request)]
        if name in ("B", "C", "F"):
            self._terminate()
            return [Timeout()]
        if name in ("D", "K", "M"):
            self._terminate()
        return []


def build_ack(invite: Request, response: Response) -> Request:
    """The ACK a client transaction sends for a non-2xx final response (§17.1.1.3)."""
    headers: list[tuple[str, str]] = []
    top_via_done = False
    for key, value in invite.headers:
        if key == "via":
            if not top_via_done:
                headers.append((key, value))
                top_via_done = True
        elif key in ("from", "call-id", "route", "max-forwards"):
            headers.append((key, value))
    headers.append(("to", response.get("to") or invite.get("to") or ""))
    headers.append(("cseq", f"{invite.cseq[0]} ACK"))
    return Request("ACK", invite.uri, headers)

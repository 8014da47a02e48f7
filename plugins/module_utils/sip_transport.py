# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sockets of the smoke test: one UDP socket per test phone, driven by a scenario.

Everything here is I/O; what is sent and judged lives in ``sip_phone`` and ``sip_scenario``.
Requests are retransmitted as RFC 3261 §17.1 says for UDP (T1 = 0.5 s doubling, capped at
T2 = 4 s; an INVITE stops once a provisional response came). Every wait is bounded by the
exchange's timeout.
"""

from __future__ import annotations

import selectors
import socket
import time

from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_message import Message, SipParseError, parse
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_phone import Address, Phone
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_scenario import Exchange, Outcome, Scenario

T1 = 0.5
T2 = 4.0
_MAX_DATAGRAM = 65535


def local_address_for(server: Address) -> str:
    """The address this machine sends from to reach ``server`` (no packet is sent)."""
    family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((server.host, server.port))
        host: str = probe.getsockname()[0]
        return host


class UdpNetwork:
    """The test phones' sockets. Use as a context manager: the sockets close at the end."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._phones: dict[int, tuple[Phone, socket.socket]] = {}

    def __enter__(self) -> UdpNetwork:
        return self

    def __exit__(self, *exc: object) -> None:
        for _phone, sock in self._phones.values():
            self._selector.unregister(sock)
            sock.close()
        self._phones.clear()
        self._selector.close()

    def phone(self, number: str, password: str, *, local_host: str, server: Address) -> Phone:
        family = socket.AF_INET6 if ":" in local_host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((local_host, 0))
        except OSError as error:
            sock.close()
            raise OSError(
                f"cannot open a UDP socket on {local_host} for test phone {number}: {error}"
            ) from None
        sock.setblocking(False)
        phone = Phone(number, password, Address(local_host, sock.getsockname()[1]), server)
        self._phones[sock.fileno()] = (phone, sock)
        self._selector.register(sock, selectors.EVENT_READ)
        return phone

    def run(self, scenario: Scenario, timeout: float) -> None:
        """Drive ``scenario`` to its end: every exchange is given at most ``timeout`` seconds."""
        try:
            exchange = next(scenario)
            while True:
                exchange = scenario.send(self.exchange(exchange, timeout))
        except StopIteration:
            return

    def _socket_of(self, phone: Phone) -> socket.socket:
        return next(sock for owner, sock in self._phones.values() if owner is phone)

    def _send(self, phone: Phone, message: Message, to: tuple[str, int]) -> None:
        self._socket_of(phone).sendto(message.to_bytes(), to)

    def exchange(self, exchange: Exchange, timeout: float) -> Outcome:
        """Send one request and wait, at most ``timeout`` seconds, for its final response."""
        phone, request = exchange.phone, exchange.request
        server = (phone.server.host, phone.server.port)
        start = time.monotonic()
        self._send(phone, request, server)
        if request.method == "ACK":
            return Outcome((), 0.0)
        branch, method = request.top_branch, request.method
        responses: list[Message] = []
        interval = T1
        resend_at = start + interval
        deadline = start + timeout
        while True:
            now = time.monotonic()
            final = bool(responses) and responses[-1].status >= 200
            awaited = (
                exchange.await_at is None or exchange.await_method in exchange.await_at.received_methods()
            )
            if (final and awaited) or now >= deadline:
                return Outcome(tuple(responses), now - start)
            if not final and now >= resend_at and not (method == "INVITE" and responses):
                self._send(phone, request, server)
                interval = min(interval * 2, T2)
                resend_at = now + interval
            wait = max(0.0, min(deadline, resend_at) - now)
            for key, _events in self._selector.select(wait):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                owner = self._phones[sock.fileno()][0]
                try:
                    data, source = sock.recvfrom(_MAX_DATAGRAM)
                    message = parse(data)
                    if message.is_request:
                        for reply in owner.answer(message):
                            sock.sendto(reply.to_bytes(), source[:2])
                    elif (
                        owner is phone
                        and (message.top_branch, message.cseq[1]) == (branch, method)
                        and not (responses and responses[-1].status >= 200)
                    ):
                        responses.append(message)
                except (SipParseError, ConnectionError):
                    # Garbage, or an ICMP port-unreachable for an earlier datagram: the
                    # retransmission and the deadline decide, as for a lost packet.
                    continue

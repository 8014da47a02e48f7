"""Which addresses are this PBX: for Request-URIs and Route headers addressed to it, and for
spotting its own Via in a request that comes back (a loop)."""

from __future__ import annotations

from pbxd.config import SipSettings
from pbxd.sip.message import Request
from pbxd.sip.uri import SipUri, parse_port


class LocalAddresses:
    def __init__(self, settings: SipSettings) -> None:
        self._pairs = {(listen.host.lower(), listen.port) for listen in settings.listen}
        self._ports = {listen.port for listen in settings.listen}
        self._names = {settings.domain.lower()}

    def is_local(self, uri: SipUri) -> bool:
        return self._is_us(uri.host, uri.port)

    def _is_us(self, host: str, port: int | None) -> bool:
        """A listen address, or the domain on a listen port. The domain also stands for the
        wildcard listen addresses (0.0.0.0, ::): it is what Via and Record-Route name then."""
        if host in self._names and (port is None or port in self._ports):
            return True
        return (host, port or 5060) in self._pairs

    def in_via(self, request: Request) -> bool:
        """True when one of the request's Vias was written by this PBX (it has looped back)."""
        return any(self.is_own_via(value) for value in request.get_all("via"))

    def is_own_via(self, value: str) -> bool:
        host_port = value.partition(" ")[2].partition(";")[0].strip().lower()
        host, _, port_text = host_port.rpartition(":")
        port = parse_port(port_text)
        return port is not None and self._is_us(host, port)

"""The registrar (RFC 3261 §10.3): authenticated REGISTER requests maintain the bindings of
extensions to contacts.

Bindings live in memory for routing and are written through to the store on every change
before the 200 OK goes out, so that a PBX started elsewhere after a failover (``load``) knows
every phone that was registered. ``Binding.aor`` is the extension number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pbxd.auth import Authenticator
from pbxd.config import SipSettings
from pbxd.sip.message import MAX_NUMBER_DIGITS, Request, Response, make_response, new_tag
from pbxd.sip.uri import UriError, parse_digits, parse_name_addr, parse_port, parse_uri
from pbxd.store.base import Binding, Store
from pbxd.transport import Peer

log = logging.getLogger("pbxd.registrar")

# A phone that registers more contacts than this is misbehaving; refuse instead of growing.
MAX_CONTACTS_PER_EXTENSION = 20


class Registrar:
    def __init__(
        self,
        settings: SipSettings,
        store: Store,
        auth: Authenticator,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.auth = auth
        self.clock = clock
        self._bindings: dict[str, dict[str, Binding]] = {}
        # (host, port) of each binding's source and contact, so that an in-dialog request sent
        # straight to a phone's contact can be recognised as bound for one of our phones.
        self._by_address: dict[tuple[str, int], Binding] = {}
        # Told of every change a REGISTER makes (contact, and the binding or None when removed):
        # in a worker process, the other workers are told (``pbxd.workers``).
        self.on_change: Callable[[str, str, Binding | None], None] = lambda aor, contact, binding: None

    async def load(self) -> None:
        """Reload bindings from the store (after a restart or failover); expired ones are dropped."""
        now = self.clock()
        kept = 0
        for binding in await self.store.load_bindings():
            if binding.expires_at > now:
                self._remember(binding)
                kept += 1
        log.info("loaded %d registrations from the database", kept)

    def apply(self, aor: str, contact: str, binding: Binding | None) -> None:
        """A change another worker made (and stored): remember it here too."""
        if binding is None:
            self._forget(aor, contact)
        else:
            self._remember(binding)

    def lookup(self, number: str) -> list[Binding]:
        """The unexpired bindings of an extension, most recently refreshed first."""
        contacts = self._bindings.get(number)
        if not contacts:
            return []
        now = self.clock()
        current = [b for b in contacts.values() if b.expires_at > now]
        current.sort(key=lambda b: b.expires_at, reverse=True)
        return current

    def by_address(self, host: str, port: int) -> Binding | None:
        """The unexpired binding whose contact or source is ``host:port``."""
        binding = self._by_address.get((host, port))
        if binding is None or binding.expires_at <= self.clock():
            return None
        return binding

    async def sweep(self) -> None:
        """Forget expired bindings, in memory and in the store."""
        now = self.clock()
        for aor, contacts in list(self._bindings.items()):
            for contact, binding in list(contacts.items()):
                if binding.expires_at <= now:
                    self._forget(aor, contact)
                    await self.store.delete_binding(aor, contact)

    def _remember(self, binding: Binding) -> None:
        # A refreshed binding may come from a new source (a NAT moved the phone): drop the
        # addresses of the one it replaces, or they would point at it for ever.
        self._forget(binding.aor, binding.contact)
        self._bindings.setdefault(binding.aor, {})[binding.contact] = binding
        for address in _addresses(binding):
            self._by_address[address] = binding

    def _forget(self, aor: str, contact: str) -> None:
        contacts = self._bindings.get(aor, {})
        binding = contacts.pop(contact, None)
        if not contacts:
            self._bindings.pop(aor, None)
        if binding is not None:
            for address in _addresses(binding):
                if self._by_address.get(address) is binding:
                    del self._by_address[address]

    async def handle(self, request: Request, source: Peer) -> tuple[Response | None, bool]:
        """The answer to a REGISTER, and whether it is to be sent statelessly (the request did
        not authenticate); None: no answer (the source is over its cap)."""
        outcome = await self.auth.authenticate(request, (source.host, source.port), proxy=False)
        if outcome.username is None:
            return outcome.reject, True
        return await self._handle_authenticated(request, outcome.username, source), False

    async def _handle_authenticated(self, request: Request, username: str, source: Peer) -> Response:
        try:
            to_uri = parse_name_addr(request.get("to") or "").uri
        except UriError as error:
            return make_response(request, 400, f"Bad Request (To: {error})")
        aor = to_uri.user or ""
        if aor != username:
            return make_response(request, 403, "Forbidden (may only register its own extension)")
        return await self._update(request, aor, source)

    async def _update(self, request: Request, aor: str, source: Peer) -> Response:
        contact_values = request.get_all("contact")
        expires_header = (request.get("expires") or "").strip()  # digits: checked by the parser
        call_id = request.call_id
        cseq = request.cseq[0]
        current = dict(self._bindings.get(aor, {}))
        if any(value.strip() == "*" for value in contact_values):
            if len(contact_values) != 1 or expires_header != "0":
                return make_response(
                    request, 400, "Bad Request (Contact: * needs Expires: 0 and no other Contact)"
                )
            for binding in current.values():
                if binding.call_id == call_id and binding.cseq >= cseq:
                    return make_response(request, 500, "Server Internal Error (CSeq out of order)")
            await self.store.delete_bindings(aor)
            for bound in list(current):
                self._forget(aor, bound)
                self.on_change(aor, bound, None)
            log.info("extension %s unregistered every contact", aor)
            return self._ok(request, aor)
        now = self.clock()
        changes: list[tuple[str, Binding | None]] = []
        for value in contact_values:
            try:
                contact = parse_name_addr(value)
            except UriError as error:
                return make_response(request, 400, f"Bad Request (Contact: {error})")
            param = contact.params.get("expires")
            text = param if param is not None else (expires_header or str(self.settings.default_expires))
            seconds = parse_digits(text, MAX_NUMBER_DIGITS)
            if seconds is None:
                return make_response(
                    request, 400, f"Bad Request (Contact expires {text[:20]!r} is not a number)"
                )
            expires = min(seconds, self.settings.max_expires)
            if 0 < expires < self.settings.min_expires:
                return make_response(
                    request, 423, extra=[("min-expires", str(self.settings.min_expires))], to_tag=new_tag()
                )
            uri = str(contact.uri)
            existing = current.get(uri)
            if existing is not None and existing.call_id == call_id and existing.cseq >= cseq:
                return make_response(request, 500, "Server Internal Error (CSeq out of order)")
            if expires == 0:
                changes.append((uri, None))
            else:
                binding = Binding(
                    aor=aor,
                    contact=uri,
                    expires_at=now + expires,
                    call_id=call_id,
                    cseq=cseq,
                    source=str(source),
                    user_agent=(request.get("user-agent") or "")[:200],
                )
                changes.append((uri, binding))
        added = sum(1 for uri, b in changes if b is not None and uri not in current)
        if len(current) + added > MAX_CONTACTS_PER_EXTENSION:
            return make_response(request, 403, f"Forbidden (more than {MAX_CONTACTS_PER_EXTENSION} contacts)")
        for uri, new in changes:
            if new is None:
                if uri in current:
                    await self.store.delete_binding(aor, uri)
                    self._forget(aor, uri)
                    self.on_change(aor, uri, None)
            else:
                await self.store.put_binding(new)
                self._remember(new)
                self.on_change(aor, uri, new)
        return self._ok(request, aor)

    def _ok(self, request: Request, aor: str) -> Response:
        now = self.clock()
        extra = [
            ("contact", f"<{b.contact}>;expires={max(0, round(b.expires_at - now))}")
            for b in self.lookup(aor)
        ]
        return make_response(request, 200, to_tag=new_tag(), extra=extra)


def _addresses(binding: Binding) -> list[tuple[str, int]]:
    addresses = []
    _, _, rest = binding.source.partition(":")
    host, _, port_text = rest.rpartition(":")
    port = parse_port(port_text)
    if port is not None:
        addresses.append((host, port))
    try:
        uri = parse_uri(binding.contact)
    except UriError:
        return addresses
    addresses.append((uri.host, uri.port or 5060))
    return addresses

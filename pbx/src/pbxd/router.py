"""The transaction user at the top of the stack: it sends each request to the part of the PBX
that deals with it (registrar, proxy, or the PBX's own OPTIONS answer for health probes)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from pbxd.endpoint import Endpoint, Incoming
from pbxd.identity import LocalAddresses
from pbxd.proxy import ALLOW, Proxy
from pbxd.registrar import Registrar
from pbxd.sip.message import Request, Response, make_response, new_tag
from pbxd.sip.uri import UriError, parse_uri
from pbxd.transport import Peer

log = logging.getLogger("pbxd.router")


class Router:
    def __init__(self, endpoint: Endpoint, registrar: Registrar, proxy: Proxy, local: LocalAddresses) -> None:
        self.endpoint = endpoint
        self.registrar = registrar
        self.proxy = proxy
        self.local = local
        self._tasks: set[asyncio.Task[None]] = set()

    def on_request(self, incoming: Incoming) -> None:
        request = incoming.request
        if request.method == "REGISTER":
            source = (incoming.source.host, incoming.source.port)
            early = self.registrar.auth.precheck(request, source, proxy=False)
            if early is not None:
                self.endpoint.respond_statelessly(incoming, early.response)
            else:
                self._spawn(self._register(incoming))
        elif request.method == "OPTIONS" and request.tag("to") is None and self._for_us(request):
            self.endpoint.respond(
                incoming, make_response(request, 200, to_tag=new_tag(), extra=[("allow", ALLOW)])
            )
        else:
            self.proxy.on_request(incoming)

    def on_cancel(self, cancel: Incoming, invite: Incoming | None) -> None:
        self.proxy.on_cancel(cancel, invite)

    def on_ack(self, ack: Request, source: Peer) -> None:
        self.proxy.on_ack(ack, source)

    def on_stray_response(self, response: Response, source: Peer) -> None:
        self.proxy.on_stray_response(response, source)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _for_us(self, request: Request) -> bool:
        try:
            uri = parse_uri(request.uri)
        except UriError:
            return False
        return self.local.is_local(uri) and not uri.user

    async def _register(self, incoming: Incoming) -> None:
        try:
            response, stateless = await self.registrar.handle(incoming.request, incoming.source)
        except Exception:
            log.exception("REGISTER from %s failed", incoming.source)
            response, stateless = make_response(incoming.request, 500, to_tag=new_tag()), False
        if stateless:
            self.endpoint.respond_statelessly(incoming, response)
        elif response is not None:
            self.endpoint.respond(incoming, response)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

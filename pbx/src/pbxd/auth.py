"""Digest authentication of requests (REGISTER with 401, INVITE with 407) against the
extension database, with throttling of sources that keep failing.

Answers to requests that did not authenticate (challenges, refusals) are meant to be sent
statelessly, and only as many as ``SourceGuard`` allows each source: beyond that the request
gets no answer at all (``reject`` None), so that the PBX amplifies nothing.

Extensions are cached for a few seconds: every REGISTER and INVITE needs one, and a database
round trip per request would dominate the cost of a registration.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pbxd.sip import digest
from pbxd.sip.message import Request, Response, make_response, new_tag
from pbxd.store.base import Extension, Store
from pbxd.throttle import FailureThrottle, SourceGuard

log = logging.getLogger("pbxd.auth")

EXTENSION_CACHE_SECONDS = 5.0

# The challenges offered, in order of preference (RFC 8760 §2.4). SHA-256 is verified whenever a
# client answers with it, but it is not offered by default: deployed clients fail on it
# (baresip 1.0's libre gives up with ENOSYS if *any* challenge is not MD5; SIPp 3.6.1 answers
# the first challenge even when it cannot compute it).
DEFAULT_CHALLENGE_ALGORITHMS = ("MD5",)
_CACHE_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class Hashes:
    """HA1 values of one identity for each supported algorithm."""

    md5: str
    sha256: str

    def for_algorithm(self, algorithm: str) -> str | None:
        base = algorithm.upper().removesuffix("-SESS")
        return {"MD5": self.md5, "SHA-256": self.sha256}.get(base)


HashLookup = Callable[[str], Awaitable[Hashes | None]]


Source = tuple[str, int]  # the address and port a request came from


@dataclass(frozen=True, slots=True)
class AuthOutcome:
    """Either ``username`` (authenticated) or ``reject``: the response to send statelessly,
    None when the source has had all the answers it may have for now."""

    username: str | None = None
    reject: Response | None = None


@dataclass(frozen=True, slots=True)
class Early:
    """An answer decided without the database (see ``Authenticator.precheck``): ``response``
    to send statelessly, or None to send nothing."""

    response: Response | None


class Authenticator:
    def __init__(
        self,
        realm: str,
        nonce_ttl: float,
        store: Store,
        *,
        throttle: FailureThrottle,
        guard: SourceGuard | None = None,
        clock: Callable[[], float] = time.time,
        algorithms: tuple[str, ...] = DEFAULT_CHALLENGE_ALGORITHMS,
    ) -> None:
        unsupported = [a for a in algorithms if a not in digest.SUPPORTED_ALGORITHMS]
        if not algorithms or unsupported:
            expected = list(digest.SUPPORTED_ALGORITHMS)
            raise ValueError(f"digest algorithms {list(algorithms)!r}: expected one or more of {expected}")
        self.algorithms = algorithms
        self.realm = realm
        self.store = store
        self.throttle = throttle
        self.guard = guard or SourceGuard()
        self.clock = clock
        # The To tag of every challenge and refusal: they are sent statelessly, and their ACK,
        # which no transaction absorbs, is recognised by it (``set_challenge_tag``).
        self.challenge_tag = new_tag()
        self.nonces = digest.NonceFactory(nonce_ttl)
        self._cache: dict[str, tuple[float, Extension | None]] = {}

    async def extension(self, number: str) -> Extension | None:
        now = self.clock()
        cached = self._cache.get(number)
        if cached is not None and now - cached[0] < EXTENSION_CACHE_SECONDS:
            return cached[1]
        extension = await self.store.get_extension(number)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[number] = (now, extension)
        return extension

    async def extension_hashes(self, username: str) -> Hashes | None:
        extension = await self.extension(username)
        if extension is None or not extension.enabled:
            return None
        if extension.realm != self.realm:
            log.warning(
                "extension %s has hashes for realm %r but the PBX uses realm %r: set its password again",
                username,
                extension.realm,
                self.realm,
            )
            return None
        return Hashes(extension.ha1_md5, extension.ha1_sha256)

    def set_challenge_tag(self, secret: bytes) -> None:
        """Derive the challenge tag from a secret the cluster shares, so that the node that
        takes over after a failover recognises the ACKs of its predecessor's challenges."""
        self.challenge_tag = hmac.new(secret, b"challenge-tag", hashlib.sha256).hexdigest()[:12]

    def precheck(self, request: Request, source: Source, *, proxy: bool) -> Early | None:
        """The answer that needs no database: a challenge to a request without credentials for
        our realm, or the refusal of a throttled source. None when ``authenticate`` must
        decide. (Half of all REGISTERs and INVITEs are first attempts: answering them here
        is cheap.)"""
        credentials = self._credentials(request, proxy)
        if credentials is None:
            return Early(self._limited(source, self.challenge(request, proxy=proxy, stale=False)))
        if self.throttle.blocked((source[0], credentials.username), self.clock()):
            return Early(self._limited(source, self._refusal(request, "too many failed attempts")))
        return None

    async def authenticate(
        self, request: Request, source: Source, *, proxy: bool, lookup: HashLookup | None = None
    ) -> AuthOutcome:
        """Check the request's digest answer; ``proxy`` selects 407/Proxy-Authorization."""
        now = self.clock()
        credentials = self._credentials(request, proxy)
        if credentials is None:
            return AuthOutcome(
                reject=self._limited(source, self.challenge(request, proxy=proxy, stale=False))
            )
        throttled = (source[0], credentials.username)
        if self.throttle.blocked(throttled, now):
            return AuthOutcome(
                reject=self._limited(source, self._refusal(request, "too many failed attempts"))
            )
        hashes = await (lookup or self.extension_hashes)(credentials.username)
        ha1 = hashes.for_algorithm(credentials.algorithm) if hashes is not None else None
        if ha1 is None or not digest.check_response(credentials, ha1, request.method):
            self.throttle.record_failure(throttled, now)
            log.info("authentication of %r from %s failed", credentials.username, source[0])
            return AuthOutcome(reject=self._limited(source, self._refusal(request, "wrong credentials")))
        if self.nonces.use(credentials.nonce, credentials.nc, now) is not digest.NonceStatus.VALID:
            return AuthOutcome(reject=self._limited(source, self.challenge(request, proxy=proxy, stale=True)))
        self.guard.authenticated(source[0], source[1], now)
        return AuthOutcome(username=credentials.username)

    def _limited(self, source: Source, response: Response) -> Response | None:
        return response if self.guard.allow(source[0], source[1], self.clock()) else None

    def _refusal(self, request: Request, why: str) -> Response:
        return make_response(request, 403, f"Forbidden ({why})", to_tag=self.challenge_tag)

    def _credentials(self, request: Request, proxy: bool) -> digest.Credentials | None:
        for value in request.get_all("proxy-authorization" if proxy else "authorization"):
            credentials = digest.parse_credentials(value)
            if credentials is not None and credentials.realm == self.realm:
                return credentials
        return None

    def challenge(self, request: Request, *, proxy: bool, stale: bool) -> Response:
        nonce = self.nonces.issue(self.clock())
        header = "proxy-authenticate" if proxy else "www-authenticate"
        # RFC 8760 §2.4: one challenge per algorithm offered, the preferred one first.
        extra = [
            (header, digest.challenge(self.realm, nonce, algorithm, stale=stale))
            for algorithm in self.algorithms
        ]
        return make_response(request, 407 if proxy else 401, to_tag=self.challenge_tag, extra=extra)

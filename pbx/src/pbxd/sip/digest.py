"""HTTP digest authentication as SIP uses it (RFC 2617, RFC 7616, RFC 8760).

Only hashes are handled here: HA1 comes from the extension database, never a password.
Nonces are a timestamp signed with a per-process secret, so any nonce can be checked without
remembering that it was issued, and one older than its lifetime is "stale" (RFC 7616 §3.3).
Only nonces that were answered correctly are remembered, with their highest nonce count, to
refuse replays.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from pbxd.sip import randomness

_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}

# Answers in either algorithm are verified. Which ones are *offered* is the caller's choice:
# see pbxd.auth.DEFAULT_CHALLENGE_ALGORITHMS.
SUPPORTED_ALGORITHMS = ("MD5", "SHA-256")

_AUTH_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)')


def hash_hex(algorithm: str, text: str) -> str:
    return _HASHES[_base_algorithm(algorithm)](text.encode("utf-8"))


def _base_algorithm(algorithm: str) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    if base not in _HASHES:
        raise ValueError(f"digest algorithm {algorithm!r} is not supported (use MD5 or SHA-256)")
    return base


def ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    return hash_hex(algorithm, f"{username}:{realm}:{password}")


def response_digest(
    algorithm: str,
    ha1_hex: str,
    *,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1) for qop absent or ``auth``."""
    if algorithm.upper().endswith("-SESS"):
        ha1_hex = hash_hex(algorithm, f"{ha1_hex}:{nonce}:{cnonce or ''}")
    ha2 = hash_hex(algorithm, f"{method}:{uri}")
    if qop:
        return hash_hex(algorithm, f"{ha1_hex}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return hash_hex(algorithm, f"{ha1_hex}:{nonce}:{ha2}")


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """``Digest a="1", b=2`` -> ("digest", {"a": "1", "b": "2"}); names lower-cased."""
    scheme, _, rest = value.strip().partition(" ")
    params = _split_simple_params(rest)
    if params is None:
        params = {name.lower(): _unquote(raw) for name, raw in _AUTH_PARAM.findall(rest)}
    return scheme.lower(), params


def _split_simple_params(text: str) -> dict[str, str] | None:
    """The common form, ``a="x", b=y`` with no comma or escape inside quotes, split without the
    regular expression (which was the costliest step of a registration); None for any other
    form, which the regular expression then reads."""
    if "\\" in text:
        return None
    params: dict[str, str] = {}
    for item in text.split(","):
        name, sep, raw = item.partition("=")
        name = name.strip()
        raw = raw.strip()
        if not sep or name not in _DIGEST_PARAM_NAMES:
            return None
        quotes = raw.count('"')
        if quotes == 2 and raw[0] == '"' and raw[-1] == '"':
            raw = raw[1:-1]
        elif quotes or " " in raw or "\t" in raw:
            return None
        params[name.lower()] = raw
    return params


# The parameters of RFC 7616 §3.4 as clients write them; any other name takes the long way.
_DIGEST_PARAM_NAMES = frozenset(
    {"username", "realm", "nonce", "uri", "response", "algorithm"}
    | {"cnonce", "opaque", "qop", "nc", "userhash"}
)


def _unquote(raw: str) -> str:
    if not raw.startswith('"'):
        return raw
    inner = raw[1:-1]
    return re.sub(r"\\(.)", r"\1", inner) if "\\" in inner else inner


@dataclass(frozen=True, slots=True)
class Credentials:
    """A parsed Authorization or Proxy-Authorization header."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str
    qop: str | None
    nc: str | None
    cnonce: str | None
    opaque: str | None


# The authenticator reads a request's credentials twice (the cheap checks, then the digest),
# and a phone's retransmission carries the same header: recent answers are kept, parsed. Only
# values of a phone's size (some 300 characters) are kept, so that the cache holds at most
# about 1 MB however large the headers a stranger sends (a message may have 64 KB).
CACHED_CREDENTIALS = 1024
MAX_CACHED_CREDENTIALS_LENGTH = 1024


def parse_credentials(value: str) -> Credentials | None:
    """None when the header is not a usable Digest answer (wrong scheme or fields missing)."""
    if len(value) > MAX_CACHED_CREDENTIALS_LENGTH:
        return _parse_credentials(value)
    return _parse_credentials_cached(value)


def _parse_credentials(value: str) -> Credentials | None:
    scheme, params = parse_auth_params(value)
    if scheme != "digest":
        return None
    try:
        return Credentials(
            username=params["username"],
            realm=params["realm"],
            nonce=params["nonce"],
            uri=params["uri"],
            response=params["response"].lower(),
            algorithm=params.get("algorithm", "MD5").upper(),
            qop=params.get("qop"),
            nc=params.get("nc"),
            cnonce=params.get("cnonce"),
            opaque=params.get("opaque"),
        )
    except KeyError:
        return None


_parse_credentials_cached = functools.lru_cache(maxsize=CACHED_CREDENTIALS)(_parse_credentials)


def check_response(credentials: Credentials, ha1_hex: str, method: str) -> bool:
    """True when the client's response was computed from ``ha1_hex``. The digest ``uri`` is
    the one the client sent (some clients, SIPp for one, do not use the Request-URI)."""
    if credentials.qop is not None and credentials.qop.lower() != "auth":
        return False
    if credentials.qop is not None and (not credentials.nc or not credentials.cnonce):
        return False
    expected = response_digest(
        credentials.algorithm,
        ha1_hex,
        nonce=credentials.nonce,
        method=method,
        uri=credentials.uri,
        qop=credentials.qop,
        nc=credentials.nc,
        cnonce=credentials.cnonce,
    )
    return hmac.compare_digest(expected, credentials.response)


class NonceStatus(Enum):
    VALID = "valid"
    STALE = "stale"  # ours (or plausibly another process's) but too old: re-challenge silently
    FORGED = "forged"


class KeyedHash:
    """HMAC-SHA256 under one key, its key schedule computed once: nonces and Record-Routes
    are signed and checked on every request's path, and ``hmac.new`` spent most of its time
    on the key (1.8 us a signature instead of 4.6)."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def hexdigest(self, data: bytes) -> str:
        signer = self._keyed.copy()
        signer.update(data)
        return signer.hexdigest()


# Nonces whose counts are remembered (see NonceFactory.use): about 100 bytes each.
NONCE_COUNT_LIMIT = 100_000


class NonceFactory:
    """Issues and checks stateless nonces: ``<timestamp hex>.<salt>.<HMAC of both>``.

    Checking needs no memory; ``use`` also remembers the highest nonce count (``nc``) accepted
    for each nonce, so that a captured answer cannot be sent again while its nonce is young
    (the digest does not cover Contact: a replayed REGISTER could bind any address). A nonce
    is remembered by its timestamp and salt as one integer (the signature was checked): every
    call's challenge adds one, kept for the nonce's lifetime, and the string cost three times
    as much.
    """

    def __init__(
        self, ttl: float, secret: bytes | None = None, *, count_limit: int = NONCE_COUNT_LIMIT
    ) -> None:
        self._ttl = ttl
        self._signer = KeyedHash(secret or secrets.token_bytes(32))
        self._count_limit = count_limit
        # (issue time in ms << 32 | salt) -> highest count accepted; and the keys in order of
        # first use (a deque: a dict whose oldest entries are deleted one by one is slow to
        # search for its first entry).
        self._counts: dict[int, int] = {}
        self._order: deque[int] = deque()
        # Nonces issued at or before this time may have been used and forgotten since.
        self._forgotten_until = float("-inf")

    def issue(self, now: float) -> str:
        # The salt makes every nonce unique, even two issued within the same millisecond.
        signed = f"{int(now * 1000):x}.{randomness.token_hex(4)}"
        return f"{signed}.{self._sign(signed)}"

    def check(self, nonce: str, now: float) -> NonceStatus:
        signed, _, signature = nonce.rpartition(".")
        stamp = signed.partition(".")[0]
        if not hmac.compare_digest(self._sign(signed), signature):
            # Signed by another process (a restart or failover changes the secret): the client
            # knew the password, so it only needs a fresh nonce.
            return NonceStatus.FORGED
        try:
            issued = int(stamp, 16) / 1000
        except ValueError:
            return NonceStatus.FORGED
        if not issued - 5 <= now <= issued + self._ttl:
            return NonceStatus.STALE
        return NonceStatus.VALID

    def use(self, nonce: str, nc: str | None, now: float) -> NonceStatus:
        """``check``, and STALE as well when ``nc`` is not higher than every count accepted
        before for this nonce (a replay). An answer without qop has no count: its nonce
        serves once. Call only for answers whose digest is right."""
        status = self.check(nonce, now)
        if status is not NonceStatus.VALID:
            return status
        count = _nonce_count(nc)
        if count is None:
            return NonceStatus.STALE
        self._forget_expired(now)
        try:
            stamp, salt, _ = nonce.split(".", 2)
            key = int(stamp, 16) << 32 | int(salt, 16)
        except ValueError:
            return NonceStatus.STALE  # signed with our secret but not as this version issues them
        known = self._counts.get(key)
        if known is None and _issued(key) <= self._forgotten_until:
            return NonceStatus.STALE  # maybe used before it was forgotten: challenge afresh
        if known is not None and count <= known:
            return NonceStatus.STALE
        if known is None:
            self._order.append(key)
        self._counts[key] = count
        if len(self._counts) > self._count_limit:
            oldest = self._order.popleft()
            del self._counts[oldest]
            self._forgotten_until = max(self._forgotten_until, _issued(oldest))
        return NonceStatus.VALID

    def _forget_expired(self, now: float) -> None:
        order, counts = self._order, self._counts
        while order and _issued(order[0]) + self._ttl < now:
            del counts[order.popleft()]

    def _sign(self, signed: str) -> str:
        return self._signer.hexdigest(signed.encode("ascii", "replace"))[:32]


def _issued(key: int) -> float:
    """The issue time (seconds) of a remembered nonce's key."""
    return (key >> 32) / 1000


def _nonce_count(nc: str | None) -> int | None:
    """The value of an ``nc`` parameter (RFC 7616 §3.4 says 8 hex digits; fewer are taken as
    meant); 0 when absent, None when not hexadecimal."""
    if nc is None:
        return 0
    if not 0 < len(nc) <= 16 or any(c not in "0123456789abcdefABCDEF" for c in nc):
        return None
    return int(nc, 16)


def challenge(realm: str, nonce: str, algorithm: str, *, stale: bool = False, opaque: str = "") -> str:
    """A WWW-Authenticate / Proxy-Authenticate value offering ``qop=auth``."""
    parts = [f'realm="{realm}"', f'nonce="{nonce}"', f"algorithm={algorithm}", 'qop="auth"']
    if opaque:
        parts.append(f'opaque="{opaque}"')
    if stale:
        parts.append("stale=true")
    return "Digest " + ", ".join(parts)


def authorization(
    *,
    challenge_value: str,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """The Authorization value a client sends in answer to ``challenge_value`` (used by trunks
    that authenticate to a peer, and by tests)."""
    _, params = parse_auth_params(challenge_value)
    algorithm = params.get("algorithm", "MD5").upper()
    realm = params["realm"]
    nonce = params["nonce"]
    offered = [option.strip().lower() for option in params.get("qop", "").split(",")]
    qop = "auth" if "auth" in offered else None
    nc_text = f"{nc:08x}"
    response = response_digest(
        algorithm,
        ha1(algorithm, username, realm, password),
        nonce=nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc_text if qop else None,
        cnonce=cnonce if qop else None,
    )
    parts = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        f"algorithm={algorithm}",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    if "opaque" in params:
        parts.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(parts)

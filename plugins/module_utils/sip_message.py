# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SIP messages and digest answers for the controller's smoke test, without any I/O.

Only what a test phone needs (RFC 3261 messages, RFC 2617/7616/8760 digest with qop=auth).
Parsing is lenient where servers differ (compact header names, several values on one line)
and strict where a wrong guess would hide a fault (a missing status or CSeq fails).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

# RFC 3261 §7.3.3: compact forms a server may use instead of the full names.
_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
}

REASONS = {
    100: "Trying",
    180: "Ringing",
    200: "OK",
    481: "Call/Transaction Does Not Exist",
    487: "Request Terminated",
}


class SipParseError(ValueError):
    """A datagram that is not a SIP message this client can use."""


@dataclass
class Message:
    """A request (``method`` set) or a response (``status`` set); header names lower case."""

    start_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("SIP/2.0 ")

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0] if self.is_request else self.cseq[1]

    @property
    def uri(self) -> str:
        return self.start_line.split(" ")[1]

    @property
    def status(self) -> int:
        if self.is_request:
            raise SipParseError(f"{self.start_line!r} is a request, not a response")
        return int(self.start_line.split(" ")[1])

    @property
    def reason(self) -> str:
        return self.start_line.split(" ", 2)[2] if self.start_line.count(" ") >= 2 else ""

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` by one, in the place of the first (or at the end)."""
        name = name.lower()
        index = next((i for i, (key, _value) in enumerate(self.headers) if key == name), len(self.headers))
        self.headers = [(key, val) for key, val in self.headers if key != name]
        self.headers.insert(min(index, len(self.headers)), (name, value))

    @property
    def call_id(self) -> str:
        return self._required("call-id")

    @property
    def cseq(self) -> tuple[int, str]:
        number, _space, method = self._required("cseq").partition(" ")
        try:
            return int(number), method.strip()
        except ValueError:
            raise SipParseError(f"CSeq {self._required('cseq')!r} does not start with a number") from None

    @property
    def vias(self) -> list[str]:
        """Every Via value in order, also when several share one header line."""
        return [part.strip() for value in self.get_all("via") for part in split_list(value)]

    @property
    def top_branch(self) -> str:
        vias = self.vias
        if not vias:
            raise SipParseError("the message has no Via header")
        return header_param(vias[0], "branch") or ""

    def tag(self, header: str) -> str | None:
        value = self.get(header)
        return header_param(value, "tag") if value else None

    def _required(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise SipParseError(f"the message has no {name} header")
        return value

    def to_bytes(self) -> bytes:
        lines = [self.start_line]
        lines += [f"{canonical(key)}: {value}" for key, value in self.headers if key != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


def canonical(name: str) -> str:
    """``call-id`` -> ``Call-ID``, ``cseq`` -> ``CSeq``: the spelling RFC 3261 uses."""
    special = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate"}
    return special.get(name, "-".join(part.capitalize() for part in name.split("-")))


def parse(data: bytes) -> Message:
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        raise SipParseError("no empty line ends the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SipParseError(f"the headers are not UTF-8: {error}") from None
    lines = text.split("\r\n")
    start = lines[0]
    if not (start.startswith("SIP/2.0 ") or start.endswith(" SIP/2.0")):
        raise SipParseError(f"{start[:80]!r} is not a SIP start line")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation (RFC 3261 §7.3.1)
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise SipParseError(f"header line {line[:80]!r} has no colon")
        key = name.strip().lower()
        headers.append((_COMPACT.get(key, key), value.strip()))
    message = Message(start, headers, body)
    length = message.get("content-length")
    if length is not None and length.isdigit():
        message.body = body[: int(length)]
    if not message.is_request:
        try:
            message.status  # noqa: B018 (checks that the status is a number)
        except (ValueError, IndexError):
            raise SipParseError(f"{start[:80]!r} has no numeric status") from None
    return message


def split_list(value: str) -> list[str]:
    """Split a header value on commas outside quotes and angle brackets."""
    parts: list[str] = []
    current: list[str] = []
    quoted = angle = False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            angle = True
        elif char == ">" and not quoted:
            angle = False
        if char == "," and not quoted and not angle:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in (p.strip() for p in parts) if part]


def header_param(value: str, name: str) -> str | None:
    """A ``;name=value`` parameter outside the angle brackets of a header value."""
    outside = re.sub(r"<[^>]*>", "", value)
    match = re.search(rf";\s*{re.escape(name)}\s*=\s*([^;,\s]+)", outside, re.IGNORECASE)
    return match.group(1) if match else None


def uri_in(value: str) -> str:
    """The URI of a name-addr (``"Bob" <sip:b@h>;tag=1`` -> ``sip:b@h``) or a bare addr-spec."""
    match = re.search(r"<([^>]*)>", value)
    return match.group(1) if match else value.split(";", 1)[0].strip()


def response_to(request: Message, status: int, *, to_tag: str | None = None) -> Message:
    """A response that copies what RFC 3261 §8.2.6.2 says it must: Vias, From, To, Call-ID, CSeq."""
    headers = [(key, value) for key, value in request.headers if key in ("via", "from", "call-id", "cseq")]
    to = request.get("to") or ""
    if to_tag is not None and header_param(to, "tag") is None:
        to = f"{to};tag={to_tag}"
    headers.insert(2, ("to", to))
    if 180 <= status < 300:
        headers += [("record-route", value) for value in request.get_all("record-route")]
    return Message(f"SIP/2.0 {status} {REASONS.get(status, 'OK')}", headers)


# --- digest -----------------------------------------------------------------------------------

_HASHES = {"MD5": "md5", "SHA-256": "sha256"}
_AUTH_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)')


def digest_hash(algorithm: str, text: str) -> str:
    name = _HASHES.get(algorithm.upper().removesuffix("-SESS"))
    if name is None:
        raise ValueError(f"digest algorithm {algorithm!r} is not supported; expected MD5 or SHA-256")
    return hashlib.new(name, text.encode("utf-8"), usedforsecurity=False).hexdigest()


def ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """H(username:realm:password), what a PBX stores instead of the password (RFC 7616 §3.4.2)."""
    return digest_hash(algorithm, f"{username}:{realm}:{password}")


def parse_challenge(value: str) -> dict[str, str]:
    """``Digest realm="r", nonce="n"`` -> {"realm": "r", "nonce": "n"}; names lower case."""
    scheme, _space, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise SipParseError(f"the challenge scheme is {scheme!r}, not Digest")
    params = {
        name.lower(): raw[1:-1] if raw.startswith('"') else raw for name, raw in _AUTH_PARAM.findall(rest)
    }
    if "nonce" not in params or "realm" not in params:
        raise SipParseError("the Digest challenge has no realm or no nonce")
    return params


def choose_challenge(values: list[str]) -> dict[str, str]:
    """The first challenge in an algorithm this client supports (the server's order is its preference)."""
    for value in values:
        params = parse_challenge(value)
        if params.get("algorithm", "MD5").upper().removesuffix("-SESS") in _HASHES:
            return params
    raise SipParseError("no challenge offers MD5 or SHA-256")


def authorization(
    challenge: dict[str, str],
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """The Authorization (or Proxy-Authorization) value answering ``challenge``."""
    algorithm = challenge.get("algorithm", "MD5")
    realm, nonce = challenge["realm"], challenge["nonce"]
    key = ha1(algorithm, username, realm, password)
    if algorithm.upper().endswith("-SESS"):
        key = digest_hash(algorithm, f"{key}:{nonce}:{cnonce}")
    ha2 = digest_hash(algorithm, f"{method}:{uri}")
    offered = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    fields = [f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    if "auth" in offered:
        count = f"{nc:08x}"
        response = digest_hash(algorithm, f"{key}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', "qop=auth", f"nc={count}", f'cnonce="{cnonce}"']
    else:
        fields.append(f'response="{digest_hash(algorithm, f"{key}:{nonce}:{ha2}")}"')
    fields.append(f"algorithm={algorithm}")
    if "opaque" in challenge:
        fields.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(fields)

"""SIP requests and responses (RFC 3261 §7, §20): parsing from bytes and serialising to bytes.

Headers are kept in arrival order as ``(name, value)`` pairs whose name is the lower-case full
form (compact forms such as ``v`` or ``i`` are expanded). Headers that may carry a
comma-separated list whose elements a proxy handles one by one (Via, Route, Record-Route,
Contact) are split into one pair per element, so "several Via values on one line" and "on
several lines" look the same to the rest of the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from pbxd.sip import randomness
from pbxd.sip.uri import (
    Params,
    UriError,
    parse_digits,
    parse_name_addr,
    parse_params,
    parse_port,
    render_params,
    split_hostport,
)

MAX_MESSAGE_SIZE = 65_535
MAX_HEADER_LINES = 200
# Digits accepted in CSeq, Expires and Max-Forwards values (2**32 has 10; RFC 3261 §8.1.1.5
# caps CSeq below 2**31).
MAX_NUMBER_DIGITS = 10

COMPACT_FORMS = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

_DISPLAY_NAMES = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
}

_DISPLAY_NAMES_LIMIT = 500

_KNOWN_NAMES = (
    *COMPACT_FORMS.values(),
    "cseq",
    "max-forwards",
    "record-route",
    "route",
    "user-agent",
    "server",
    "allow",
    "expires",
    "min-expires",
    "authorization",
    "proxy-authorization",
    "www-authenticate",
    "proxy-authenticate",
    "require",
    "proxy-require",
    "unsupported",
    "date",
    "accept",
    "retry-after",
    "p-asserted-identity",
)
_CANONICAL_NAMES = {name: name for name in _KNOWN_NAMES} | COMPACT_FORMS

_LIST_HEADERS = frozenset({"via", "route", "record-route", "contact"})

_MANDATORY = ("via", "from", "to", "call-id", "cseq")


class SipParseError(ValueError):
    """A message that cannot be understood. ``partial`` holds what could be parsed (start line
    and headers) so that a request with a usable Via can still be answered with 400."""

    def __init__(self, reason: str, partial: Message | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial


def display_name(name: str) -> str:
    known = _DISPLAY_NAMES.get(name)
    if known is not None:
        return known
    display = "-".join(part.capitalize() for part in name.split("-"))
    if len(_DISPLAY_NAMES) < _DISPLAY_NAMES_LIMIT:  # bounded: header names come from the network
        _DISPLAY_NAMES[name] = display
    return display


class Message:
    """What requests and responses share: headers and body."""

    __slots__ = ("_tags", "_via", "_via_text", "body", "headers")

    def __init__(self, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        self.headers = headers
        self.body = body
        # The parsed top Via, kept while the header value is the very same string object:
        # every layer asks for it, and parsing it each time showed up in profiles.
        self._via_text: str | None = None
        self._via: Via | None = None
        # The From and To tags, by header name, with the header value they were read from
        # (the proxy asks for them several times per message); made when first asked for.
        self._tags: dict[str, tuple[str, str | None]] | None = None

    # --- header access -------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        """The first value of header ``name`` (lower-case full name), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def set(self, name: str, value: str) -> None:
        """Replace every ``name`` header by one with ``value`` (at the first one's place)."""
        for index, (key, _) in enumerate(self.headers):
            if key == name:
                self.headers[index] = (name, value)
                self.headers[index + 1 :] = [h for h in self.headers[index + 1 :] if h[0] != name]
                return
        self.headers.append((name, value))

    def remove(self, name: str) -> None:
        self.headers = [h for h in self.headers if h[0] != name]

    def prepend(self, name: str, value: str) -> None:
        """Insert ``value`` before the first ``name`` header (a new top Via or Record-Route)."""
        for index, (key, _) in enumerate(self.headers):
            if key == name:
                self.headers.insert(index, (name, value))
                return
        self.headers.insert(0, (name, value))

    def pop_first(self, name: str) -> str | None:
        for index, (key, value) in enumerate(self.headers):
            if key == name:
                del self.headers[index]
                return value
        return None

    # --- frequently used fields ----------------------------------------------------------
    @property
    def call_id(self) -> str:
        return self.get("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        """(number, method) of the CSeq header; validated at parse time."""
        number, _, method = (self.get("cseq") or "0 ?").partition(" ")
        return int(number), method.strip()

    @property
    def top_via(self) -> Via:
        value = self.get("via")
        if value is None:
            raise SipParseError("message has no Via header")
        if value is not self._via_text or self._via is None:
            self._via = parse_via(value)
            self._via_text = value
        return self._via

    def replace_top_via(self, via: Via) -> None:
        """Write a changed top Via (received/rport added) back into the headers."""
        text = str(via)
        for index, (name, _) in enumerate(self.headers):
            if name == "via":
                self.headers[index] = ("via", text)
                break
        self._via_text, self._via = text, via

    def tag(self, name: str) -> str | None:
        """The tag parameter of the From or To header."""
        value = self.get(name)
        if value is None:
            return None
        if self._tags is None:
            self._tags = {}
        else:
            cached = self._tags.get(name)
            if cached is not None and cached[0] is value:
                return cached[1]
        tag = _tag_of(value)
        self._tags[name] = (value, tag)
        return tag

    # --- serialising ---------------------------------------------------------------------
    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        lines = [self._start_line()]
        names = _DISPLAY_NAMES
        lines.extend(
            f"{names.get(k) or display_name(k)}: {v}" for k, v in self.headers if k != "content-length"
        )
        lines.append(f"Content-Length: {len(self.body)}\r\n\r\n")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape") + self.body


class Request(Message):
    __slots__ = ("method", "uri")

    def __init__(self, method: str, uri: str, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        super().__init__(headers, body)
        self.method = method
        self.uri = uri

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} SIP/2.0"

    def copy(self) -> Request:
        clone = Request(self.method, self.uri, list(self.headers), self.body)
        clone._tags = _copied_tags(self)
        return clone

    def skeleton(self) -> Request:
        """A copy with only what identifies the request (a transaction that has sent or
        received its final response keeps this instead of the whole request for 32 s)."""
        headers = [h for h in self.headers if h[0] in _IDENTITY_HEADERS]
        return Request(self.method, self.uri, headers)

    def label(self) -> Request:
        """A copy with only what names the request in a log line (method, URI, Call-ID, CSeq):
        what a finished non-INVITE server transaction keeps, since nothing is built from its
        request any more, only its response repeated."""
        headers = [h for h in self.headers if h[0] in ("call-id", "cseq")]
        return Request(self.method, self.uri, headers)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri} call-id={self.call_id!r}>"


class Response(Message):
    __slots__ = ("reason", "status")

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        super().__init__(headers, body)
        self.status = status
        self.reason = reason

    def _start_line(self) -> str:
        return f"SIP/2.0 {self.status} {self.reason}"

    def copy(self) -> Response:
        clone = Response(self.status, self.reason, list(self.headers), self.body)
        clone._tags = _copied_tags(self)
        return clone

    def frozen(self) -> Response:
        """This response serialised once, for transactions that may have to repeat it."""
        return _FrozenResponse(self.status, self.reason, self.to_bytes())

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} call-id={self.call_id!r}>"


class _FrozenResponse(Response):
    """A response kept as its bytes: small, and never serialised twice."""

    __slots__ = ("_data",)

    def __init__(self, status: int, reason: str, data: bytes) -> None:
        super().__init__(status, reason, [])
        self._data = data

    def to_bytes(self) -> bytes:
        return self._data


# What a CANCEL or ACK built from a request needs besides its identity: Route, Max-Forwards.
_IDENTITY_HEADERS = frozenset({"via", "from", "to", "call-id", "cseq", "route", "max-forwards"})


# --- Via -----------------------------------------------------------------------------------
@dataclass(slots=True)
class Via:
    """One Via value: ``SIP/2.0/UDP host:port;branch=...;rport;received=...``."""

    transport: str
    host: str
    port: int | None
    params: Params

    @property
    def branch(self) -> str:
        return self.params.get("branch") or ""

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"SIP/2.0/{self.transport} {self.host}{port}{render_params(self.params)}"


def parse_via(value: str) -> Via:
    protocol, _, rest = value.strip().partition(" ")
    parts = protocol.split("/")
    if len(parts) != 3 or parts[0].strip().upper() != "SIP":
        # Tolerate "SIP / 2.0 / UDP" with spaces around the slashes.
        protocol, rest = _respace_via(value)
        parts = protocol.split("/")
        if len(parts) != 3 or parts[0].upper() != "SIP":
            raise SipParseError(f"Via {value!r} does not start with SIP/2.0/<transport>")
    hostport, _, param_text = rest.strip().partition(";")
    try:
        host, port = split_hostport(hostport, value)
    except UriError as error:
        raise SipParseError(f"Via {value!r}: {error}") from None
    params = parse_params(param_text)
    rport = params.get("rport")
    if rport is not None and parse_port(rport) is None:
        raise SipParseError(f"Via rport {rport[:20]!r} is not a port number between 1 and 65535")
    return Via(parts[2].strip().upper(), host, port, params)


def _respace_via(value: str) -> tuple[str, str]:
    compact = value.strip()
    head = ""
    while compact.count("/") and len(head.split("/")) < 3:
        part, _, compact = compact.partition("/")
        head += part.strip() + "/"
        compact = compact.lstrip()
    token, _, rest = compact.partition(" ")
    return head + token, rest


def _copied_tags(message: Message) -> dict[str, tuple[str, str | None]] | None:
    # A copy shares the header values, so the tags read from them stay right (each is kept
    # with the value it came from); the proxy asks a forwarded copy for them again.
    return None if message._tags is None else dict(message._tags)


def _tag_of(value: str) -> str | None:
    if "tag" not in value.lower():  # not "tag=": RFC 3261 allows "tag = x" (EQUAL is SWS "=" SWS)
        return None
    if '"' not in value:
        # No display name to hide a "<" or ";" in: the header parameters follow the ">" of
        # <uri>, or the first ";" of a bare URI (RFC 3261 §20.10); the URI itself need not be
        # parsed for its tag (three of them in every message a call relays).
        if "<" not in value:
            return parse_params(value.partition(";")[2]).get("tag")
        close = value.find(">", value.find("<"))
        return parse_params(value[close + 1 :]).get("tag") if close >= 0 else None
    try:
        return parse_name_addr(value).tag
    except UriError:
        return None


# --- parsing -------------------------------------------------------------------------------
def split_list(value: str) -> list[str]:
    """Split a header value at commas outside quotes and <>."""
    if "," not in value:
        return [value]
    if '"' not in value and "<" not in value:
        # Nothing to keep a comma in (the usual Via list): a plain split says the same, faster.
        return [item for item in (part.strip() for part in value.split(",")) if item]
    items: list[str] = []
    depth = 0
    quoted = False
    start = 0
    index = 0
    while index < len(value):
        char = value[index]
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "<":
            depth += 1
        elif char == ">":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            items.append(value[start:index].strip())
            start = index + 1
        index += 1
    items.append(value[start:].strip())
    return [item for item in items if item]


def parse_message(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one whole message. Over UDP the body is what follows the headers (cut to
    Content-Length); ``stream`` framing has already cut the body to Content-Length."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise SipParseError(f"message of {len(data)} bytes exceeds the limit of {MAX_MESSAGE_SIZE}")
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        head, body = data[:end], data[end + 4 :]
    else:
        end = data.find(b"\n\n")
        if end < 0:
            raise SipParseError("message has no empty line after its headers (truncated?)")
        head, body = data[:end], data[end + 2 :]
    text = head.decode("utf-8", "surrogateescape")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise SipParseError("empty message")
    if len(lines) > MAX_HEADER_LINES:
        raise SipParseError(f"message has more than {MAX_HEADER_LINES} header lines")
    message = _parse_start_line(lines[0])
    folded = "\n " in text or "\n\t" in text
    message.headers = _parse_headers(lines[1:], message, folded=folded)
    # The first value of each header, for the checks below: one pass in C instead of a scan
    # of the headers for each of them.
    first = dict(reversed(message.headers))
    length_text = first.get("content-length")
    if length_text is not None:
        length = parse_content_length(length_text)
        if length is None:
            raise SipParseError(f"Content-Length {length_text[:20]!r} is not a number", message)
        if length > len(body):
            raise SipParseError(f"body is shorter ({len(body)} bytes) than Content-Length {length}", message)
        body = body[:length]
    message.body = bytes(body)
    _validate(message, first)
    return message


def parse_content_length(text: str) -> int | None:
    """A Content-Length value (up to 10 ASCII digits), else None."""
    return parse_digits(text.strip(), MAX_NUMBER_DIGITS)


def _parse_start_line(line: str) -> Request | Response:
    parts = line.strip().split(" ", 2)
    if len(parts) < 2:
        raise SipParseError(f"start line {line[:80]!r} is neither a request nor a status line")
    if parts[0].upper().startswith("SIP/"):
        if parts[0].upper() != "SIP/2.0":
            raise SipParseError(f"unsupported SIP version {parts[0]!r}")
        status = parse_digits(parts[1], 3)
        if status is None or not 100 <= status <= 699:
            raise SipParseError(f"status code {parts[1][:20]!r} is not a number between 100 and 699")
        return Response(status, parts[2].strip() if len(parts) > 2 else "", [])
    if len(parts) != 3 or parts[2].strip().upper() != "SIP/2.0":
        raise SipParseError(f"request line {line[:80]!r} is not 'METHOD uri SIP/2.0'")
    method = parts[0]
    if not method.isalpha():
        raise SipParseError(f"method {method[:20]!r} is not a token")
    method = method.upper()
    # One string object per known method: transactions kept for 32 s hold it in their key.
    return Request(_KNOWN_METHODS.get(method, method), parts[1], [])


_KNOWN_METHODS = {
    method: method
    for method in (
        "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "UPDATE", "PRACK",
        "NOTIFY", "REFER", "SUBSCRIBE", "MESSAGE", "PUBLISH",
    )
}  # fmt: skip


def _parse_headers(lines: list[str], message: Message, *, folded: bool) -> list[tuple[str, str]]:
    if folded:
        lines = _unfold(lines)
    headers: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        canonical = _NAMES_SEEN.get(name) if sep else None
        if canonical is None:
            canonical = _canonical_name(name, sep, line, message)
        value = value.strip()
        if canonical in _LIST_HEADERS and "," in value:
            headers.extend((canonical, item) for item in split_list(value))
        else:
            headers.append((canonical, value))
    return headers


def _unfold(lines: list[str]) -> list[str]:
    """Join continuation lines to the header they continue (RFC 3261 §7.3.1)."""
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        elif line.strip():
            unfolded.append(line)
    return unfolded


# Header names as written on the wire ("Call-ID", "v", "Via ") -> lower-case full name, for the
# names seen so far: most messages use the same dozen spellings, and looking one up is cheaper
# than stripping and lower-casing it. Bounded, since names come from the network.
_NAMES_SEEN: dict[str, str] = {}
_NAMES_SEEN_LIMIT = 1000


def _canonical_name(name: str, sep: str, line: str, message: Message) -> str:
    canonical = name.strip().lower()
    if not sep or not canonical or " " in canonical:
        raise SipParseError(f"header line {line[:80]!r} has no 'Name: value' form", message)
    # One shared string object per known name: parsed messages stay smaller.
    canonical = _CANONICAL_NAMES.get(canonical, canonical)
    if len(_NAMES_SEEN) < _NAMES_SEEN_LIMIT:
        _NAMES_SEEN[name] = canonical
    return canonical


def _validate(message: Request | Response, first: dict[str, str]) -> None:
    """Check what every layer relies on; ``first`` maps each header name to its first value."""
    for name in _MANDATORY:
        if name not in first:
            raise SipParseError(f"mandatory header {display_name(name)} is missing", message)
    cseq = first["cseq"]
    number, _, method = cseq.partition(" ")
    method = method.strip()
    if parse_digits(number, MAX_NUMBER_DIGITS) is None or not method:
        raise SipParseError(f"CSeq {cseq[:40]!r} is not '<number> <METHOD>'", message)
    if isinstance(message, Request) and method.upper() != message.method:
        raise SipParseError(f"CSeq method {method!r} differs from the request method", message)
    try:
        message.top_via  # noqa: B018 - parsing is the check
    except SipParseError as error:
        raise SipParseError(error.reason, message) from None
    if isinstance(message, Request):
        max_forwards = first.get("max-forwards")
        if max_forwards is not None and parse_digits(max_forwards.strip(), MAX_NUMBER_DIGITS) is None:
            raise SipParseError(f"Max-Forwards {max_forwards[:20]!r} is not a number", message)
        expires = first.get("expires")
        if expires is not None and parse_digits(expires.strip(), MAX_NUMBER_DIGITS) is None:
            raise SipParseError(f"Expires {expires[:20]!r} is not a number of seconds", message)


# --- building responses --------------------------------------------------------------------
REASONS = {
    100: "Trying",
    180: "Ringing",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    600: "Busy Everywhere",
    603: "Decline",
}


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: list[tuple[str, str]] | None = None,
) -> Response:
    """A response to ``request`` (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied,
    a To tag added when given and the To header has none."""
    headers = [(k, v) for k, v in request.headers if k in ("via", "from", "call-id", "cseq")]
    to = request.get("to") or ""
    if to_tag and _tag_of(to) is None:
        to = f"{to};tag={to_tag}"
    headers.insert(_after_from(headers), ("to", to))
    if request.method == "INVITE" and 100 < status < 300:
        headers.extend(("record-route", v) for v in request.get_all("record-route"))
    if extra:
        headers.extend(extra)
    return Response(status, reason or REASONS.get(status, "Unknown"), headers)


def _after_from(headers: list[tuple[str, str]]) -> int:
    for index, (key, _) in enumerate(headers):
        if key == "from":
            return index + 1
    return len(headers)


def new_tag() -> str:
    """A random From/To tag (RFC 3261 §19.3)."""
    return randomness.token_hex(5)

"""SIP URIs and name-addr values (RFC 3261 §19.1 and §25.1), parsed leniently and rendered back.

Parameters keep their order and their original spelling; a parameter without a value (``;lr``)
has the value ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

Params = dict[str, str | None]


class UriError(ValueError):
    """A URI or name-addr that cannot be understood."""


def parse_digits(text: str, max_digits: int = 10) -> int | None:
    """The value of ``text`` if it is 1 to ``max_digits`` ASCII digits, else None.

    ``str.isdigit`` alone is not enough: it accepts digits such as "²" that ``int`` refuses,
    and ``int`` alone accepts signs, spaces, underscores and other scripts' digits.
    """
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def parse_port(text: str) -> int | None:
    """A port number 1..65535 written in ASCII digits, else None."""
    port = parse_digits(text, 5)
    return port if port is not None and 0 < port < 65536 else None


def parse_params(text: str) -> Params:
    """Parse ``;a=1;b`` (the leading ``;`` optional) into an ordered dict; names lower-cased."""
    params: Params = {}
    for raw in text.split(";"):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        params[name.strip().lower()] = value.strip() if sep else None
    return params


def render_params(params: Params) -> str:
    return "".join(f";{name}" if value is None else f";{name}={value}" for name, value in params.items())


@dataclass(slots=True)
class SipUri:
    """``sip:user:password@host:port;params?headers``. ``port`` is None when absent."""

    scheme: str
    user: str | None
    host: str
    port: int | None = None
    params: Params = field(default_factory=dict)
    headers: str = ""
    password: str | None = None

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user if self.password is None else f"{self.user}:{self.password}"
            userinfo += "@"
        port = "" if self.port is None else f":{self.port}"
        headers = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{userinfo}{self.host}{port}{render_params(self.params)}{headers}"

    @property
    def transport(self) -> str:
        """The transport the URI asks for (``udp`` when it names none)."""
        return (self.params.get("transport") or "udp").lower()

    def copy(self) -> SipUri:
        return replace(self, params=dict(self.params))


def parse_uri(text: str) -> SipUri:
    """Parse a sip:/sips: URI (or a tel:-like URI, kept with the whole remainder as host)."""
    text = text.strip()
    scheme, sep, rest = text.partition(":")
    if not sep or not scheme or not rest:
        raise UriError(f"URI {text!r} has no scheme (expected for example sip:1001@example.com)")
    scheme = scheme.lower()
    if scheme not in ("sip", "sips"):
        return SipUri(scheme=scheme, user=None, host=rest)
    rest, _, headers = rest.partition("?")
    user: str | None = None
    password: str | None = None
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        user, has_password, pw = userinfo.partition(":")
        password = pw if has_password else None
    hostport, _, param_text = rest.partition(";")
    host, port = split_hostport(hostport, text)
    return SipUri(scheme, user, host, port, parse_params(param_text), headers, password)


def split_hostport(hostport: str, context: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` (IPv6 references in brackets); host lower-cased."""
    hostport = hostport.strip()
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise UriError(f"unterminated IPv6 reference in {context!r}")
        host, port_text = hostport[: end + 1], hostport[end + 1 :].removeprefix(":")
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise UriError(f"no host in {context!r}")
    if not port_text:
        return host.lower(), None
    port = parse_port(port_text)
    if port is None:
        raise UriError(f"port {port_text!r} in {context!r} is not a number between 1 and 65535")
    return host.lower(), port


@dataclass(slots=True)
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI, header parameters."""

    uri: SipUri
    display: str = ""
    params: Params = field(default_factory=dict)

    def __str__(self) -> str:
        display = f"{self.display} " if self.display else ""
        return f"{display}<{self.uri}>{render_params(self.params)}"

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")


def parse_name_addr(text: str) -> NameAddr:
    """Parse ``"Alice" <sip:a@h>;tag=1``, ``<sip:a@h>`` or a bare ``sip:a@h;tag=1``.

    In the bare form, parameters belong to the header, not the URI (RFC 3261 §20).
    """
    text = text.strip()
    if "<" in text:
        # Skip a quoted display name first: it may itself contain "<".
        start = 0
        if text.startswith('"'):
            close = _closing_quote(text, 0)
            start = close + 1
        lt = text.find("<", start)
        gt = text.find(">", lt)
        if lt < 0 or gt < 0:
            raise UriError(f"unbalanced <> in {text!r}")
        display = text[:lt].strip()
        uri = parse_uri(text[lt + 1 : gt])
        return NameAddr(uri, display, parse_params(text[gt + 1 :]))
    uri_text, _, param_text = text.partition(";")
    return NameAddr(parse_uri(uri_text), "", parse_params(param_text))


def _closing_quote(text: str, opening: int) -> int:
    index = opening + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            return index
        index += 1
    raise UriError(f"unterminated quoted string in {text!r}")

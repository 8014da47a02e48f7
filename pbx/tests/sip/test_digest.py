"""Digest computations against the RFC test vectors, and stateless nonces."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from pbxd.sip import digest

RFC7616 = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "uri": "/dir/index.html",
}


def _rfc7616_response(algorithm: str) -> str:
    v = RFC7616
    return digest.response_digest(
        algorithm,
        digest.ha1(algorithm, v["username"], v["realm"], v["password"]),
        nonce=v["nonce"],
        method="GET",
        uri=v["uri"],
        qop="auth",
        nc="00000001",
        cnonce=v["cnonce"],
    )


def test_rfc7616_section_3_9_1_sha256_vector() -> None:
    assert _rfc7616_response("SHA-256") == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_rfc7616_section_3_9_1_md5_vector() -> None:
    assert _rfc7616_response("MD5") == "8ca523f5e9506fed4657c9700eebdbec"


def test_rfc2617_section_3_5_vector() -> None:
    ha1 = digest.ha1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    response = digest.response_digest(
        "MD5",
        ha1,
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method="GET",
        uri="/dir/index.html",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_credentials_are_parsed_with_quotes_commas_and_escapes() -> None:
    value = (
        'Digest username="10\\"01", realm="pbx, test", nonce="abc", uri="sip:127.0.0.1:5060",'
        ' response="ABCDEF", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="xyz"'
    )
    credentials = digest.parse_credentials(value)
    assert credentials is not None
    assert (credentials.username, credentials.realm, credentials.uri) == (
        '10"01',
        "pbx, test",
        "sip:127.0.0.1:5060",
    )
    assert (credentials.response, credentials.algorithm, credentials.qop) == ("abcdef", "SHA-256", "auth")


@pytest.mark.parametrize(
    "value",
    [
        'Digest username="1001",realm="pbx",nonce="n.1.a",uri="sip:h:5060",response="ab",algorithm=MD5',
        'Digest username = "1001" , realm="pbx", qop=auth, nc=00000001',
        'Digest username="a,b", realm="pbx"',
        'Digest username="a\\"b", realm="pbx"',
        'Digest username="a b", realm=pbx x, junk',
        "Digest realm=, =x, 9a=1, ok=2",
        "Digest",
    ],
)
def test_the_quick_reading_of_auth_parameters_agrees_with_the_full_one(value: str) -> None:
    """Plain parameter lists skip the regular expression; every form must read the same."""
    rest = value.partition(" ")[2]
    full = {name.lower(): digest._unquote(raw) for name, raw in digest._AUTH_PARAM.findall(rest)}
    assert digest.parse_auth_params(value) == ("digest", full)


def test_credentials_missing_a_field_or_of_another_scheme_are_ignored() -> None:
    assert digest.parse_credentials('Digest username="a", realm="r", nonce="n", uri="u"') is None
    assert digest.parse_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") is None


def test_check_response_uses_the_uri_the_client_sent() -> None:
    challenge = digest.challenge("pbx.test", "nonce-1", "MD5")
    answer = digest.authorization(
        challenge_value=challenge,
        method="REGISTER",
        uri="sip:127.0.0.1:5060",
        username="1001",
        password="secret",
        cnonce="c",
    )
    credentials = digest.parse_credentials(answer)
    assert credentials is not None
    ha1 = digest.ha1("MD5", "1001", "pbx.test", "secret")
    assert digest.check_response(credentials, ha1, "REGISTER")
    assert not digest.check_response(credentials, ha1, "INVITE")
    assert not digest.check_response(credentials, digest.ha1("MD5", "1001", "pbx.test", "other"), "REGISTER")


def test_session_variant_and_no_qop() -> None:
    ha1 = digest.ha1("MD5", "u", "r", "p")
    plain = digest.response_digest("MD5", ha1, nonce="n", method="REGISTER", uri="sip:x")
    assert plain == digest.hash_hex("MD5", f"{ha1}:n:{digest.hash_hex('MD5', 'REGISTER:sip:x')}")
    sess = digest.response_digest(
        "MD5-sess", ha1, nonce="n", method="REGISTER", uri="sip:x", qop="auth", nc="1", cnonce="c"
    )
    session_ha1 = digest.hash_hex("MD5", f"{ha1}:n:c")
    expected = digest.hash_hex("MD5", f"{session_ha1}:n:1:c:auth:{digest.hash_hex('MD5', 'REGISTER:sip:x')}")
    assert sess == expected


def test_nonces_are_valid_then_stale_and_foreign_ones_are_detected() -> None:
    factory = digest.NonceFactory(ttl=300, secret=b"k" * 32)
    nonce = factory.issue(1000.0)
    assert factory.check(nonce, 1000.0) is digest.NonceStatus.VALID
    assert factory.check(nonce, 1299.0) is digest.NonceStatus.VALID
    assert factory.check(nonce, 1301.0) is digest.NonceStatus.STALE
    other = digest.NonceFactory(ttl=300, secret=b"x" * 32)
    assert other.check(nonce, 1000.0) is digest.NonceStatus.FORGED
    assert factory.check("garbage", 1000.0) is digest.NonceStatus.FORGED
    stamp, _, signature = nonce.partition(".")
    assert factory.check(f"{int(stamp, 16) + 1:x}.{signature}", 1000.0) is digest.NonceStatus.FORGED


def test_the_authenticator_offers_only_algorithms_it_can_verify() -> None:
    from pbxd.auth import Authenticator
    from pbxd.memstore import MemoryStore
    from pbxd.throttle import FailureThrottle

    def make(algorithms: tuple[str, ...]) -> Authenticator:
        return Authenticator("r", 300, MemoryStore(), throttle=FailureThrottle(20), algorithms=algorithms)

    assert make(("SHA-256", "MD5")).algorithms == ("SHA-256", "MD5")
    for bad in ((), ("SHA-512",), ("MD5", "md4")):
        with pytest.raises(ValueError, match="expected one or more of"):
            make(bad)


def test_a_nonce_count_must_go_up_and_forgotten_nonces_are_challenged_again() -> None:
    factory = digest.NonceFactory(ttl=300, secret=b"k" * 32, count_limit=2)
    first, second, third = (factory.issue(1000.0 + i) for i in range(3))
    assert first != factory.issue(1000.0)  # unique within one millisecond
    assert factory.use(first, "00000001", 1010.0) is digest.NonceStatus.VALID
    assert factory.use(first, "00000001", 1010.0) is digest.NonceStatus.STALE  # replayed
    assert factory.use(first, "00000003", 1011.0) is digest.NonceStatus.VALID
    assert factory.use(first, "00000002", 1012.0) is digest.NonceStatus.STALE  # went back
    assert factory.use(first, "not-hex", 1012.0) is digest.NonceStatus.STALE
    assert factory.use(second, None, 1013.0) is digest.NonceStatus.VALID  # no qop: once only
    assert factory.use(second, None, 1013.0) is digest.NonceStatus.STALE
    # The limit of two pushes "first" out: its history is lost, so it is not trusted again.
    assert factory.use(third, "00000001", 1014.0) is digest.NonceStatus.VALID
    assert factory.use(first, "00000009", 1015.0) is digest.NonceStatus.STALE
    assert factory.use(third, "00000002", 1015.0) is digest.NonceStatus.VALID
    assert factory.use(third, "00000003", 1400.0) is digest.NonceStatus.STALE  # expired


def test_the_answer_uses_qop_auth_wherever_the_challenge_lists_it() -> None:
    for offered in ('"auth-int, auth"', '"auth"', "auth", '"auth-int,auth"'):
        answer = digest.authorization(
            challenge_value=f'Digest realm="r", nonce="n", qop={offered}',
            method="INVITE",
            uri="sip:2001@peer.test",
            username="u",
            password="p",
            cnonce="c",
        )
        credentials = digest.parse_credentials(answer)
        assert credentials is not None and credentials.qop == "auth", offered
        assert digest.check_response(credentials, digest.ha1("MD5", "u", "r", "p"), "INVITE")


def test_a_nonce_remembered_against_replay_costs_under_120_bytes() -> None:
    """Every call's challenge issues a nonce, and each one answered is remembered for the
    nonce's lifetime (300 s): at 1,000 calls a second the table is full at its limit, so its
    entries must stay small for memory to return near where it started after the load. About
    70 bytes each in the pure-Python build; about 102 compiled (pbx/setup.py says why)."""
    count = 20_000
    factory = digest.NonceFactory(ttl=300, secret=b"k" * 32, count_limit=count)
    nonces = [factory.issue(1000.0 + i / 1000) for i in range(count)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for nonce in nonces:  # a string of its own, as parsed from each request
        assert factory.use(nonce.encode().decode(), "00000001", 1030.0) is digest.NonceStatus.VALID
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert factory.use(nonces[0], "00000001", 1030.0) is digest.NonceStatus.STALE  # still known
    assert held / count < 120, held / count


def test_parsed_credentials_kept_for_reuse_are_only_those_of_a_phone_s_size() -> None:
    """Parsed answers are kept for the second read of the same header; a stranger's large
    headers must not fill that cache with up to 64 KB each."""

    def header(username: str) -> str:
        return (
            f'Digest username="{username}", realm="pbx.test", nonce="abc", uri="sip:pbx.test", '
            'response="00112233445566778899aabbccddeeff"'
        )

    phone = header("1001")
    assert digest.parse_credentials(phone) is digest.parse_credentials(phone)
    large = header("x" * digest.MAX_CACHED_CREDENTIALS_LENGTH)
    first = digest.parse_credentials(large)
    assert first is not None and first.username == "x" * digest.MAX_CACHED_CREDENTIALS_LENGTH
    assert digest.parse_credentials(large) is not first  # parsed afresh: never kept


def test_keyed_hash_is_hmac_sha256_of_rfc_4231() -> None:
    # RFC 4231 §4.3 (test case 2), then the same key reused: the precomputed key state must
    # not carry one message into the next.
    signer = digest.KeyedHash(b"Jefe")
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert signer.hexdigest(b"what do ya want for nothing?") == expected
    assert signer.hexdigest(b"what do ya want for nothing?") == expected
    assert signer.hexdigest(b"something else") != expected
    assert digest.KeyedHash(b"other key").hexdigest(b"what do ya want for nothing?") != expected

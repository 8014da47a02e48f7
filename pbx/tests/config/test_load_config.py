"""Loading and validating the TOML configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from pbxd.config import (
    ConfigError,
    DatabaseSettings,
    DialRule,
    Listen,
    LogSettings,
    PbxConfig,
    SipSettings,
    Trunk,
    load_config,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "pbx.toml"

MINIMAL = """
[sip]
listen = ["udp:127.0.0.1:5060"]
realm = "pbx.test"
domain = "pbx.test"

[database]
url = "sqlite:///pbx.db"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pbx.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    return raised.value.problems


def test_minimal_file_gets_the_dataclass_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config == PbxConfig(
        sip=SipSettings(listen=(Listen("udp", "127.0.0.1", 5060),), realm="pbx.test", domain="pbx.test"),
        # Relative SQLite paths are relative to the configuration file, not to the working folder.
        database=DatabaseSettings(f"sqlite:///{tmp_path.resolve() / 'pbx.db'}"),
        log=LogSettings(),
    )


def test_the_documented_example_is_valid_and_complete() -> None:
    config = load_config(EXAMPLE)
    assert config.sip.listen == (Listen("udp", "127.0.0.2", 5060), Listen("tcp", "127.0.0.2", 5060))
    # Windows paths are kept as they are, not joined to the example's folder.
    assert config.database == DatabaseSettings("sqlite:///D:/PBX/data/pbx.db")
    assert config.log == LogSettings("INFO", Path("D:/PBX/logs/pbxd.log"))
    assert config.trunks == (
        Trunk(
            "site-b",
            "127.0.0.3",
            5060,
            "udp",
            (r"2\d\d",),
            ("127.0.0.3",),
            keepalive_interval=30,
            trust_source_address=True,
        ),
    )
    assert config.dialplan[2] == DialRule(r"92\d\d", "trunk:site-b", strip=1)
    assert [rule.action for rule in config.dialplan] == [
        "local",
        "trunk:site-b",
        "trunk:site-b",
        "reject:403",
    ]


def test_every_key_in_the_dataclasses_is_documented_in_the_example() -> None:
    text = EXAMPLE.read_text()
    for settings in (SipSettings, Trunk, DialRule, LogSettings, DatabaseSettings):
        for name in settings.__dataclass_fields__:
            assert f"{name} =" in text or f"{name} = " in text, (
                f"{settings.__name__}.{name} missing in the example"
            )


def test_full_settings_are_read(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            MINIMAL.replace(
                'domain = "pbx.test"',
                'domain = "pbx.test"\nmin_expires = 30\nring_timeout = 5\n'
                'digest_algorithms = ["SHA-256", "MD5"]',
            )
            + """
[log]
level = "debug"
file = "logs/pbxd.log"

[[trunks]]
name = "b"
host = "127.0.0.3"
port = 5070
transport = "tcp"
numbers = ["2\\\\d+"]
trusted_sources = ["127.0.0.3", "::1"]
username = "a"
password = "pw"
keepalive_interval = 0

[[dialplan]]
pattern = "9(.*)"
action = "trunk:b"
strip = 1
prefix = "+49"
""",
        )
    )
    assert config.sip.min_expires == 30 and config.sip.ring_timeout == 5
    assert config.sip.digest_algorithms == ("SHA-256", "MD5")
    assert config.log == LogSettings("DEBUG", tmp_path.resolve() / "logs" / "pbxd.log")
    assert config.trunks == (
        Trunk("b", "127.0.0.3", 5070, "tcp", (r"2\d+",), ("127.0.0.3", "::1"), "a", "pw", 0),
    )
    assert config.dialplan == (DialRule("9(.*)", "trunk:b", 1, "+49"),)


def test_ipv6_listen_addresses_use_brackets(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL.replace('"udp:127.0.0.1:5060"', '"tcp:[::1]:5080"')))
    assert config.sip.listen == (Listen("tcp", "::1", 5080),)


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ('"udp:127.0.0.1"', 'sip.listen[1]: "udp:127.0.0.1" is not "transport:host:port"'),
        ('"sctp:127.0.0.1:5060"', 'sip.listen[1]: "sctp:127.0.0.1:5060" is not "transport:host:port"'),
        ('"udp:127.0.0.1:99999"', "the port must be from 1 to 65535"),
        ('"udp:bad host:5060"', "the host must be an IP address or a host name"),
        ("5060", 'sip.listen[1]: 5060 is not "transport:host:port"'),
    ],
)
def test_listen_errors_name_index_value_and_form(tmp_path: Path, listen: str, message: str) -> None:
    found = problems(tmp_path, MINIMAL.replace('"udp:127.0.0.1:5060"', f'"udp:127.0.0.1:5060", {listen}'))
    assert len(found) == 1 and message in found[0], found


def test_unknown_keys_are_errors_everywhere(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("[database]", "lisen = []\n[database]")
        + "[extra]\n"
        + '[[dialplan]]\npattern = "1"\naction = "local"\nstirp = 1\n'
    )
    found = problems(tmp_path, text)
    assert any(p.startswith("sip.lisen: unknown key; expected one of: listen, realm") for p in found), found
    assert any(p.startswith("extra: unknown key") for p in found), found
    assert any(p.startswith("dialplan[0].stirp: unknown key") for p in found), found


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[sip]
listen = []
realm = ""
max_expires = true

[log]
level = "LOUD"
""",
    )
    assert 'sip.listen: an array is not a non-empty array like ["udp:0.0.0.0:5060"]' in found
    assert 'sip.realm: "" is not a non-empty string' in found
    assert "sip.domain: missing; it is required" in found
    assert "sip.max_expires: true is not an integer from 1 to 604800" in found
    assert "[database]: missing; the section is required" in found
    assert 'log.level: "LOUD" is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL' in found


def test_expiry_bounds_must_be_ordered(tmp_path: Path) -> None:
    found = problems(
        tmp_path, MINIMAL.replace('domain = "pbx.test"', 'domain = "pbx.test"\nmin_expires = 7200')
    )
    assert found == [
        "sip.default_expires: 3600 is not between sip.min_expires (7200) and sip.max_expires (3600)"
    ]


def test_trunk_errors(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        MINIMAL
        + """
[[trunks]]
name = "b"
host = "127.0.0.3"
port = 0
transport = "sctp"
numbers = ["2[", "3"]
trusted_sources = ["somewhere"]
username = "x"

[[trunks]]
name = "b"
host = "127.0.0.4"
port = 5060
numbers = ["4"]
""",
    )
    assert "trunks[0].port: 0 is not an integer from 1 to 65535" in found
    assert 'trunks[0].transport: "sctp" is not "udp" or "tcp"' in found
    assert any(p.startswith('trunks[0].numbers[0]: "2[" is not a regular expression') for p in found)
    assert 'trunks[0].trusted_sources[0]: "somewhere" is not an IP address' in found
    assert "trunks[0]: username and password go together; give both or neither" in found
    assert 'trunks: the name "b" is used more than once; names must be unique' in found


_TRUSTED_TRUNK = """
[[trunks]]
name = "b"
host = "127.0.0.3"
port = 5060
numbers = ["2"]
trusted_sources = ["127.0.0.3"]
"""


def test_a_trunk_trusted_by_address_alone_needs_the_explicit_opt_in(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL + _TRUSTED_TRUNK)
    assert found == [
        "trunks[0]: trusted_sources without username and password would accept calls from those "
        "addresses unauthenticated (toll fraud for anyone who can send from them); set username and "
        "password for digest, or trust_source_address = true to accept that on purpose"
    ]
    assert problems(tmp_path, MINIMAL + _TRUSTED_TRUNK + 'trust_source_address = "yes"\n') == [
        'trunks[0].trust_source_address: "yes" is not true or false'
    ]
    config = load_config(write(tmp_path, MINIMAL + _TRUSTED_TRUNK + "trust_source_address = true\n"))
    assert config.trunks[0].trust_source_address
    with_digest = MINIMAL + _TRUSTED_TRUNK + 'username = "a"\npassword = "pw"\n'
    assert not load_config(write(tmp_path, with_digest)).trunks[0].trust_source_address


def test_secrets_are_never_repeated_in_errors(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + '[[trunks]]\nname = "b"\nhost = "127.0.0.3"\nport = 5060\nnumbers = ["2"]\n'
        + 'username = "u"\npassword = 1234567\n'
    )
    found = problems(tmp_path, text)
    assert found == ["trunks[0].password: (hidden) is not a non-empty string"]
    url_text = MINIMAL.replace('"sqlite:///pbx.db"', '"mysql://pbx:hunter2@db/pbx"')
    found = problems(tmp_path, url_text)
    assert len(found) == 1 and "hunter2" not in found[0] and found[0].startswith("database.url: ")


def test_dialplan_actions_must_name_configured_trunks(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        MINIMAL
        + '[[dialplan]]\npattern = "2.."\naction = "trunk:nowhere"\n'
        + '[[dialplan]]\npattern = "0"\naction = "reject:200"\n',
    )
    assert found == [
        'dialplan[0].action: "trunk:nowhere" is not "local", "trunk:<name>" (trunks: none configured) '
        'or "reject:<SIP status 400-699>"',
        'dialplan[1].action: "reject:200" is not "local", "trunk:<name>" (trunks: none configured) '
        'or "reject:<SIP status 400-699>"',
    ]


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[sip\n"))


def test_workers_are_read(tmp_path: Path) -> None:
    text = MINIMAL.replace('domain = "pbx.test"', 'domain = "pbx.test"\nworkers = 4')
    assert load_config(write(tmp_path, text)).sip.workers == 4


@pytest.mark.parametrize("value", ["0", "65", "true", '"2"', "1.5"])
def test_workers_must_be_a_small_positive_integer(tmp_path: Path, value: str) -> None:
    text = MINIMAL.replace('domain = "pbx.test"', f'domain = "pbx.test"\nworkers = {value}')
    (problem,) = problems(tmp_path, text)
    assert problem.startswith("sip.workers: ")
    assert "an integer from 1 to 64" in problem


@pytest.mark.parametrize("value", ["[]", '["MD5", "MD5"]', '["SHA-512"]', '"MD5"', '["md5"]'])
def test_digest_algorithms_must_be_distinct_supported_names(tmp_path: Path, value: str) -> None:
    text = MINIMAL.replace('domain = "pbx.test"', f'domain = "pbx.test"\ndigest_algorithms = {value}')
    (problem,) = problems(tmp_path, text)
    assert problem.startswith("sip.digest_algorithms: ")
    assert "a non-empty array of distinct names from ['MD5', 'SHA-256']" in problem


def test_values_that_go_into_sip_headers_must_fit_on_one_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[sip]
listen = ["udp:127.0.0.1:5060"]
realm = "pbx.test\\r\\nX-Injected: 1"
domain = "pbx.test\\n"

[database]
url = "sqlite:///pbx.db"

[[trunks]]
name = "b\\n"
host = "peer.test\\n"
port = 5060
numbers = ["2"]
""",
    )
    assert any(p.startswith("sip.realm: ") and "control character" in p for p in found), found
    assert 'sip.domain: "pbx.test\\n" is not an IP address or a host name' in found, found
    assert any(p.startswith("trunks[0].name: ") for p in found), found
    assert 'trunks[0].host: "peer.test\\n" is not an IP address or a host name' in found, found


def test_sqlite_durability_defaults_to_full_and_can_be_chosen(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, MINIMAL)).database.synchronous == "FULL"
    chosen = load_config(write(tmp_path, MINIMAL + 'synchronous = "normal"\n'))
    assert chosen.database.synchronous == "NORMAL"


def test_sqlite_durability_must_be_a_known_mode_and_sqlite_only(tmp_path: Path) -> None:
    assert problems(tmp_path, MINIMAL + 'synchronous = "OFF"\n') == [
        'database.synchronous: "OFF" is not one of NORMAL, FULL, EXTRA'
    ]
    postgres = MINIMAL.replace("sqlite:///pbx.db", "postgresql://pbx@127.0.0.1:5432/pbx")
    [message] = problems(tmp_path, postgres + 'synchronous = "FULL"\n')
    assert message.startswith("database.synchronous: applies to SQLite only")

"""World files: the examples load; each kind of mistake is refused naming the key, the value and
what is expected."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from wsfclab.errors import WorldError
from wsfclab.world import DEFAULT_PASSWORD, load_world, parse_size, parse_world

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TWO_NODE = EXAMPLES / "two-node-iscsi.yml"
THREE_NODE = EXAMPLES / "three-node-sas.yml"


def _base() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(TWO_NODE.read_text())
    return data


def _refused(data: dict[str, Any]) -> str:
    with pytest.raises(WorldError) as caught:
        parse_world(data)
    return str(caught.value)


def test_the_two_node_example_describes_nodes_nics_and_iscsi_luns() -> None:
    world = load_world(TWO_NODE)
    assert [n.name for n in world.nodes] == ["PBX-N1", "PBX-N2"]
    public, private = world.nodes[0].nics
    assert public.addresses == (("127.0.1.11", 24),) and public.gateway == "127.0.1.1"
    assert private.addresses == (("127.0.2.11", 24),) and private.gateway is None
    (target,) = world.iscsi_targets
    assert [(lun.name, lun.size) for lun in target.luns] == [("witness", 1024**3), ("data", 20 * 1024**3)]
    assert world.directory is not None and world.directory.netbios_name == "PBXLAB"
    assert world.nodes[0].os.build_number == "20348" and world.nodes[0].domain_member


def test_the_three_node_example_shares_sas_disks_with_every_node() -> None:
    world = load_world(THREE_NODE)
    assert len(world.nodes) == 3
    assert len(world.sas_disks) >= 3
    assert all(d.nodes == ("SAS-N1", "SAS-N2", "SAS-N3") for d in world.sas_disks)


def test_an_address_off_loopback_is_refused_with_its_key_path() -> None:
    data = _base()
    data["nodes"][1]["nics"][0]["addresses"] = ["10.0.0.5/24"]
    message = _refused(data)
    assert "nodes[1].nics[0].addresses[0]" in message and "10.0.0.5" in message and "127.0.0.0/8" in message


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("nodes", 0, "nics", 0, "mac"), "00-15-5D", "nodes[0].nics[0].mac"),
        (("nodes", 0, "name"), "THIS-NAME-IS-FAR-TOO-LONG", "nodes[0].name"),
        (("nodes", 0, "nics", 0, "gateway"), "127.0.9.1", "nodes[0].nics[0].gateway"),
        (("nodes", 0, "nics", 0, "status"), "Down", "nodes[0].nics[0].status"),
        (("nodes", 0, "features"), ["Not-A-Feature"], "nodes[0].features[0]"),
        (("nodes", 0, "memory_mb"), "lots", "nodes[0].memory_mb"),
        (("shared_storage", "iscsi_targets", 0, "initiators"), ["PBX-N9"], "initiators[0]"),
        (("shared_storage", "iscsi_targets", 0, "luns", 0, "size"), "big", "luns[0].size"),
        (("shared_storage", "iscsi_targets", 0, "portal"), "192.168.1.10", "iscsi_targets[0].portal"),
    ],
)
def test_bad_values_name_their_key(path: tuple[Any, ...], value: Any, expected: str) -> None:
    data = copy.deepcopy(_base())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    message = _refused(data)
    assert expected in message
    assert str(value if not isinstance(value, list) else value[0]) in message or "expected" in message


def test_a_build_number_that_contradicts_the_version_is_refused() -> None:
    data = _base()
    data["nodes"][0]["os"] = {"build_number": "17763"}
    message = _refused(data)
    assert "nodes[0].os.build_number" in message and "17763" in message and "10.0.20348" in message


def test_unknown_keys_are_refused() -> None:
    data = _base()
    data["nodes"][0]["nicks"] = []
    assert "nodes[0].nicks: unknown key" in _refused(data)


def test_duplicates_are_refused_naming_both_places() -> None:
    data = _base()
    data["nodes"][1]["nics"][0]["mac"] = data["nodes"][0]["nics"][0]["mac"]
    message = _refused(data)
    assert "nodes[1].nics[0].mac" in message and "nodes[0].nics[0].mac" in message


def test_two_nics_on_one_subnet_are_refused() -> None:
    data = _base()
    data["nodes"][0]["nics"][1]["addresses"] = ["127.0.1.99/24"]
    assert "give every NIC its own subnet" in _refused(data)


def test_joining_a_domain_needs_the_directory() -> None:
    data = _base()
    del data["active_directory"]
    data["nodes"][0]["domain_member"] = True
    assert "nodes[0].domain_member" in _refused(data)


def test_sizes_accept_units_and_bytes() -> None:
    assert parse_size("1GB", "x") == 1024**3
    assert parse_size("512 MB", "x") == 512 * 1024**2
    assert parse_size(4096, "x") == 4096
    with pytest.raises(WorldError, match="x: '12 parsecs' is not a size"):
        parse_size("12 parsecs", "x")


def test_a_missing_or_broken_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(WorldError, match="cannot read the world file"):
        load_world(tmp_path / "absent.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("nodes: [\n")
    with pytest.raises(WorldError, match="not valid YAML"):
        load_world(broken)


def test_two_luns_of_one_name_in_a_target_are_refused() -> None:
    data = _base()
    data["shared_storage"] = {
        "iscsi_targets": [
            {
                "name": "san1",
                "portal": "127.0.3.10",
                "initiators": ["N1"],
                "luns": [{"name": "data", "size": "1GB"}, {"name": "Data", "size": "2GB"}],
            }
        ]
    }
    message = _refused(data)
    assert "shared_storage.iscsi_targets[0].luns[1].name" in message
    assert "shared_storage.iscsi_targets[0].luns[0].name" in message and "'data'" in message


def test_accounts_default_to_administrator_and_the_deploying_account() -> None:
    data = _base()
    del data["active_directory"]["accounts"]
    world = parse_world(data)
    assert world.directory is not None
    assert [(a.name, a.password) for a in world.directory.accounts] == [
        ("Administrator", DEFAULT_PASSWORD),
        ("deploy", DEFAULT_PASSWORD),
    ]
    assert [a.name for a in world.nodes[0].local_accounts] == ["Administrator"]
    assert world.nodes[0].services_pipe_timeout_ms == 30000


def test_the_deploying_account_must_be_one_of_the_accounts() -> None:
    data = _base()
    data["active_directory"]["accounts"] = [{"name": "someone", "password": "x"}]
    assert "the deploying account 'deploy' is not among them" in _refused(data)


def test_an_account_password_is_never_shown_in_an_error() -> None:
    data = _base()
    data["active_directory"]["accounts"][0]["password"] = 12345678
    message = _refused(data)
    assert "active_directory.accounts[0].password: expected a non-empty string" in message
    assert "12345678" not in message
    data = _base()
    data["nodes"][0]["local_accounts"] = [{"name": "bad/name", "password": "x"}]
    assert "nodes[0].local_accounts[0].name: 'bad/name' is not an account name" in _refused(data)
    assert repr(parse_world(_base()).directory).count("Deploy-Pass-1") == 0

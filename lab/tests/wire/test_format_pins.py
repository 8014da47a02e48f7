"""Pins of the private files that define what ansible-core and ansible.windows send a Windows host.

The lab decodes formats that are private to ansible-core (the exec payload, the shell snippets)
and to ansible.windows (win_reboot's commands, win_copy's protocol, the modules' specs). When an
upgrade changes one of these files this test fails and names it: read the new version, adapt
wsfclab.wire / the twins and their tests, then record the new hash in format_pins.json. Never just re-pin.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

# version -> file (relative to the package / collection root) -> sha256
_PINS = json.loads((Path(__file__).with_name("format_pins.json")).read_text())
CORE_PINS: dict[str, dict[str, str]] = _PINS["ansible-core"]
ANSIBLE_WINDOWS_PINS: dict[str, dict[str, str]] = _PINS["ansible.windows"]


def _core() -> tuple[str, Path]:
    from ansible.release import __version__

    spec = importlib.util.find_spec("ansible")
    assert spec is not None and spec.origin is not None
    return __version__, Path(spec.origin).parent


def _ansible_windows() -> tuple[str, Path]:
    import ansible_collections.ansible.windows as collection

    root = Path(next(iter(collection.__path__)))
    version = json.loads((root / "MANIFEST.json").read_text())["collection_info"]["version"]
    return str(version), root


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _unpinned(kind: str, version: str, pins: dict[str, dict[str, str]]) -> str:
    return (
        f"{kind} {version} is not one the lab was checked against ({', '.join(pins)}): read its Windows wire "
        f"files, adapt wsfclab.wire and the twins, then pin it in format_pins.json"
    )


def test_the_installed_ansible_core_is_pinned() -> None:
    version, _root = _core()
    assert version in CORE_PINS, _unpinned("ansible-core", version, CORE_PINS)


@pytest.mark.parametrize("relative", sorted({f for pins in CORE_PINS.values() for f in pins}))
def test_ansible_core_wire_file_is_unchanged(relative: str) -> None:
    version, root = _core()
    pins = CORE_PINS.get(version)
    assert pins is not None, _unpinned("ansible-core", version, CORE_PINS)
    path = root / relative
    if relative not in pins:
        assert not path.exists(), (
            f"ansible-core {version} has {relative}, which the lab has not checked: pin it"
        )
        return
    assert _sha256(path) == pins[relative], (
        f"ansible-core {version} changed {relative}: the Windows wire may have changed; verify and re-pin"
    )


def test_the_installed_ansible_windows_is_pinned() -> None:
    version, _root = _ansible_windows()
    assert version in ANSIBLE_WINDOWS_PINS, _unpinned("ansible.windows", version, ANSIBLE_WINDOWS_PINS)


@pytest.mark.parametrize("relative", sorted({f for pins in ANSIBLE_WINDOWS_PINS.values() for f in pins}))
def test_ansible_windows_wire_file_is_unchanged(relative: str) -> None:
    version, root = _ansible_windows()
    pins = ANSIBLE_WINDOWS_PINS.get(version)
    assert pins is not None, _unpinned("ansible.windows", version, ANSIBLE_WINDOWS_PINS)
    assert _sha256(root / relative) == pins[relative], (
        f"ansible.windows {version} changed {relative}: verify what the lab decodes from it and re-pin"
    )

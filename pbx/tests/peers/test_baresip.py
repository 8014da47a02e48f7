"""A real softphone, baresip, registers with pbxd (checked in pbxd's database) and
unregisters when it quits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from peers.harness import BARESIP, PbxFactory, baresip_config, free_port, wait_until

pytestmark = pytest.mark.peer

PBX_HOST, PHONE = "127.0.0.2", "127.0.0.43"


def test_baresip_registers_and_unregisters(pbxes: PbxFactory, tmp_path: Path) -> None:
    pbx = pbxes("a", PBX_HOST)
    pbx.add_extension("100", "secret-100")
    pbx.start()
    phone_port = free_port(PHONE)
    config = baresip_config(
        tmp_path / "baresip",
        f"<sip:100@{pbx.host}:{pbx.port};transport=udp>;auth_pass=secret-100;regint=600",
        f"{PHONE}:{phone_port}",
    )
    # -t: baresip quits by itself after that many seconds (and unregisters as it goes).
    phone = subprocess.Popen(
        [BARESIP, "-f", str(config), "-t", "4"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        try:
            wait_until(lambda: any(aor == "100" for aor, *_ in pbx.bindings()), 5, "baresip's registration")
        except AssertionError:
            phone.kill()
            output, _ = phone.communicate(timeout=10)
            raise AssertionError(f"baresip did not register; its output:\n{output}") from None
        [(_, contact, source, user_agent)] = pbx.bindings()
        assert source == f"udp:{PHONE}:{phone_port}"
        # baresip puts an instance tag in the contact's user part ("100-0x5586...").
        assert contact.startswith("sip:100") and f"@{PHONE}:{phone_port}" in contact
        assert "baresip" in user_agent
        output, _ = phone.communicate(timeout=20)
    finally:
        if phone.poll() is None:
            phone.kill()
            phone.communicate(timeout=10)
    assert "200 OK" in output, output
    wait_until(lambda: pbx.bindings() == [], 5, "baresip's unregistration")

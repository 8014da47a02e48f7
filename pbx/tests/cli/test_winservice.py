"""The Windows service: planning is pure and tested here; pywin32 is never imported on Linux."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pbxd.winservice import missing_files, plan_service

PYTHON = "D:\\PBX\\python\\python.exe"
CONFIG = "D:\\PBX\\pbx.toml"


def test_pythonservice_host_needs_the_two_dlls_beside_it() -> None:
    plan = plan_service(python_exe=PYTHON, config_path=CONFIG, version=(3, 12))
    assert plan.exe_name == "D:\\PBX\\python\\pythonservice.exe"
    assert plan.image_path == "D:\\PBX\\python\\pythonservice.exe"
    assert plan.exe_args == ""
    assert plan.python_class == "pbxd.winservice.PbxService"
    assert plan.start_type == "manual"
    assert plan.required_files == (
        "D:\\PBX\\python\\pythonservice.exe",
        "D:\\PBX\\python\\python312.dll",
        "D:\\PBX\\python\\pywintypes312.dll",
    )
    present = {"D:\\PBX\\python\\pythonservice.exe", "D:\\PBX\\python\\python312.dll"}
    assert missing_files(plan, present.__contains__) == ["D:\\PBX\\python\\pywintypes312.dll"]


def test_python_host_passes_the_configuration_on_its_command_line() -> None:
    plan = plan_service(
        python_exe="C:\\Program Files\\PBX\\python.exe",
        config_path="C:\\Program Files\\PBX\\pbx.toml",
        name="pbxd-site-a",
        host="python",
        version=(3, 13),
    )
    assert plan.name == "pbxd-site-a"
    assert plan.image_path == (
        '"C:\\Program Files\\PBX\\python.exe" -m pbxd service run --config "C:\\Program Files\\PBX\\pbx.toml"'
    )
    assert plan.required_files == (
        "C:\\Program Files\\PBX\\python.exe",
        "C:\\Program Files\\PBX\\python313.dll",
    )


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        ("pb/xd", CONFIG, '--name: "pb/xd" is not a service name'),
        ("pbxd", "pbx.toml", '--config: "pbx.toml" is not an absolute path'),
    ],
)
def test_bad_service_arguments_are_refused(name: str, config: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_service(python_exe=PYTHON, config_path=config, name=name, version=(3, 12))


def test_cli_dry_run_and_refusal_on_linux_without_pywin32(tmp_path: Path) -> None:
    config = tmp_path / "pbx.toml"
    config.write_text("")
    probe = f"""
import io, json, sys
from pbxd.cli import main
config, python = {str(config)!r}, {PYTHON!r}
out, err = io.StringIO(), io.StringIO()
install = ["service", "install", "--config", config]
dry = main([*install, "--dry-run", "--python", python], stdout=out, stderr=err)
no_python = main(["service", "install", "--dry-run", "--config", config], stdout=io.StringIO(), stderr=err)
real = main(["service", "install", "--python", python, "--config", config], stdout=io.StringIO(), stderr=err)
remove = main(["service", "remove", "--config", config], stdout=io.StringIO(), stderr=err)
import pbxd.winservice, pbxd.runner, pbxd.server, pbxd.store.sqlite
pywin32 = ("win32serviceutil", "win32service", "win32event", "servicemanager", "pywintypes", "win32api")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in pywin32)
print(json.dumps({{"dry": dry, "no_python": no_python, "real": real, "remove": remove,
                  "plan": json.loads(out.getvalue()), "err": err.getvalue(), "loaded": loaded}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=30
    )
    found = json.loads(result.stdout)
    assert found["loaded"] == []
    assert found["dry"] == 0 and found["plan"]["changed"] is False
    assert found["plan"]["config_path"] == str(config)
    assert found["plan"]["image_path"] == "D:\\PBX\\python\\pythonservice.exe"
    assert found["no_python"] == 1 and "--python: needed outside Windows" in found["err"]
    assert found["real"] == 1 and "`pbxd service install` needs Windows (pywin32)" in found["err"]
    assert found["remove"] == 1 and "`pbxd service remove` needs Windows (pywin32)" in found["err"]


def test_service_run_outside_windows_runs_in_the_foreground(tmp_path: Path) -> None:
    """The lab starts `python -m pbxd service run` as the service process on Linux."""
    config = tmp_path / "pbx.toml"
    config.write_text(
        '[sip]\nlisten = ["udp:127.0.0.1"]\nrealm = "r"\ndomain = "d"\n[database]\nurl = "sqlite:///x"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "pbxd", "service", "run", "--config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    # It went down the foreground path: the configuration was loaded (and refused).
    assert result.returncode == 1
    assert 'sip.listen[0]: "udp:127.0.0.1" is not "transport:host:port"' in result.stderr

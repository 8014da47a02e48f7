"""win_package (python.org's CPython installer) and win_command (python.exe) on a lab node.

Together they are how the pbx role installs a full CPython and pbxd on the shared disk and runs
``python.exe -m pbxd ...`` there; each behaves as the real module does, and refuses what the
lab does not simulate.
"""

from __future__ import annotations

import io
import typing as t
import zipfile
from pathlib import Path

Driver = t.Any  # conftest.WindowsDriver

INSTALLER = r"C:\Temp\python-3.12.10-amd64.exe"
PYTHON = r"C:\PBX\python\python.exe"
QUIET = "/quiet InstallAllUsers=1 TargetDir=C:\\PBX\\python Include_launcher=0 Include_test=0 PrependPath=0"


def put_installer(windows: Driver, path: str = INSTALLER) -> None:
    local = windows.local(path)
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(b"MZ installer bytes")


def install_python(windows: Driver, **extra: t.Any) -> t.Any:
    args = {"path": INSTALLER, "arguments": QUIET, "creates_path": PYTHON, **extra}
    return windows.run("ansible.windows.win_package", args)


def test_the_cpython_installer_lays_out_the_interpreter_once(windows: Driver) -> None:
    put_installer(windows)
    first = install_python(windows)
    assert first.rc == 0, first.result
    assert first.result["changed"] is True and first.result["reboot_required"] is False
    assert len(first.result["checksum"]) == 40
    for name in ("python.exe", "pythonw.exe", "python312.dll", "Lib/site-packages", "Scripts"):
        assert (windows.local(r"C:\PBX\python") / name).exists(), name
    again = install_python(windows)
    assert again.result == {"changed": False, "reboot_required": False, "rc": 0}


def test_check_mode_installs_nothing_even_without_the_file(windows: Driver) -> None:
    outcome = install_python(windows, _ansible_check_mode=True)
    assert outcome.result["changed"] is True
    assert not windows.local(PYTHON).exists()


def test_a_missing_installer_fails_as_the_module_does(windows: Driver) -> None:
    outcome = install_python(windows)
    assert outcome.result["failed"] is True
    assert outcome.result["msg"] == f"the file at the path '{INSTALLER}' cannot be reached"


def test_other_installers_an_interactive_run_and_product_ids_are_refused(windows: Driver) -> None:
    put_installer(windows, r"C:\Temp\setup.exe")
    other = windows.run(
        "ansible.windows.win_package",
        {"path": r"C:\Temp\setup.exe", "arguments": "/S", "creates_path": r"C:\X\x.exe"},
    )
    assert other.result["msg"].startswith("unsupported in the lab: win_package runs only python.org's")
    put_installer(windows)
    interactive = install_python(windows, arguments="TargetDir=C:\\PBX\\python")
    assert "without /quiet or /passive" in interactive.result["msg"]
    by_id = windows.run("ansible.windows.win_package", {"path": INSTALLER, "product_id": "{X}"})
    assert by_id.result["msg"] == "unsupported in the lab: win_package product_id"
    assert not windows.local(PYTHON).exists()


def test_python_exe_runs_as_the_lab_python_with_paths_mapped(windows: Driver) -> None:
    put_installer(windows)
    install_python(windows)
    script = (
        "import os, pathlib; pathlib.Path(r'C:\\PBX\\out.txt').write_text(os.environ['COMPUTERNAME']); "
        "print('done')"
    )
    outcome = windows.run("ansible.windows.win_command", {"argv": [PYTHON, "-c", script]})
    assert outcome.rc == 0, outcome.result
    assert outcome.result["changed"] is True and outcome.result["stdout"] == "done\r\n"
    assert outcome.result["cmd"].startswith(f'{PYTHON} -c "import os')
    assert windows.local(r"C:\PBX\out.txt").read_text() == "PBX-N1"
    skipped = windows.run(
        "ansible.windows.win_command", {"cmd": f"{PYTHON} -V", "creates": r"C:\PBX\out.txt"}
    )
    assert (
        skipped.result["skipped"] is True and skipped.result["msg"] == r"skipped, since C:\PBX\out.txt exists"
    )


def _probe_wheel(folder: Path, version: str, modules: dict[str, str]) -> None:
    buffer = io.BytesIO()
    info = f"labprobe-{version}.dist-info"
    with zipfile.ZipFile(buffer, "w") as wheel:
        for name, text in modules.items():
            wheel.writestr(name, text)
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: labprobe\nVersion: {version}\n")
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    (folder / f"labprobe-{version}-py3-none-any.whl").write_bytes(buffer.getvalue())


def test_pip_installs_wheels_into_the_interpreters_own_site_packages(windows: Driver, tmp_path: Path) -> None:
    put_installer(windows)
    install_python(windows)
    wheels = windows.local(r"C:\PBX\wheels")
    wheels.mkdir(parents=True)
    _probe_wheel(wheels, "1.0", {"labprobe.py": "WHERE = 'shared disk'\n"})
    pip = windows.run(
        "ansible.windows.win_command",
        {"cmd": f"{PYTHON} -m pip install --no-index --find-links C:\\PBX\\wheels labprobe"},
    )
    assert pip.rc == 0, pip.result
    assert (windows.local(r"C:\PBX\python\Lib\site-packages") / "labprobe.py").exists()
    used = windows.run(
        "ansible.windows.win_command", {"argv": [PYTHON, "-c", "import labprobe; print(labprobe.WHERE)"]}
    )
    assert used.result["stdout"] == "shared disk\r\n"


def test_pip_replaces_the_installed_version_as_it_does_on_windows(windows: Driver) -> None:
    # pip uninstalls the version it replaces (up or down), metadata and files: one version is
    # installed afterwards, and a module only the old version had is gone.
    put_installer(windows)
    install_python(windows)
    wheels = windows.local(r"C:\PBX\wheels")
    wheels.mkdir(parents=True)
    _probe_wheel(wheels, "1.0", {"labprobe.py": "V = '1.0'\n", "labprobe_old.py": ""})
    _probe_wheel(wheels, "2.0", {"labprobe.py": "V = '2.0'\n"})
    site = windows.local(r"C:\PBX\python\Lib\site-packages")
    read = [
        PYTHON,
        "-c",
        "import importlib.metadata as m, labprobe; print(m.version('labprobe'), labprobe.V)",
    ]
    for wanted, left in (("2.0", "1.0"), ("1.0", "2.0")):
        pip = windows.run(
            "ansible.windows.win_command",
            {"argv": [PYTHON, "-m", "pip", "install", "--no-index", "--find-links", r"C:\PBX\wheels",
                      "--upgrade", f"labprobe=={wanted}"]},
        )  # fmt: skip
        assert pip.rc == 0, pip.result
        assert sorted(p.name for p in site.glob("labprobe-*.dist-info")) == [f"labprobe-{wanted}.dist-info"]
        assert (
            windows.run("ansible.windows.win_command", {"argv": read}).result["stdout"]
            == f"{wanted} {wanted}\r\n"
        )
        assert not (site / f"labprobe-{left}.dist-info").exists()
    assert (site / "labprobe_old.py").exists()  # 1.0 again: its own module is back
    windows.run(
        "ansible.windows.win_command",
        {"argv": [PYTHON, "-m", "pip", "install", "--no-index", "--find-links", r"C:\PBX\wheels",
                  "--upgrade", "labprobe==2.0"]},
    )  # fmt: skip
    assert not (site / "labprobe_old.py").exists()


def test_failures_are_the_modules_own(windows: Driver) -> None:
    missing = windows.run("ansible.windows.win_command", {"cmd": f"{PYTHON} -V"})
    assert (missing.result["rc"], missing.result["msg"]) == (
        2,
        f"Failed to run: '{PYTHON} -V': The system cannot find the file specified",
    )
    other = windows.run("ansible.windows.win_command", {"cmd": "whoami.exe /all"})
    expected = "unsupported in the lab: win_command runs only python.exe command lines in the lab"
    assert other.result["msg"] == f"{expected}, not 'whoami.exe /all'"
    put_installer(windows)
    install_python(windows)
    failing = windows.run("ansible.windows.win_command", {"argv": [PYTHON, "-c", "import sys; sys.exit(3)"]})
    assert (failing.result["failed"], failing.result["rc"], failing.result["msg"]) == (
        True,
        3,
        "non-zero return code",
    )
    check = windows.run("ansible.windows.win_command", {"cmd": f"{PYTHON} -V", "_ansible_check_mode": True})
    assert check.result["skipped"] is True

"""pbxd's two builds (pbx/setup.py): the Python source, and the same source compiled by mypyc.
`make test` runs pbxd's tests on each, and says which one it expects in PBXD_EXPECT_BUILD, so
that a run meant for the compiled build cannot quietly test the source instead."""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

from cli.cli_helpers import write_config
from pbxd import commands

PBX = Path(__file__).resolve().parents[2]


def compiled_modules() -> list[str]:
    """The modules pbx/setup.py compiles, as import names."""
    tree = ast.parse((PBX / "setup.py").read_text())
    listed = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "COMPILED" for t in node.targets)
    )
    assert isinstance(listed, ast.List)
    paths = [element.value for element in listed.elts if isinstance(element, ast.Constant)]
    return ["pbxd." + str(path).removesuffix(".py").replace("/", ".") for path in paths]


def is_extension(module_name: str) -> bool:
    path = importlib.import_module(module_name).__file__ or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_the_build_under_test_is_the_one_asked_for_and_every_listed_module_is_of_it() -> None:
    expected = os.environ.get("PBXD_EXPECT_BUILD", "pure")
    assert expected in ("pure", "compiled"), expected
    assert commands.build() == expected
    modules = compiled_modules()
    assert "pbxd.sip.message" in modules and "pbxd.proxy" in modules
    assert {name: is_extension(name) for name in modules} == dict.fromkeys(modules, expected == "compiled")
    # What is left out stays Python in both builds (pbx/setup.py says why).
    assert not is_extension("pbxd.store.database") and not is_extension("pbxd.commands")


def test_pbxd_stats_in_a_new_process_names_the_build_under_test(tmp_path: Path) -> None:
    """What an operator sees, and what the benchmarks rely on: a pbxd started with this
    environment (as they start it) runs the same build as these tests."""
    out = subprocess.run(
        [sys.executable, "-m", "pbxd", "--config", str(write_config(tmp_path)), "stats", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # no server listens: stats says so and exits non-zero
        cwd=tmp_path,
    )
    assert json.loads(out.stdout)["build"] == commands.build(), out.stderr


def test_an_unknown_pbxd_compile_setting_is_refused_by_name() -> None:
    result = subprocess.run(
        [sys.executable, str(PBX / "setup.py"), "--name"],
        check=False,
        env={**os.environ, "PBXD_COMPILE": "yes"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PBX,
    )
    assert result.returncode != 0
    assert "PBXD_COMPILE is 'yes': expected 1 (compile with mypyc) or 0 (pure Python)" in result.stderr


def test_the_source_imports_where_mypy_is_not_installed() -> None:
    """On a PBX node (Windows) only pbxd's own wheel is installed: no mypy_extensions, whose
    class attribute only mypyc reads. Blocked here as if absent."""
    probe = (
        "import sys; sys.modules['mypy_extensions'] = None\n"
        "from pbxd.config import Listen\n"
        "from pbxd.transport import Transports\n"
        "class Recording(Transports): pass\n"
        "made = Recording((Listen('udp', '127.0.0.1', 5060),), fallback_host='pbx.test')\n"
        "print(type(made).__mro__[1].__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False, cwd=PBX
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Transports"

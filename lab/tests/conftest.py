"""Fixtures for the lab core tests: fresh labs built from the example worlds, and a guard that no lab
process outlives its test.

The guard marks this test run in the environment every lab process inherits (``RUN_MARK``). After
each test's teardown, a process of this run that appeared during the test must be gone, unless the
next test is of the same module (a module's fixture may keep its lab until the module ends). A
survivor is killed and fails the teardown of the test that started it, naming it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from wsfclab import processes
from wsfclab.lab import Lab

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RUN_MARK = "WSFCLAB_TEST_RUN"
EXIT_GRACE = 5.0  # seconds a process being stopped at teardown may take to be gone

os.environ[RUN_MARK] = f"{os.getpid()}-{time.time_ns()}"
_MARK = f"{RUN_MARK}={os.environ[RUN_MARK]}".encode()
_started_by: dict[int, str] = {}  # pid -> node id of the test during which it appeared


def run_processes() -> dict[int, str]:
    """PID -> command line of the live processes started by this test run (they carry its mark)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if _MARK not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if stat[stat.rfind(")") + 2] not in "ZX":
            found[int(entry.name)] = " ".join(a for a in args if a)
    return found


def _survivors(tests: set[str]) -> dict[int, tuple[str, str]]:
    """The processes the given tests started that are still alive after a grace."""
    deadline = time.monotonic() + EXIT_GRACE
    while True:
        alive = run_processes()
        left = {
            pid: (test, alive[pid]) for pid, test in _started_by.items() if test in tests and pid in alive
        }
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    yield
    module = getattr(item, "module", None)
    if nextitem is not None and getattr(nextitem, "module", None) is module:
        return
    module_tests = {i.nodeid for i in item.session.items if getattr(i, "module", None) is module}
    left = _survivors(module_tests)
    for pid in left:
        del _started_by[pid]
        try:
            os.killpg(pid, signal.SIGKILL)  # the lab launches each process as a group leader
        except OSError:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    if left:
        lines = "\n".join(
            f"  started by {test}: pid {pid}: {cmd}" for pid, (test, cmd) in sorted(left.items())
        )
        raise AssertionError(f"lab processes outlived their tests (now killed):\n{lines}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None]:
    with _noting(item):
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    with _noting(item):
        yield


@contextlib.contextmanager
def _noting(item: pytest.Item) -> Iterator[None]:
    """Attribute the run's processes that appear meanwhile to ``item``."""
    before = set(run_processes())
    try:
        yield
    finally:
        for pid in set(run_processes()) - before:
            _started_by.setdefault(pid, item.nodeid)


def _cleanup(lab: Lab) -> None:
    if (lab.state_dir / "state.json").exists():
        with lab.session() as state:
            processes.stop_all(state)


@pytest.fixture
def two_node_world() -> Path:
    return EXAMPLES / "two-node-iscsi.yml"


@pytest.fixture
def three_node_world() -> Path:
    return EXAMPLES / "three-node-sas.yml"


@pytest.fixture
def lab(tmp_path: Path, two_node_world: Path) -> Iterator[Lab]:
    built = Lab.open(tmp_path / "state", two_node_world)
    yield built
    _cleanup(built)


@pytest.fixture
def sas_lab(tmp_path: Path, three_node_world: Path) -> Iterator[Lab]:
    built = Lab.open(tmp_path / "sas", three_node_world)
    yield built
    _cleanup(built)

"""Logging: console and file at the configured level, secrets masked."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pbxd.config import LogSettings
from pbxd.logs import redact, setup_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2 next", "password=*** next"),
        ('{"password": "hunter2"}', '{"password": "***"}'),
        ("ha1_md5: 0123abcd", "ha1_md5: ***"),
        ('Authorization: Digest username="100", response="6629fae49393a05397450978507c4ef1"', None),
        ("postgresql://pbx:hunter2@db/pbx", "postgresql://pbx:***@db/pbx"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redact(text: str, expected: str | None) -> None:
    cleaned = redact(text)
    assert "hunter2" not in cleaned and "6629fae49393a05397450978507c4ef1" not in cleaned
    if expected is not None:
        assert cleaned == expected


def test_console_and_file_at_the_configured_level_with_secrets_masked(tmp_path: Path) -> None:
    console = io.StringIO()
    log_file = tmp_path / "logs" / "pbxd.log"
    setup_logging(LogSettings(level="WARNING", file=log_file), console=console)
    log = logging.getLogger("pbxd.test")
    log.info("not shown at WARNING")
    log.warning("trunk login failed with password=%s", "hunter2")
    for text in (console.getvalue(), log_file.read_text()):
        assert "not shown" not in text
        assert "WARNING pbxd.test: trunk login failed with password=***" in text
        assert "hunter2" not in text


def test_setting_up_twice_does_not_duplicate_lines(tmp_path: Path) -> None:
    console = io.StringIO()
    setup_logging(LogSettings(level="INFO"), console=console)
    setup_logging(LogSettings(level="INFO"), console=console)
    logging.getLogger("pbxd.test").info("once")
    assert console.getvalue().count("once") == 1


def test_no_console_handler_without_a_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under pythonservice.exe sys.stderr is None; the file still gets every line."""
    monkeypatch.setattr("sys.stderr", None)
    log_file = tmp_path / "pbxd.log"
    setup_logging(LogSettings(level="INFO", file=log_file))
    assert [type(h).__name__ for h in logging.getLogger().handlers] == ["RotatingFileHandler"]
    logging.getLogger("pbxd.test").info("written")
    assert "written" in log_file.read_text()


def test_a_windows_log_path_is_refused_outside_windows_before_anything_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r'log.file: "D:/PBX/logs/pbxd.log" is a Windows path') as raised:
        setup_logging(LogSettings("INFO", Path("D:/PBX/logs/pbxd.log")), console=io.StringIO())
    assert "relative to the configuration file's folder" in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # no "D:" folder in the working directory

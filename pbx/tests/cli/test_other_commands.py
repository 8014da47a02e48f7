"""``pbxd calls list``, ``config check``, usage errors and the process entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pbxd.commands import CommandError, parse_moment
from pbxd.store import open_database
from pbxd.store.base import CallRecord

from cli.cli_helpers import Pbxd, write_config


def add_calls(pbxd: Pbxd) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0)
    database = open_database(f"sqlite:///{pbxd.database}", migrate=False)
    records = [
        CallRecord("old", "100", "101", "local", now - timedelta(days=3), disposition="busy", duration=0.0),
        CallRecord(
            "mid",
            "101",
            "200",
            "trunk:site-b",
            now - timedelta(hours=2),
            disposition="answered",
            answer=now - timedelta(hours=2),
            end=now - timedelta(hours=1),
            duration=3600.0,
        ),
        CallRecord("new", "102", "100", "local", now - timedelta(minutes=1)),
    ]
    for record in records:
        database.put_call_record(record)
    database.close()
    return now


def test_calls_list_filters_and_limits(pbxd: Pbxd) -> None:
    add_calls(pbxd)
    every = pbxd("calls", "list", "--json")
    assert every.json["changed"] is False
    assert [c["call_id"] for c in every.json["calls"]] == ["new", "mid", "old"]
    assert every.json["calls"][1]["route"] == "trunk:site-b" and every.json["calls"][1]["duration"] == 3600.0
    assert [c["call_id"] for c in pbxd("calls", "list", "--since", "1d", "--json").json["calls"]] == [
        "new",
        "mid",
    ]
    assert [c["call_id"] for c in pbxd("calls", "list", "--until", "30m", "--json").json["calls"]] == [
        "mid",
        "old",
    ]
    assert [c["call_id"] for c in pbxd("calls", "list", "--number", "200", "--json").json["calls"]] == ["mid"]
    assert [c["call_id"] for c in pbxd("calls", "list", "--limit", "1", "--json").json["calls"]] == ["new"]
    human = pbxd("calls", "list")
    assert "in progress" in human.out and "trunk:site-b" in human.out and "3600.0" in human.out
    assert human.out.rstrip().endswith("3 call(s)")


def test_calls_list_option_errors(pbxd: Pbxd) -> None:
    bad_time = pbxd("calls", "list", "--since", "yesterday")
    assert bad_time.code == 1 and '--since: "yesterday" is not a time; expected an ISO date' in bad_time.err
    bad_limit = pbxd("calls", "list", "--limit", "0")
    assert bad_limit.code == 1 and "--limit: 0 is not a positive number" in bad_limit.err
    assert pbxd("calls", "list", "--limit", "many").code == 2


def test_parse_moment_forms() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_moment("--since", "30m", now) == now - timedelta(minutes=30)
    assert parse_moment("--since", "7d", now) == now - timedelta(days=7)
    assert parse_moment("--since", "2026-11-25", now) == datetime(2026, 11, 25, tzinfo=UTC)
    offset = parse_moment("--since", "2026-11-25T10:00+02:00", now)
    assert offset == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    with pytest.raises(CommandError):
        parse_moment("--since", "5 minutes", now)


def test_config_check_summarises_without_secrets(tmp_path: Path) -> None:
    config = write_config(tmp_path, url="postgresql://pbx:hunter2@127.0.0.1:5432/pbx")
    tool = Pbxd(config, tmp_path / "unused.db")
    human = tool("config", "check")
    assert human.code == 0 and f"{config}: valid" in human.out
    assert "hunter2" not in human.out and "postgresql://pbx:***@127.0.0.1:5432/pbx" in human.out
    as_json = tool("config", "check", "--json")
    assert as_json.json["changed"] is False and as_json.json["listen"] == ["udp:127.0.0.1:5060"]

    config.write_text(config.read_text().replace('"udp:127.0.0.1:5060"', '"udp:127.0.0.1"'))
    broken = tool("config", "check", "--json")
    assert broken.code == 1
    assert 'sip.listen[0]: "udp:127.0.0.1" is not "transport:host:port"' in broken.json["error"]


def test_usage_errors_exit_2() -> None:
    tool = Pbxd(Path("/nonexistent.toml"), Path("/nonexistent.db"))
    assert tool("extension").code == 2
    assert tool("nonsense").code == 2
    assert tool("extension", "remove").code == 2


def test_config_from_the_environment_and_missing_config(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = {**os.environ, "PBXD_CONFIG": str(config)}
    ok = subprocess.run(
        [sys.executable, "-m", "pbxd", "config", "check", "--json"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["realm"] == "pbx.test"
    env.pop("PBXD_CONFIG")
    missing = subprocess.run(
        [sys.executable, "-m", "pbxd", "config", "check"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 2 and "pass --config FILE or set PBXD_CONFIG" in missing.stderr


def test_the_installed_entry_point_runs(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    pbxd = Path(sys.executable).parent / "pbxd"
    result = subprocess.run(
        [str(pbxd), "--config", str(config), "--json", "db", "migrate"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changed"] is True


WINDOWS_CONFIG = """
[sip]
listen = ["udp:127.0.0.1:5060"]
realm = "pbx.test"
domain = "pbx.test"

[database]
url = "sqlite:///D:/PBX/data/pbx.db"

[log]
file = "D:/PBX/logs/pbxd.log"
"""


def test_windows_paths_are_valid_but_noted_and_refused_in_use_outside_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "etc" / "pbx.toml"
    config.parent.mkdir()
    config.write_text(WINDOWS_CONFIG, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    tool = Pbxd(config, tmp_path / "unused")
    checked = tool("config", "check", "--json")
    assert checked.code == 0
    tail = "is a Windows path: used as written on Windows, refused on this system"
    assert checked.json["notes"] == [
        f"log.file D:/PBX/logs/pbxd.log {tail}",
        f"database.url D:/PBX/data/pbx.db {tail}",
    ]
    migrated = tool("db", "migrate")
    assert migrated.code == 1 and 'database.url: "D:/PBX/data/pbx.db" is a Windows path' in migrated.err
    ran = subprocess.run(
        [sys.executable, "-m", "pbxd", "--config", str(config), "run"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 1 and 'log.file: "D:/PBX/logs/pbxd.log" is a Windows path' in ran.stderr
    assert list(work.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["etc", "work"]

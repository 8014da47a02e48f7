"""``pbxd extension ...``: idempotent, JSON on request, passwords never on the command line."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from pbxd.store import open_database

from cli.cli_helpers import Pbxd, write_config


def stored(pbxd: Pbxd, number: str) -> Any:
    with sqlite3.connect(pbxd.database) as conn:
        row = conn.execute(
            "SELECT display_name, realm, ha1_md5, enabled FROM extensions WHERE number = ?", (number,)
        ).fetchone()
    return row


def test_add_stores_hashes_for_the_configured_realm(pbxd: Pbxd) -> None:
    result = pbxd("extension", "add", "100", "--name", "Alice", "--password-stdin", stdin="s3cret\n")
    assert (result.code, result.out) == (0, "extension 100 added\n")
    assert stored(pbxd, "100") == ("Alice", "pbx.test", hashlib.md5(b"100:pbx.test:s3cret").hexdigest(), 1)


def test_add_is_idempotent_and_refuses_silent_changes(pbxd: Pbxd) -> None:
    pbxd("extension", "add", "100", "--name", "Alice", "--password-stdin", stdin="s3cret")
    again = pbxd("extension", "add", "100", "--name", "Alice", "--password-stdin", "--json", stdin="s3cret")
    assert again.code == 0
    assert again.json == {"changed": False, "number": "100", "outcome": "unchanged"}

    other = pbxd("extension", "add", "100", "--name", "Alice", "--password-stdin", stdin="different")
    assert other.code == 1
    assert "100 already exist with different settings; pass --update" in other.err
    assert stored(pbxd, "100")[2] == hashlib.md5(b"100:pbx.test:s3cret").hexdigest()

    updated = pbxd(
        "extension", "add", "100", "--name", "Al", "--update", "--password-stdin", "--json", stdin="x"
    )
    assert updated.json == {"changed": True, "number": "100", "outcome": "updated"}
    assert stored(pbxd, "100")[0] == "Al"


def test_password_from_a_file(pbxd: Pbxd, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\r\n")
    assert pbxd("extension", "add", "101", "--password-file", str(secret)).code == 0
    assert stored(pbxd, "101")[2] == hashlib.md5(b"101:pbx.test:from-file").hexdigest()
    missing = pbxd("extension", "add", "102", "--password-file", str(tmp_path / "absent"))
    assert missing.code == 1 and "--password-file: cannot read" in missing.err


def test_password_is_required_and_never_an_argument(pbxd: Pbxd) -> None:
    assert pbxd("extension", "add", "100").code == 2
    assert pbxd("extension", "add", "100", "--password", "x").code == 2
    both = pbxd("extension", "add", "100", "--password-stdin", "--password-file", "f")
    assert both.code == 2 and "not allowed with argument" in both.err
    empty = pbxd("extension", "add", "100", "--password-stdin", stdin="\n")
    assert empty.code == 1 and "password from standard input: empty" in empty.err
    two_lines = pbxd("extension", "add", "100", "--password-stdin", stdin="a\nb\n")
    assert two_lines.code == 1 and "more than one line" in two_lines.err


def test_invalid_values_name_field_value_and_rule(pbxd: Pbxd) -> None:
    bad = pbxd("extension", "add", "10 0", "--password-stdin", "--json", stdin="pw")
    assert bad.code == 1
    assert bad.json["changed"] is False
    assert bad.json["error"].startswith('number: "10 0" is not an extension number (1-64 letters')
    quote = pbxd("extension", "add", "100", "--name", 'A"B', "--password-stdin", stdin="pw")
    assert quote.code == 1 and 'display name: "A"B" contains a quote' in quote.err


def test_remove_is_a_no_op_when_absent(pbxd: Pbxd) -> None:
    pbxd("extension", "add", "100", "--password-stdin", stdin="pw")
    first = pbxd("extension", "remove", "100", "--json")
    assert first.json == {"changed": True, "number": "100", "outcome": "removed"}
    second = pbxd("extension", "remove", "100")
    assert (second.code, second.out) == (0, "extension 100 unchanged (there was none)\n")


def test_passwd_changes_only_existing_extensions(pbxd: Pbxd) -> None:
    pbxd("extension", "add", "100", "--name", "Alice", "--password-stdin", stdin="old")
    changed = pbxd("extension", "passwd", "100", "--password-stdin", "--json", stdin="new")
    assert changed.json == {"changed": True, "number": "100", "outcome": "updated"}
    assert stored(pbxd, "100") == ("Alice", "pbx.test", hashlib.md5(b"100:pbx.test:new").hexdigest(), 1)
    same = pbxd("extension", "passwd", "100", "--password-stdin", "--json", stdin="new")
    assert same.json["changed"] is False
    absent = pbxd("extension", "passwd", "999", "--password-stdin", stdin="pw")
    assert absent.code == 1 and 'number: "999" is not an existing extension' in absent.err


def test_list_shows_no_hashes_and_flags_a_changed_realm(pbxd: Pbxd, tmp_path: Path) -> None:
    pbxd("extension", "add", "100", "--name", "Alice", "--password-stdin", stdin="pw")
    pbxd("extension", "add", "101", "--name", "Bob", "--disabled", "--password-stdin", stdin="pw")
    listed = pbxd("extension", "list", "--json")
    assert listed.json["changed"] is False
    rows = listed.json["extensions"]
    assert [(r["number"], r["display_name"], r["enabled"], r["realm_matches"]) for r in rows] == [
        ("100", "Alice", True, True),
        ("101", "Bob", False, True),
    ]
    md5 = hashlib.md5(b"100:pbx.test:pw").hexdigest()
    assert md5 not in listed.out

    write_config(tmp_path, realm="new.realm")
    human = pbxd("extension", "list")
    assert human.code == 0
    assert "100          yes" in human.out
    assert "(password set for realm pbx.test: set it again)" in human.out
    assert human.out.rstrip().endswith("2 extension(s)")
    assert md5 not in human.out


def test_import_adds_all_or_nothing(pbxd: Pbxd, tmp_path: Path) -> None:
    good = tmp_path / "users.csv"
    good.write_text(
        "number,display_name,password,enabled\n100,Alice,pa,true\n101,Bob,pb,no\n", encoding="utf-8"
    )
    first = pbxd("extension", "import", str(good), "--json")
    assert first.json["changed"] is True
    assert (first.json["added"], first.json["updated"], first.json["unchanged"]) == (2, 0, 0)
    assert stored(pbxd, "101")[3] == 0
    again = pbxd("extension", "import", str(good))
    assert again.out == f"{good}: 0 added, 0 updated, 2 unchanged\n"

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "number,display_name,password\n102,Carol,secret-carol\n1 03,Dan,secret-dan\n"
        "104,Eve,\n102,Again,secret-again\n",
        encoding="utf-8",
    )
    refused = pbxd("extension", "import", str(bad))
    assert refused.code == 1
    assert f'{bad} line 3, number: "1 03" is not an extension number' in refused.err
    assert f"{bad} line 4, password: empty" in refused.err
    assert f'{bad} line 5, number: "102" already appears on line 2' in refused.err
    assert "secret-" not in refused.err  # passwords are never echoed
    # Nothing from the bad file was written, not even its valid first row.
    assert stored(pbxd, "102") is None

    conflicting = tmp_path / "conflict.csv"
    conflicting.write_text("number,password\n100,changed\n105,pe\n", encoding="utf-8")
    conflict = pbxd("extension", "import", str(conflicting))
    assert conflict.code == 1 and "extension(s) 100 already exist" in conflict.err
    assert stored(pbxd, "105") is None
    updated = pbxd("extension", "import", str(conflicting), "--update", "--json")
    assert (updated.json["added"], updated.json["updated"]) == (1, 1)


def test_import_checks_the_header(pbxd: Pbxd, tmp_path: Path) -> None:
    csv_file = tmp_path / "users.csv"
    csv_file.write_text("number,name,secret\n100,A,p\n", encoding="utf-8")
    result = pbxd("extension", "import", str(csv_file))
    assert result.code == 1
    assert "line 1: the header is number,name,secret" in result.err
    assert "(unknown: name, secret)" in result.err and "(missing: password)" in result.err


def test_admin_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    tool = Pbxd(write_config(tmp_path), tmp_path / "pbx.db")
    result = tool("extension", "list")
    assert result.code == 1
    assert "does not exist" in result.err and "pbxd db migrate" in result.err
    assert not (tmp_path / "pbx.db").exists()


def test_db_migrate_reports_what_it_applied(tmp_path: Path) -> None:
    tool = Pbxd(write_config(tmp_path), tmp_path / "pbx.db")
    first = tool("db", "migrate", "--json")
    assert first.json["changed"] is True
    assert first.json["from_version"] == 0 and first.json["applied"][0] == {"version": 1, "name": "initial"}
    second = tool("db", "migrate")
    assert second.code == 0 and "unchanged at version" in second.out
    database = open_database(f"sqlite:///{tmp_path / 'pbx.db'}", migrate=False)
    assert database.schema_version() == first.json["version"]
    database.close()


def test_every_command_refuses_a_database_from_a_newer_pbxd(pbxd: Pbxd) -> None:
    with sqlite3.connect(pbxd.database) as conn:
        conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 'x')")
    for argv in (("db", "migrate"), ("extension", "list"), ("calls", "list")):
        result = pbxd(*argv, "--json")
        assert result.code == 1, argv
        assert "schema is at version 999" in result.json["error"] and "newer pbxd" in result.json["error"]

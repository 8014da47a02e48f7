"""``pbxd``: the command line (extensions, call records, schema, configuration, run, service).

Exit codes: 0 success, 1 error (the message says what to do), 2 usage error. ``--json``
prints one JSON object with at least ``changed``. Passwords are read from standard input or
a file, never from arguments (which other users can see in the process list).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from pbxd import commands
from pbxd.commands import CommandError, Result
from pbxd.config import ConfigError, PbxConfig, load_config
from pbxd.extensions import InvalidValueError
from pbxd.store.errors import StoreError
from pbxd.store.url import DatabaseUrlError

CONFIG_ENV = "PBXD_CONFIG"
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviations: "--password" must not quietly mean "--password-file".
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _common() -> _Parser:
    # SUPPRESS keeps a subcommand's copy of an option from overwriting the top-level one.
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"the TOML configuration file (default: ${CONFIG_ENV})",
    )
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    return common


def _add_password_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    source.add_argument("--password-file", type=Path, metavar="FILE", help="read the password from FILE")


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="pbxd", description="pbxd, a SIP PBX: manage and run it.", parents=[common])
    groups = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)

    extension = groups.add_parser("extension", help="manage extensions").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    add = extension.add_parser("add", parents=[common], help="add an extension (no-op if it exists alike)")
    add.add_argument("number")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--disabled", action="store_true", help="store it disabled (it cannot register)")
    add.add_argument("--update", action="store_true", help="change an existing extension with other settings")
    _add_password_source(add)
    remove = extension.add_parser("remove", parents=[common], help="remove an extension (no-op if absent)")
    remove.add_argument("number")
    extension.add_parser("list", parents=[common], help="list extensions")
    passwd = extension.add_parser("passwd", parents=[common], help="set an extension's password")
    passwd.add_argument("number")
    _add_password_source(passwd)
    imp = extension.add_parser(
        "import",
        parents=[common],
        help="add extensions from a CSV file (number,display_name,password[,enabled])",
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--update", action="store_true", help="change existing extensions with other settings")

    calls = groups.add_parser("calls", help="call detail records").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    calls_list = calls.add_parser("list", parents=[common], help="list call records, newest first")
    calls_list.add_argument("--since", help="from this time: 2026-11-26, 2026-11-26T14:00, 30m, 12h, 7d")
    calls_list.add_argument("--until", help="before this time (same forms as --since)")
    calls_list.add_argument("--number", help="only calls from or to this number")
    calls_list.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")

    config = groups.add_parser("config", help="configuration").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    config.add_parser("check", parents=[common], help="validate the configuration file")

    db = groups.add_parser("db", help="database").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    db.add_parser("migrate", parents=[common], help="create the database or bring its schema up to date")
    backup = db.add_parser(
        "backup", parents=[common], help="copy the SQLite database to PATH, consistently, while pbxd runs"
    )
    backup.add_argument("path", type=Path)
    backup.add_argument("--overwrite", action="store_true", help="replace PATH if it exists")
    restore = db.add_parser(
        "restore", parents=[common], help="replace the SQLite database with the backup PATH (pbxd stopped)"
    )
    restore.add_argument("path", type=Path)

    registrations = groups.add_parser("registrations", help="registered phones").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    registrations_list = registrations.add_parser(
        "list", parents=[common], help="list registered contacts that have not expired"
    )
    registrations_list.add_argument("--number", help="only this extension")

    groups.add_parser(
        "stats",
        parents=[common],
        help="read-only status: health, version, registrations, active calls, calls today",
    )

    groups.add_parser("run", parents=[common], help="run the PBX in the foreground until SIGTERM/SIGINT")

    service = groups.add_parser("service", help="the Windows service").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    install = service.add_parser("install", parents=[common], help="register pbxd as a Windows service")
    install.add_argument("--name", default="pbxd", help="service name (the same on every cluster node)")
    install.add_argument(
        "--host",
        choices=("pythonservice", "python"),
        default="pythonservice",
        help="the service binary: pythonservice.exe (default) or python.exe",
    )
    install.add_argument(
        "--dry-run", action="store_true", help="print what would be registered, change nothing"
    )
    install.add_argument(
        "--python", metavar="PATH", help="the python.exe that hosts the service (default: this interpreter)"
    )
    remove_service = service.add_parser("remove", parents=[common], help="unregister the Windows service")
    remove_service.add_argument("--name", default="pbxd")
    service.add_parser("run", parents=[common], help="run as the service (started by the service controller)")
    return parser


def _config_path(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Path:
    path: Path | None = getattr(args, "config", None)
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    if path is None:
        parser.error(f"no configuration file: pass --config FILE or set {CONFIG_ENV}")
    return path


def _password(args: argparse.Namespace, stdin: TextIO) -> str:
    from_stdin: bool = args.password_stdin
    return commands.read_password(
        from_stdin=from_stdin, stdin_text=stdin.read() if from_stdin else None, file=args.password_file
    )


def _dispatch(args: argparse.Namespace, config: PbxConfig, config_path: Path, stdin: TextIO) -> Result:
    key = (args.group, getattr(args, "action", None))
    now = datetime.now(UTC)
    handlers: dict[tuple[str, str | None], Callable[[], Result]] = {
        ("extension", "add"): lambda: commands.extension_add(
            config,
            args.number,
            args.name,
            _password(args, stdin),
            enabled=not args.disabled,
            update=args.update,
        ),
        ("extension", "remove"): lambda: commands.extension_remove(config, args.number),
        ("extension", "list"): lambda: commands.extension_list(config),
        ("extension", "passwd"): lambda: commands.extension_passwd(
            config, args.number, _password(args, stdin)
        ),
        ("extension", "import"): lambda: commands.extension_import(config, args.file, update=args.update),
        ("calls", "list"): lambda: commands.calls_list(
            config,
            since=None if args.since is None else commands.parse_moment("--since", args.since, now),
            until=None if args.until is None else commands.parse_moment("--until", args.until, now),
            number=args.number,
            limit=commands.ensure_positive("--limit", args.limit),
        ),
        ("config", "check"): lambda: commands.config_check(config, config_path),
        ("db", "migrate"): lambda: commands.db_migrate(config),
        ("db", "backup"): lambda: commands.db_backup(config, args.path, overwrite=args.overwrite),
        ("db", "restore"): lambda: commands.db_restore(config, args.path),
        ("registrations", "list"): lambda: commands.registrations_list(config, number=args.number, now=now),
        ("stats", None): lambda: commands.stats(config, now=now),
    }
    return handlers[key]()


def _emit(result: Result, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps({"changed": result.changed, **result.data}, indent=2) + "\n")
    else:
        out.write(result.text + "\n")


def _fail(message: str, as_json: bool, out: TextIO, err: TextIO) -> int:
    if as_json:
        out.write(json.dumps({"changed": False, "error": message}, indent=2) + "\n")
    err.write(f"pbxd: error: {message}\n")
    return EXIT_ERROR


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    # argparse writes help and usage errors to sys.stdout/sys.stderr itself.
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        args = parser.parse_args(argv)
        as_json: bool = getattr(args, "json", False)
        config_path = _config_path(args, parser)
    try:
        if args.group == "service":
            from pbxd import winservice  # noqa: PLC0415  (pywin32 is imported there, on Windows only)

            return winservice.command(args.action, config_path.absolute(), args, stdout)
        config = load_config(config_path)
        if args.group == "run":
            from pbxd import runner  # noqa: PLC0415

            return runner.run(config)
        result = _dispatch(args, config, config_path, stdin)
    except (
        CommandError,
        ConfigError,
        StoreError,
        InvalidValueError,
        DatabaseUrlError,
        OSError,
        ValueError,
    ) as exc:
        return _fail(str(exc), as_json, stdout, stderr)
    _emit(result, as_json, stdout)
    return EXIT_OK

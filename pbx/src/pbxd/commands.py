"""The management commands behind ``pbxd`` (extensions, call records, schema, config check).

Each command validates everything it was given before it writes, and returns a ``Result``:
whether something changed, a line of text for people and a dictionary for ``--json``.
Password hashes are secrets (an HA1 is enough to register as the extension): no command
prints them.
"""

from __future__ import annotations

import csv
import importlib.machinery
import importlib.metadata
import re
import secrets
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pbxd.config import PbxConfig
from pbxd.extensions import (
    InvalidValueError,
    PlannedChange,
    extension_from_hashes,
    make_extension,
    validate_number,
    with_password,
)
from pbxd.sip import message as sip_message
from pbxd.store import backup as store_backup
from pbxd.store import migrate_database, open_database
from pbxd.store.backup import BackupInfo
from pbxd.store.base import CallRecord, Extension
from pbxd.store.database import Database
from pbxd.store.errors import StoreError
from pbxd.store.inuse import DatabaseInUseError
from pbxd.store.url import SqliteUrl, foreign_windows_path, parse_database_url, redact_url


class CommandError(Exception):
    """The command cannot do what was asked; the message says why and what to do."""


@dataclass
class Result:
    changed: bool
    text: str
    data: dict[str, Any] = field(default_factory=dict)


# -- reading input ---------------------------------------------------------------------------


def read_password(*, from_stdin: bool, stdin_text: str | None, file: Path | None) -> str:
    """The password from standard input or a file: one line, its line ending removed."""
    if from_stdin:
        raw = stdin_text or ""
        where = "standard input"
    else:
        assert file is not None
        try:
            raw = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--password-file: cannot read {file}: {exc.strerror or exc}") from exc
        where = str(file)
    password = raw.removesuffix("\n").removesuffix("\r")
    if "\n" in password:
        raise CommandError(f"password from {where}: more than one line; expected the password on one line")
    if not password:
        raise CommandError(f"password from {where}: empty; expected the password on one line")
    return password


_RELATIVE = re.compile(r"^(\d+)([mhd])$")


def parse_moment(option: str, text: str, now: datetime) -> datetime:
    """``2026-11-26``, ``2026-11-26T14:00`` (UTC unless an offset is given) or a span back
    from now: ``30m``, ``12h``, ``7d``."""
    match = _RELATIVE.match(text)
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return now - timedelta(**{unit: int(match[1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f'{option}: "{text}" is not a time; expected an ISO date or time (2026-11-26, '
            "2026-11-26T14:00, 2026-11-26T14:00+01:00) or a span back from now (30m, 12h, 7d)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# -- database access -------------------------------------------------------------------------


def _open(config: PbxConfig) -> Database:
    return open_database(config.database.url, migrate=False, synchronous=config.database.synchronous)


def _change_result(change: PlannedChange) -> Result:
    return Result(
        changed=change.outcome != "unchanged",
        text=f"extension {change.number} {change.outcome}",
        data={"number": change.number, "outcome": change.outcome},
    )


# -- commands --------------------------------------------------------------------------------


def extension_add(
    config: PbxConfig, number: str, display_name: str, password: str, *, enabled: bool, update: bool
) -> Result:
    try:
        desired = make_extension(number, display_name, config.sip.realm, password, enabled)
    except InvalidValueError as exc:
        raise CommandError(str(exc)) from None
    database = _open(config)
    try:
        [change] = database.apply_extensions([desired], update=update)
    finally:
        database.close()
    return _change_result(change)


def extension_passwd(config: PbxConfig, number: str, password: str) -> Result:
    database = _open(config)
    try:
        existing = database.get_extension(number)
        if existing is None:
            raise CommandError(
                f'number: "{number}" is not an existing extension; add it with `pbxd extension add {number}`'
            )
        try:
            desired = with_password(existing, config.sip.realm, password)
        except InvalidValueError as exc:
            raise CommandError(str(exc)) from None
        [change] = database.apply_extensions([desired], update=True)
    finally:
        database.close()
    return _change_result(change)


def extension_remove(config: PbxConfig, number: str) -> Result:
    try:
        validate_number(number)
    except InvalidValueError as exc:
        raise CommandError(str(exc)) from None
    database = _open(config)
    try:
        removed = database.delete_extension(number)
    finally:
        database.close()
    text = f"extension {number} removed" if removed else f"extension {number} unchanged (there was none)"
    return Result(removed, text, {"number": number, "outcome": "removed" if removed else "unchanged"})


def extension_list(config: PbxConfig) -> Result:
    database = _open(config)
    try:
        infos = database.list_extensions()
    finally:
        database.close()
    rows = [
        {
            "number": info.extension.number,
            "display_name": info.extension.display_name,
            "enabled": info.extension.enabled,
            "realm": info.extension.realm,
            # A password set under another realm no longer authenticates.
            "realm_matches": info.extension.realm == config.sip.realm,
            "created": info.created.isoformat(timespec="seconds"),
            "updated": info.updated.isoformat(timespec="seconds"),
        }
        for info in infos
    ]
    lines = [f"{'NUMBER':<12} {'ENABLED':<8} {'UPDATED':<26} NAME"]
    for row in rows:
        note = "" if row["realm_matches"] else f"  (password set for realm {row['realm']}: set it again)"
        enabled = "yes" if row["enabled"] else "no"
        lines.append(f"{row['number']:<12} {enabled:<8} {row['updated']:<26} {row['display_name']}{note}")
    lines.append(f"{len(rows)} extension(s)")
    return Result(False, "\n".join(lines), {"extensions": rows})


# The two forms of the import file: with passwords (hashed here), or with digest hashes
# computed elsewhere (the password never reaches the PBX's machine).
_PASSWORD_COLUMNS = ("number", "display_name", "password", "enabled")
_HASH_COLUMNS = ("number", "display_name", "realm", "ha1_md5", "ha1_sha256", "enabled")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _csv_form(path: Path, columns: list[str]) -> tuple[str, ...]:
    """The columns the header's form allows, after checking that it is one of the two forms."""
    hashed = any(c in columns for c in ("realm", "ha1_md5", "ha1_sha256"))
    if hashed and "password" in columns:
        raise CommandError(
            f"{path} line 1: the header has both password and hash columns; give either "
            "number,password[,display_name,enabled] or number,realm,ha1_md5,ha1_sha256[,display_name,enabled]"
        )
    allowed = _HASH_COLUMNS if hashed else _PASSWORD_COLUMNS
    required = ("number", "realm", "ha1_md5", "ha1_sha256") if hashed else ("number", "password")
    unknown = [c for c in columns if c not in allowed]
    missing = [c for c in required if c not in columns]
    if unknown or missing:
        raise CommandError(
            f"{path} line 1: the header is {','.join(columns) or '(empty)'}; expected the columns "
            f"{','.join(required)} and optionally display_name,enabled"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            + (f" (missing: {', '.join(missing)})" if missing else "")
        )
    return allowed


def parse_extensions_csv(path: Path, text: str, realm: str) -> list[Extension]:
    """Rows of ``number,display_name,password[,enabled]``, or of
    ``number,display_name,realm,ha1_md5,ha1_sha256[,enabled]`` (with that header line), as
    extensions; every bad row is reported, by line and column, before anything is written."""
    reader = csv.DictReader(text.splitlines())
    columns = list(reader.fieldnames or [])
    hashed = _csv_form(path, columns) is _HASH_COLUMNS
    problems: list[str] = []
    extensions: list[Extension] = []
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"{path} line {line}: more fields than the {len(columns)} columns of the header")
            continue
        number = (row.get("number") or "").strip()
        enabled_text = (row.get("enabled") or "true").strip().lower()
        if enabled_text not in _TRUE | _FALSE:
            problems.append(f'{path} line {line}, enabled: "{row.get("enabled")}" is not true or false')
            continue
        display_name = (row.get("display_name") or "").strip()
        try:
            if hashed:
                extension = extension_from_hashes(
                    number,
                    display_name,
                    realm=(row.get("realm") or "").strip(),
                    configured_realm=realm,
                    ha1_md5=row.get("ha1_md5") or "",
                    ha1_sha256=row.get("ha1_sha256") or "",
                    enabled=enabled_text in _TRUE,
                )
            else:
                extension = make_extension(
                    number, display_name, realm, row.get("password") or "", enabled_text in _TRUE
                )
        except InvalidValueError as exc:
            problems.append(f"{path} line {line}, {exc}")
            continue
        if number in first_line:
            problems.append(
                f'{path} line {line}, number: "{number}" already appears on line {first_line[number]}'
            )
            continue
        first_line[number] = line
        extensions.append(extension)
    if problems:
        raise CommandError("nothing was imported:\n" + "\n".join(f"  {p}" for p in problems))
    return extensions


def extension_import(config: PbxConfig, path: Path, *, update: bool) -> Result:
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets like to write a BOM
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
    extensions = parse_extensions_csv(path, text, config.sip.realm)
    database = _open(config)
    try:
        plan = database.apply_extensions(extensions, update=update)
    finally:
        database.close()
    counts = {
        outcome: sum(1 for c in plan if c.outcome == outcome) for outcome in ("added", "updated", "unchanged")
    }
    text_out = (
        f"{path}: {counts['added']} added, {counts['updated']} updated, {counts['unchanged']} unchanged"
    )
    return Result(
        counts["added"] + counts["updated"] > 0,
        text_out,
        {**counts, "extensions": [{"number": c.number, "outcome": c.outcome} for c in plan]},
    )


def _record_json(record: CallRecord) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "call_id": record.call_id,
        "caller": record.caller,
        "callee": record.callee,
        "route": record.route,
        "start": iso(record.start),
        "answer": iso(record.answer),
        "end": iso(record.end),
        "duration": record.duration,
        "disposition": record.disposition,
    }


def calls_list(
    config: PbxConfig, *, since: datetime | None, until: datetime | None, number: str | None, limit: int
) -> Result:
    database = _open(config)
    try:
        records = database.list_call_records(since=since, until=until, number=number, limit=limit)
    finally:
        database.close()
    lines = [f"{'START (UTC)':<20} {'CALLER':<12} {'CALLEE':<12} {'ROUTE':<16} {'RESULT':<12} {'SECONDS':>8}"]
    for r in records:
        result = r.disposition or "in progress"
        seconds = "" if r.duration is None else f"{r.duration:.1f}"
        start = r.start.strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{start:<20} {r.caller:<12} {r.callee:<12} {r.route:<16} {result:<12} {seconds:>8}")
    lines.append(f"{len(records)} call(s)")
    return Result(False, "\n".join(lines), {"calls": [_record_json(r) for r in records]})


def db_migrate(config: PbxConfig) -> Result:
    before, applied = migrate_database(config.database.url)
    after = applied[-1].version if applied else before
    if applied:
        names = ", ".join(f"{m.version} ({m.name})" for m in applied)
        text = f"schema migrated from version {before} to {after}: applied {names}"
    else:
        text = f"schema unchanged at version {after} (up to date)"
    return Result(
        bool(applied),
        text,
        {
            "from_version": before,
            "version": after,
            "applied": [{"version": m.version, "name": m.name} for m in applied],
        },
    )


def config_check(config: PbxConfig, source: Path) -> Result:
    listen = [str(x) for x in config.sip.listen]
    # A Windows configuration is valid anywhere (a controller may check it before copying it
    # to the node), but its drive paths cannot be used on this system: say so.
    database = parse_database_url(config.database.url)
    paths = [("log.file", str(config.log.file))] if config.log.file else []
    if isinstance(database, SqliteUrl):
        paths.append(("database.url", database.path))
    notes = [
        f"{key} {path} is a Windows path: used as written on Windows, refused on this system"
        for key, path in paths
        if foreign_windows_path(key, path)
    ]
    trunk_names = [t.name for t in config.trunks]
    summary = {
        "file": str(source),
        "listen": listen,
        "realm": config.sip.realm,
        "domain": config.sip.domain,
        "database": redact_url(config.database.url),
        "log_level": config.log.level,
        "log_file": None if config.log.file is None else str(config.log.file),
        "trunks": trunk_names,
        "dialplan_rules": len(config.dialplan),
        "notes": notes,
    }
    text = (
        f"{source}: valid\n"
        f"  listen:   {', '.join(listen)}\n"
        f"  realm:    {config.sip.realm} (domain {config.sip.domain})\n"
        f"  database: {summary['database']}\n"
        f"  log:      {config.log.level}"
        + (f" to {config.log.file}" if config.log.file else " (console only)")
        + "\n"
        f"  trunks:   {', '.join(trunk_names) or 'none'}\n"
        f"  dialplan: {len(config.dialplan)} rule(s)" + "".join(f"\n  note:     {note}" for note in notes)
    )
    return Result(False, text, summary)


def ensure_positive(option: str, value: int) -> int:
    if value < 1:
        raise CommandError(f"{option}: {value} is not a positive number")
    return value


# -- registrations and status ----------------------------------------------------------------


def registrations_list(config: PbxConfig, *, number: str | None, now: datetime) -> Result:
    """The registered contacts that have not expired, by extension."""
    database = _open(config)
    try:
        bindings = database.load_bindings()
    finally:
        database.close()
    moment = now.timestamp()
    rows = [
        {
            "number": b.aor,
            "contact": b.contact,
            "expires_in": round(b.expires_at - moment),
            "expires": datetime.fromtimestamp(b.expires_at, UTC).isoformat(timespec="seconds"),
            "source": b.source,
            "user_agent": b.user_agent,
        }
        for b in bindings
        if b.expires_at > moment and (number is None or b.aor == number)
    ]
    lines = [f"{'NUMBER':<12} {'EXPIRES IN':>10}  {'SOURCE':<28} CONTACT"]
    for row in rows:
        agent = f"  ({row['user_agent']})" if row["user_agent"] else ""
        lines.append(
            f"{row['number']:<12} {row['expires_in']:>9}s  {row['source']:<28} {row['contact']}{agent}"
        )
    extensions = len({row["number"] for row in rows})
    lines.append(f"{len(rows)} contact(s) of {extensions} extension(s)")
    return Result(False, "\n".join(lines), {"registrations": rows})


def version() -> str:
    try:
        return importlib.metadata.version("pbxd")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build() -> str:
    """``compiled`` when the SIP path runs as mypyc's C extensions (built with
    ``PBXD_COMPILE=1``, pbx/setup.py), ``pure`` when it runs as Python source."""
    compiled = sip_message.__file__ or ""
    return "compiled" if compiled.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)) else "pure"


def sip_probe(config: PbxConfig, timeout: float) -> str | None:
    """Send OPTIONS to the PBX's first listen address (UDP if there is one, else TCP): None if
    a SIP response came back, else why not. This is the server's own health, as a phone or the
    cluster would see it."""
    listens = sorted(config.sip.listen, key=lambda x: x.transport != "udp")
    listen = listens[0]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(listen.host, listen.host)  # noqa: S104
    where = f"{listen.transport}:{host}:{listen.port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_DGRAM if listen.transport == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, listen.port))
            local_host, local_port = sock.getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            local = f"[{local_host}]" if ":" in local_host else local_host
            branch = "z9hG4bK-stats-" + secrets.token_hex(6)
            probe = (
                f"OPTIONS sip:{shown}:{listen.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/{listen.transport.upper()} {local}:{local_port};branch={branch};rport\r\n"
                f"From: <sip:stats@{shown}>;tag={secrets.token_hex(4)}\r\nTo: <sip:{shown}>\r\n"
                f"Call-ID: {branch}@{local}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            sock.sendall(probe.encode())
            answer = sock.recv(65535)
        except TimeoutError:
            return f"no answer to OPTIONS from {where} within {timeout:.0f} s"
        except OSError as exc:
            return f"{where}: {exc.strerror or exc}"
    if not answer.startswith(b"SIP/2.0 "):
        return f"{where} answered something that is not SIP"
    return None


ACTIVE_CALL_HOURS = 12  # answered calls older than this without an end are not counted (lost BYE)


def stats(config: PbxConfig, *, now: datetime, probe_timeout: float = 2.0) -> Result:
    """A read-only status view for a running (or stopped) PBX: what the database shows, and
    whether the server answers SIP."""
    problems: dict[str, str | None] = {"sip": sip_probe(config, probe_timeout), "database": None}
    activity = None
    try:
        database = _open(config)
        try:
            day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            activity = database.activity(now, day_start, now - timedelta(hours=ACTIVE_CALL_HOURS))
        finally:
            database.close()
    except StoreError as exc:
        problems["database"] = str(exc)
    healthy = all(problem is None for problem in problems.values())
    data: dict[str, Any] = {
        "version": version(),
        "build": build(),
        "health": "ok" if healthy else "failing",
        "checks": {name: problem or "ok" for name, problem in problems.items()},
        "registrations": None if activity is None else activity.contacts,
        "registered_extensions": None if activity is None else activity.registered_extensions,
        "extensions": None if activity is None else activity.extensions,
        "active_calls": None if activity is None else activity.active_calls,
        "calls_today": None if activity is None else activity.calls_today,
    }

    def shown(key: str) -> str:
        return "?" if data[key] is None else str(data[key])

    lines = [
        f"pbxd {data['version']} ({data['build']}): {data['health']}",
        *(f"  {name + ':':<15}{state}" for name, state in data["checks"].items()),
        f"  registrations: {shown('registrations')} contact(s) of {shown('registered_extensions')} "
        f"extension(s) ({shown('extensions')} configured)",
        f"  active calls:  {shown('active_calls')} (answered, not ended)",
        f"  calls today:   {shown('calls_today')} (since 00:00 UTC)",
    ]
    return Result(False, "\n".join(lines), data)


# -- backup and restore ----------------------------------------------------------------------


def _sqlite_path(config: PbxConfig, action: str) -> str:
    target = parse_database_url(config.database.url)
    if not isinstance(target, SqliteUrl):
        tools = "pg_dump" if action == "backup" else "pg_restore"
        raise CommandError(
            f"`pbxd db {action}` is for SQLite databases; for PostgreSQL use its own tools "
            f"({tools}, or the server's base backups)"
        )
    return target.path


def _backup_result(changed: bool, text: str, info: BackupInfo) -> Result:
    data = {
        "path": info.path,
        "bytes": info.bytes,
        "schema_version": info.schema_version,
        "extensions": info.extensions,
    }
    return Result(changed, text, data)


def db_backup(config: PbxConfig, target: Path, *, overwrite: bool) -> Result:
    info = store_backup.backup(_sqlite_path(config, "backup"), target, overwrite=overwrite)
    text = (
        f"backed up to {info.path}: {info.bytes} bytes, schema version {info.schema_version}, "
        f"{info.extensions} extension(s)"
    )
    return _backup_result(True, text, info)


def db_restore(config: PbxConfig, source: Path) -> Result:
    database_path = _sqlite_path(config, "restore")
    try:
        info = store_backup.restore(database_path, source)
    except DatabaseInUseError as exc:
        raise CommandError(str(exc)) from None
    text = (
        f"restored {source} into {info.path}: schema version {info.schema_version}, "
        f"{info.extensions} extension(s); `pbxd run` applies any missing migrations"
    )
    return _backup_result(True, text, info)

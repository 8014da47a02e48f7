"""Logging for the running PBX: console and an optional rotating file, at ``log.level``.

A filter on every handler masks secrets that could slip into a message (passwords, digest
hashes and responses, passwords in database URLs), as a second line of defence behind code
that does not log them in the first place.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from typing import TextIO

from pbxd.config import LogSettings
from pbxd.store.url import foreign_windows_path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
MAX_FILE_BYTES = 10 * 1024 * 1024
KEPT_FILES = 5

_SECRETS = (
    # password=..., "password": "...", ha1_md5=..., ha1_sha256: ...
    re.compile(r"""(?i)(["']?(?:password|passwd|ha1_md5|ha1_sha256)["']?\s*[=:]\s*["']?)([^\s"',;&]+)"""),
    # Digest response="..." in Authorization / Proxy-Authorization headers.
    re.compile(r"""(?i)(\bresponse\s*=\s*"?)([0-9a-f]+)"""),
    # postgresql://user:secret@host
    re.compile(r"([a-z]+://[^:/@\s]*:)([^@/\s]+)(@)"),
)


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + "***" + (m.group(3) if m.lastindex == 3 else ""), text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(settings: LogSettings, *, console: TextIO | None = None) -> None:
    """Replace the root logger's handlers: console (stderr by default, if there is one) and,
    if configured, a file rotated at 10 MB with 5 old files kept (its folder is created).
    A Windows drive path outside Windows is refused before anything is created."""
    if settings.file is not None:
        problem = foreign_windows_path("log.file", str(settings.file))
        if problem is not None:
            raise ValueError(problem)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    stream = console or sys.stderr
    # A Windows service hosted by pythonservice.exe has no console: sys.stderr is None there.
    if stream is not None:
        handlers.append(logging.StreamHandler(stream))
    if settings.file is not None:
        settings.file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                settings.file, maxBytes=MAX_FILE_BYTES, backupCount=KEPT_FILES, encoding="utf-8"
            )
        )
    formatter = logging.Formatter(FORMAT)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(settings.level)

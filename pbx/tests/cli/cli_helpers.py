"""Helpers for CLI tests: a configuration with a SQLite file, and an in-process ``pbxd``."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbxd.cli import main


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Pbxd:
    config: Path
    database: Path

    def __call__(self, *argv: str, stdin: str = "") -> Outcome:
        out, err = io.StringIO(), io.StringIO()
        try:
            code = main(
                [*argv, "--config", str(self.config)], stdin=io.StringIO(stdin), stdout=out, stderr=err
            )
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
        return Outcome(code, out.getvalue(), err.getvalue())


def write_config(folder: Path, realm: str = "pbx.test", url: str | None = None) -> Path:
    path = folder / "pbx.toml"
    path.write_text(
        f"""
[sip]
listen = ["udp:127.0.0.1:5060"]
realm = "{realm}"
domain = "pbx.test"

[database]
url = "{url or "sqlite:///pbx.db"}"
""",
        encoding="utf-8",
    )
    return path

"""Decode the command lines ansible-core sends to a Windows host.

Everything ansible-core runs on Windows (modules, shell snippets, win_reboot's commands) arrives
as one command line of the form ``PowerShell -NoProfile -NonInteractive ... -EncodedCommand
<base64 UTF-16-LE script> [-EncodedArguments <base64 UTF-16-LE CLIXML>]``, optionally preceded by
``type <file> |`` (ansible-core 2.20 and older, when modules are not pipelined). This module turns
such a line back into the script and its arguments; anything else is a raw command.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

# Executables ansible-core may name: `PowerShell` (2.20 and older, win_reboot), `powershell` (2.21),
# or the pwsh interpreter configured through ansible_pwsh_interpreter.
_PWSH_EXECUTABLE = re.compile(r"(?i)^(?:.*[\\/])?(?:powershell|pwsh)(?:\.exe)?$")

# PowerShell treats these four characters as single quotes, and doubles them to escape them.
_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"

# A CLIXML string escapes control characters and surrogate halves as _xHHHH_ (UTF-16 code units).
_CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


class CommandLineError(ValueError):
    """The command line names PowerShell but cannot be decoded; the message says what is wrong."""


@dataclass(frozen=True)
class PowerShellCommand:
    """A decoded PowerShell invocation."""

    script: str
    arguments: tuple[str, ...] = ()
    piped_file: str | None = None
    input_disabled: bool = False


def split_command_line(command: str) -> list[str]:
    """Split a command line into tokens the way ansible-core's PowerShell quoting builds them.

    Single-quoted tokens use PowerShell's rule (a doubled quote is one quote character); double
    quotes group without escapes, as the ``type "<file>"`` form needs. A bare ``|`` is its own token.
    """
    tokens: list[str] = []
    index = 0
    length = len(command)
    while index < length:
        char = command[index]
        if char.isspace():
            index += 1
            continue
        if char == "|":
            tokens.append("|")
            index += 1
            continue
        token: list[str] = []
        while index < length and not command[index].isspace() and command[index] != "|":
            char = command[index]
            if char in _SINGLE_QUOTES:
                index += 1
                while True:
                    if index >= length:
                        raise CommandLineError(
                            f"unterminated single-quoted string in command: {command[:80]!r}"
                        )
                    if command[index] in _SINGLE_QUOTES:
                        if index + 1 < length and command[index + 1] in _SINGLE_QUOTES:
                            token.append(command[index])
                            index += 2
                            continue
                        index += 1
                        break
                    token.append(command[index])
                    index += 1
            elif char == '"':
                end = command.find('"', index + 1)
                if end == -1:
                    raise CommandLineError(f"unterminated double-quoted string in command: {command[:80]!r}")
                token.append(command[index + 1 : end])
                index = end + 1
            else:
                token.append(char)
                index += 1
        tokens.append("".join(token))
    return tokens


def decode_utf16_base64(value: str, what: str) -> str:
    """Decode the base64 UTF-16-LE text PowerShell's -EncodedCommand/-EncodedArguments carry."""
    try:
        return base64.b64decode(value, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError) as err:
        raise CommandLineError(f"{what} is not base64 of UTF-16-LE text: {err}") from err


def extract_clixml_strings(clixml: str) -> tuple[str, ...]:
    """Return the strings of a CLIXML ``System.Collections.ArrayList`` (what -EncodedArguments holds)."""
    try:
        root = ET.fromstring(clixml)  # noqa: S314 - the XML was built by ansible-core on this controller
    except ET.ParseError as err:
        raise CommandLineError(f"-EncodedArguments is not CLIXML: {err}") from err
    values: list[str] = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "S":
            values.append(_unescape_clixml(element.text or ""))
    return tuple(values)


def _unescape_clixml(text: str) -> str:
    units = _CLIXML_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)
    # Surrogate halves were escaped one by one; join them back into characters.
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def parse_command(command: str) -> PowerShellCommand | None:
    """Decode a PowerShell -EncodedCommand line; None when the line is not one (a raw command)."""
    tokens = split_command_line(command)
    piped_file: str | None = None
    if len(tokens) >= 3 and tokens[0].lower() == "type" and tokens[2] == "|":
        piped_file = tokens[1]
        tokens = tokens[3:]
    if tokens and tokens[0] == "&":
        tokens = tokens[1:]
    if not tokens or not _PWSH_EXECUTABLE.match(tokens[0]):
        return None
    options = [token.lower() for token in tokens]
    if "-encodedcommand" not in options:
        return None
    script_index = options.index("-encodedcommand") + 1
    if script_index >= len(tokens):
        raise CommandLineError("-EncodedCommand has no value")
    script = decode_utf16_base64(tokens[script_index], "-EncodedCommand")
    arguments: tuple[str, ...] = ()
    if "-encodedarguments" in options:
        args_index = options.index("-encodedarguments") + 1
        if args_index >= len(tokens):
            raise CommandLineError("-EncodedArguments has no value")
        arguments = extract_clixml_strings(decode_utf16_base64(tokens[args_index], "-EncodedArguments"))
    input_disabled = False
    if "-inputformat" in options:
        format_index = options.index("-inputformat") + 1
        input_disabled = format_index < len(tokens) and tokens[format_index].lower() == "none"
    return PowerShellCommand(
        script=script, arguments=arguments, piped_file=piped_file, input_disabled=input_disabled
    )


def unquote_pwsh_string(token: str) -> str:
    """Value of a PowerShell argument: a single-quoted literal (doubled quotes collapsed) or a bare word."""
    token = token.strip()
    if len(token) >= 2 and token[0] in _SINGLE_QUOTES and token[-1] in _SINGLE_QUOTES:
        inner = token[1:-1]
        return re.sub(f"([{_SINGLE_QUOTES}])\\1", r"\1", inner)
    return token

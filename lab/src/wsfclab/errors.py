"""Errors the lab raises for the people and programs that drive it.

``LabError`` is the one operator-facing error of the lab: its message says what went wrong and
what to do next. Windows' own errors (what a cmdlet would throw) are not lab errors; they live in
``wsfclab.cmdlets.errors`` because they are part of what the lab simulates.
"""

from __future__ import annotations


class LabError(Exception):
    """Something the lab cannot do, or was asked wrongly; the message tells the operator what next."""


class WorldError(LabError):
    """The world description is invalid; the message names the key path, the value and what is expected."""

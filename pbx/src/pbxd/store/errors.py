"""Errors the database layer raises, each worded for the operator who has to act on it."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: anything that went wrong talking to the database."""


class DatabaseUnavailableError(StoreError):
    """The database cannot be opened or stopped answering."""


class SchemaTooNewError(StoreError):
    """The database was migrated by a newer pbxd; this one must not touch it."""


class SchemaOutdatedError(StoreError):
    """The database needs migrations that were not applied (``pbxd db migrate``)."""


class ExtensionConflictError(StoreError):
    """Extensions exist with other settings and ``--update`` was not given."""

    def __init__(self, numbers: list[str]) -> None:
        self.numbers = numbers
        listed = ", ".join(numbers)
        super().__init__(
            f"extension(s) {listed} already exist with different settings; "
            "pass --update to change them, or leave them out"
        )

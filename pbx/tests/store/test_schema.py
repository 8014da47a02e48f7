"""The migration files themselves, and the planning of what a database still needs."""

from __future__ import annotations

import pytest
from pbxd.store.errors import SchemaTooNewError
from pbxd.store.schema import Migration, load_migrations, pending, split_statements


def test_both_backends_ship_the_same_versions() -> None:
    sqlite = load_migrations("sqlite")
    postgresql = load_migrations("postgresql")
    assert [(m.version, m.name) for m in sqlite] == [(m.version, m.name) for m in postgresql]
    assert sqlite[0].version == 1


def test_statements_split_at_line_ending_semicolons_without_comments() -> None:
    sql = "-- header\nCREATE TABLE a (x TEXT); -- trailing\n\nCREATE INDEX i\n  ON a (x);\n"
    assert split_statements(sql) == ("CREATE TABLE a (x TEXT)", "CREATE INDEX i\n  ON a (x)")


def test_an_unterminated_statement_is_an_error() -> None:
    with pytest.raises(ValueError, match="without ';'"):
        split_statements("CREATE TABLE a (x TEXT)")


def test_pending_lists_what_is_missing_in_order() -> None:
    migrations = tuple(Migration(v, f"m{v}", ()) for v in (1, 2, 3))
    assert [m.version for m in pending(0, migrations)] == [1, 2, 3]
    assert [m.version for m in pending(2, migrations)] == [3]
    assert pending(3, migrations) == ()
    with pytest.raises(SchemaTooNewError, match="version 4, but this pbxd knows versions up to 3"):
        pending(4, migrations)

"""Versioned schema migrations, one folder per database backend.

Files are named ``NNNN_what.sql``; NNNN is the schema version the file brings the database to.
Both folders hold the same versions. Statements end with ``;`` at the end of a line, and each
file runs in one transaction (see ``pbxd.store.schema``).
"""

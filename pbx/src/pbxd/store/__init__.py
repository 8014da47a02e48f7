"""Persistence of extensions, registrations and call records (SQLite or PostgreSQL)."""

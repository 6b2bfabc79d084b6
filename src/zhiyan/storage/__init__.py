"""Persistent state: one SQLite database with numbered migrations."""

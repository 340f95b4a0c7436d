"""Persistence: tables, mappings, the unit of work, migrations."""

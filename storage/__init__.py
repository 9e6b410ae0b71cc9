"""The bottom layer: tables, database sessions, ids, migrations, settings, audit, pseudonyms."""

"""pytest set-up for the whole clone: which modules doctest collection must not import."""

# Modules that run something when imported: the command entry points, and the Alembic
# environment (it only runs inside ``alembic``/``beatmap init``).
collect_ignore = [
    "beatmap/__main__.py",
    "sampleweb/__main__.py",
    "bench/__main__.py",
    "storage/migrations/env.py",
]

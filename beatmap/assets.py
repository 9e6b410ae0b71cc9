"""Where Leaflet's files are: shipped in the package (``beatmap/web/static/leaflet``) or npm's."""

from __future__ import annotations

from pathlib import Path

PACKAGE_LEAFLET = Path(__file__).resolve().parent / "web" / "static" / "leaflet"
CLONE_LEAFLET = Path(__file__).resolve().parent.parent / "node_modules" / "leaflet" / "dist"


def find_leaflet(*folders: Path) -> Path:
    """The first of ``folders`` holding ``leaflet.js`` (default: the package's copy, then the
    clone's ``node_modules``); the last one when none does, so a message can name it.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
    ...     _ = (Path(b) / "leaflet.js").write_text("")
    ...     find_leaflet(Path(a), Path(b)) == Path(b), find_leaflet(Path(a)) == Path(a)
    (True, True)
    """
    folders = folders or (PACKAGE_LEAFLET, CLONE_LEAFLET)
    for folder in folders:
        if (folder / "leaflet.js").is_file():
            return folder
    return folders[-1]


# Leaflet's dist folder, for the web UI (served at /vendor/leaflet/) and the offline HTML map.
LEAFLET_DIR = find_leaflet()

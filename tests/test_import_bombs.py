"""Hostile import files (issue 16, "Bad input" 7, 8, 9): a clear one-line error, nothing
half-written, and bounded memory.

Every case runs the real CLI (``beatmap beats import`` / ``beatmap gazetteer import``) on a
real database. The bombs are built in a few milliseconds without writing their decompressed
size anywhere: a deflate block of 1 MiB of spaces (or rows) ends with a full flush, which
makes it independent of what came before, so the same compressed bytes repeated N times
decompress to N MiB. Their CRC is not computed (that would mean hashing gigabytes): a
reader that stops at the caps never gets to it, and one that does not runs out of memory
first. They live in ``tmp_path`` and are gone after the test.

The memory test runs each bomb in a child process and reads that child's peak RSS from
``os.wait4``: it must stay under 500 MB (issue 16: "Memory of any import stays under 500 MB
for any input").
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from beatmap.cli import cli
from storage.db import make_engine, session_scope
from storage.models import Beat, Place, Postcode

ROOT = Path(__file__).resolve().parent.parent
BH_WARDS = ROOT / "data" / "boundaries" / "brighton_and_hove_wards_2013.geojson"
CURATED = ROOT / "data" / "gazetteer" / "brighton_and_hove_area_names_curated.csv"
POSTCODES = ROOT / "data" / "postcodes" / "sussex_postcodes_codepoint_open.csv.gz"
MiB, GiB = 1 << 20, 1 << 30
PEAK_RSS_LIMIT = 500 * 1000 * 1000  # bytes: the "under 500 MB"
KML_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
            b"<Document><Placemark><name>")
PLACES_HEADER = b"name,feature_type,lat,lon,source_id\n"
PLACE_ROW = b"Hove,town,50.8279,-0.1688,x\n"  # 28 bytes: 1 MiB of rows is not whole rows…
ROWS_BLOCK = PLACE_ROW * (MiB // len(PLACE_ROW))  # …so a block is a whole number of rows


# --- building bombs cheaply -------------------------------------------------------------------


def deflate_repeated(head: bytes, block: bytes, times: int) -> bytes:
    """Raw deflate data of ``head + block * times``, costing one compression of ``block``."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    body = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    assert again == body  # a full flush forgets the history: the block compresses the same
    return start + body * times + c.flush()


def gzip_bomb(path: Path, head: bytes, block: bytes, times: int) -> Path:
    size = len(head) + len(block) * times
    data = deflate_repeated(head, block, times)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    path.write_bytes(header + data + struct.pack("<II", 0, size & 0xFFFFFFFF))
    return path


def zip_bomb(path: Path, member: str, head: bytes, block: bytes, times: int) -> Path:
    """A zip with one deflated member (zip64 sizes, so it may declare more than 4 GiB)."""
    size = len(head) + len(block) * times
    data = deflate_repeated(head, block, times)
    name = member.encode()
    extra = struct.pack("<HHQQ", 1, 16, size, len(data))  # zip64: uncompressed, compressed
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, 0, 0xFFFFFFFF,
                        0xFFFFFFFF, len(name), len(extra)) + name + extra
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0x21, 0,
                          0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0, 0)
    central += name + extra
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)
    return path


def kml_zip_bomb(tmp_path: Path) -> Path:
    """The issue's case: a ~4 MB zip holding a 4 GiB KML."""
    return zip_bomb(tmp_path / "bomb.zip", "sussex/CC1NH1.kml", KML_HEAD, b" " * MiB, 4096)


def rows_gzip_bomb(tmp_path: Path) -> Path:
    """A ~2 MB .gz of 2 GiB of valid place rows (each row becomes an object when read)."""
    return gzip_bomb(tmp_path / "places.csv.gz", PLACES_HEADER, ROWS_BLOCK, 2048)


def line_gzip_bomb(tmp_path: Path) -> Path:
    """A ~1 MB .gz of 1 GiB without a newline: the header line never ends."""
    return gzip_bomb(tmp_path / "line.csv.gz", PLACES_HEADER[:-1], b" " * MiB, 1024)


def deep_json(tmp_path: Path) -> Path:
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    return path


# --- running the CLI ----------------------------------------------------------------------------


def invoke(db: str, *args: str, env: dict | None = None):
    return CliRunner().invoke(cli, ["--db", db, *args], env=env)


def assert_refused(result, message: str) -> None:
    """Exit status 1, one error line naming the problem, no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert message in errors[0], result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (MemoryError, RecursionError))


def counts(db: str) -> dict[str, int]:
    engine = make_engine(db)
    try:
        with session_scope(engine) as s:
            return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                    for m in (Beat, Place, Postcode)}
    finally:
        engine.dispose()


@pytest.fixture
def db(sqlite_db, monkeypatch):
    for name in ("BEATMAP_MAX_IMPORT_BYTES", "BEATMAP_MAX_IMPORT_RATIO", "BEATMAP_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(sqlite_db.removeprefix("sqlite:///").rsplit("/", 1)[0])  # no beatmap.toml
    return sqlite_db


# --- 7: deeply nested JSON ----------------------------------------------------------------------


def test_deeply_nested_json_is_refused(db, tmp_path):
    assert_refused(invoke(db, "beats", "import", str(deep_json(tmp_path))),
                   "deep.json: JSON nested more than 32 levels deep")
    assert counts(db)["beats"] == 0


def test_deep_properties_inside_valid_geojson_are_refused(db, tmp_path):
    """Shallow enough for the parser, too deep to store: refused before anything is written."""
    doc = BH_WARDS.read_bytes().replace(b'"properties": {', b'"properties": {"x": '
                                        + b"[" * 40 + b"]" * 40 + b", ", 1)
    path = tmp_path / "wards.geojson"
    path.write_bytes(doc)
    assert_refused(invoke(db, "beats", "import", str(path)), "nested more than 32 levels")
    assert counts(db)["beats"] == 0


def test_deep_json_inside_a_zip_and_as_names(db, tmp_path):
    import zipfile

    archive = tmp_path / "beats.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(BH_WARDS, "sussex/wards.geojson")
        zf.writestr("sussex/CC1NH1.json", "[" * 200_000 + "]" * 200_000)
    assert_refused(invoke(db, "beats", "import", str(archive)), "CC1NH1.json: JSON nested")
    names = deep_json(tmp_path)
    assert_refused(invoke(db, "beats", "import", str(BH_WARDS), "--names", str(names)),
                   "JSON nested more than 32 levels")
    assert counts(db)["beats"] == 0


# --- 8: decompression bombs and endless inputs ----------------------------------------------


def test_zip_bomb_is_refused_before_decompressing(db, tmp_path):
    bomb = kml_zip_bomb(tmp_path)
    assert bomb.stat().st_size < 5 * MiB
    assert_refused(invoke(db, "beats", "import", str(bomb)),
                   "bomb.zip: sussex/CC1NH1.kml: decompresses to more than 100 times")
    assert counts(db)["beats"] == 0


def test_zip_member_that_lies_about_its_size_is_cut_at_its_declared_size(db, tmp_path):
    """Sizes declared small: zipfile gives no more than declared, then the CRC fails."""
    bomb = kml_zip_bomb(tmp_path)
    data = bytearray(bomb.read_bytes())
    for at in (data.find(struct.pack("<HH", 1, 16)), data.rfind(struct.pack("<HH", 1, 16))):
        data[at + 4:at + 12] = struct.pack("<Q", 1000)  # "uncompressed size: 1000 bytes"
    bomb.write_bytes(bytes(data))
    assert_refused(invoke(db, "beats", "import", str(bomb)),
                   "bomb.zip: sussex/CC1NH1.kml: damaged compressed data (Bad CRC-32")


def test_gzip_bomb_of_rows_is_refused(db, tmp_path):
    assert invoke(db, "beats", "import", str(BH_WARDS)).exit_code == 0
    bomb = rows_gzip_bomb(tmp_path)
    result = invoke(db, "gazetteer", "import", str(CURATED), str(bomb))
    assert_refused(result, "places.csv.gz: decompresses to more than 100 times")
    assert counts(db) == {"beats": 21, "places": 0, "postcodes": 0}  # CURATED not written either


def test_gzip_bomb_without_a_newline_is_refused(db, tmp_path):
    assert_refused(invoke(db, "gazetteer", "import", str(line_gzip_bomb(tmp_path))),
                   "line.csv.gz: the first line is longer than 64 KiB")


def test_size_cap_is_a_setting(db, tmp_path):
    """A real file over ``max_import_bytes`` (5.4 MB of postcodes, cap 1 MiB) is refused."""
    env = {"BEATMAP_MAX_IMPORT_BYTES": str(MiB)}
    result = invoke(db, "gazetteer", "import", str(POSTCODES), env=env)
    assert_refused(result, "sussex_postcodes_codepoint_open.csv.gz: more than 1 MiB to read "
                           "(setting max_import_bytes)")
    plain = tmp_path / "wards.geojson"
    plain.write_bytes(BH_WARDS.read_bytes())
    assert_refused(invoke(db, "beats", "import", str(plain),
                          env={"BEATMAP_MAX_IMPORT_BYTES": "10000"}),
                   "wards.geojson: more than 9.8 KiB to read")
    assert counts(db) == {"beats": 0, "places": 0, "postcodes": 0}
    # the ratio is a setting too: the bundled postcodes compress 6.4 times
    assert_refused(invoke(db, "gazetteer", "import", str(POSTCODES),
                          env={"BEATMAP_MAX_IMPORT_RATIO": "5"}),
                   "decompresses to more than 5 times its compressed size")
    ok = invoke(db, "gazetteer", "import", str(POSTCODES))  # the defaults take real files
    assert ok.exit_code == 0, ok.output


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_endless_file_is_refused(db):
    assert_refused(invoke(db, "beats", "import", "/dev/zero"), "zero: more than 12 MiB to read")


def test_damaged_gzip_is_one_line(db, tmp_path):
    damaged = tmp_path / "places.csv.gz"
    good = gzip_bomb(tmp_path / "g.gz", PLACES_HEADER, ROWS_BLOCK[:MiB // 4], 1).read_bytes()
    damaged.write_bytes(good[:len(good) // 2])  # cut short
    assert_refused(invoke(db, "gazetteer", "import", str(damaged)),
                   "places.csv.gz: damaged compressed data (Compressed file ended")


# --- 9: NUL bytes -----------------------------------------------------------------------------


def test_nul_in_a_gazetteer_name_is_refused_with_its_line(any_db, tmp_path):
    path = tmp_path / "areas.csv"
    path.write_bytes(b"name,aliases,kind,lat,lon\nKemptown,Kemp Town,neighbourhood,50.818,-0.121\n"
                     b"Hano\x00ver,,neighbourhood,50.83,-0.13\n")
    assert_refused(invoke(any_db, "gazetteer", "import", str(CURATED), str(path)),
                   "areas.csv line 3: a NUL byte in the row; refused")
    assert counts(any_db)["places"] == 0


def test_nul_in_gazetteer_header_and_gzip(any_db, tmp_path):
    import gzip

    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("name,aliases,kind,lat,lon\nHove,,town,50.8,-0.1\n".encode("utf-16-le"))
    assert_refused(invoke(any_db, "gazetteer", "import", str(utf16)),
                   "utf16.csv line 1: a NUL byte in the row; refused, a name cannot hold one "
                   "(a UTF-16 file? save it as UTF-8)")
    codes = tmp_path / "codes.csv.gz"
    with gzip.open(codes, "wb") as fh:
        fh.write(b"postcode,lat,lon\nBN1 1AA,50.82,-0.14\nBN1 1A\x00B,50.82,-0.14\n")
    assert_refused(invoke(any_db, "gazetteer", "import", str(codes)), "codes.csv.gz line 3: a NUL")
    assert counts(any_db) == {"beats": 0, "places": 0, "postcodes": 0}


def test_nul_in_a_beat_name_is_refused(any_db, tmp_path):
    doc = BH_WARDS.read_text(encoding="utf-8").replace('"Hollingdean and Stanmer"',
                                                      '"Hollingdean\\u0000and Stanmer"', 1)
    assert "\\u0000" in doc
    path = tmp_path / "wards.geojson"
    path.write_text(doc, encoding="utf-8")
    assert_refused(invoke(any_db, "beats", "import", str(path)), "a NUL character (\\u0000)")
    assert counts(any_db)["beats"] == 0


# --- issue 17: a missing file says so first ---------------------------------------------------


def test_missing_gazetteer_file_says_missing_first(db, tmp_path):
    result = invoke(db, "gazetteer", "import", str(tmp_path / "nope.csv"))
    assert_refused(result, f"no such file: {tmp_path / 'nope.csv'}")
    assert "format" not in result.output


# --- memory: each bomb in a child process -----------------------------------------------------


# The child reports its own peak from /proc (VmHWM belongs to the process image after exec;
# ru_maxrss would include the pytest parent's RSS, which Linux carries across fork + exec).
CHILD = """
import atexit, re, sys
def report():
    with open("/proc/self/status") as fh:
        kb = re.search(r"VmHWM:\\s+(\\d+) kB", fh.read()).group(1)
    sys.stderr.write(f"\\npeak-rss-kb {kb}\\n")
atexit.register(report)
from beatmap.cli import cli
cli(sys.argv[1:], prog_name="beatmap")
"""


def _peak_rss(args: list[str], cwd: Path) -> tuple[int, int, str]:
    """Run the beatmap CLI in a child process: exit status, peak RSS in bytes, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEATMAP_")}
    done = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    stderr = done.stderr.decode(errors="replace")
    kb = int(stderr.rsplit("peak-rss-kb ", 1)[1].split()[0])
    return done.returncode, kb * 1024, stderr


@pytest.mark.skipif(not Path("/proc/self/status").exists(),
                    reason="peak RSS is read from /proc (Linux); CI runs on Linux")
def test_every_bomb_stays_under_500_mb(sqlite_db, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cases = [
        (["beats", "import", str(kml_zip_bomb(tmp_path))], "decompresses to more than 100 times"),
        (["beats", "import", str(deep_json(tmp_path))], "JSON nested more than 32 levels deep"),
        (["gazetteer", "import", str(rows_gzip_bomb(tmp_path))], "decompresses to more than 100"),
        (["gazetteer", "import", str(line_gzip_bomb(tmp_path))], "first line is longer"),
    ]
    if Path("/dev/zero").exists():
        cases.append((["beats", "import", "/dev/zero"], "more than 12 MiB to read"))
    peaks = {}
    for args, message in cases:
        status, peak, stderr = _peak_rss(["--db", sqlite_db, *args], work)
        peaks[Path(args[-1]).name] = peak
        assert status == 1, stderr
        assert message in stderr and "Traceback" not in stderr, stderr
        assert peak < PEAK_RSS_LIMIT, f"{args}: peak RSS {peak / 1e6:.0f} MB"
    print("peak RSS:", ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in peaks.items()))
    assert counts(sqlite_db) == {"beats": 0, "places": 0, "postcodes": 0}


# --- a polygon too broken to repair ---------------------------------------------------------------


def test_an_outline_that_crosses_itself_everywhere_is_refused_at_once(db, tmp_path):
    """make_valid's cost grows with the crossings (300 random points: 27 s; a million: out of
    memory): such an outline is refused after counting, before any repair is tried."""
    rng = random.Random(7)
    ring = [[round(-0.2 + rng.random() * 0.1, 6), round(50.8 + rng.random() * 0.1, 6)]
            for _ in range(2_000)]
    ring.append(ring[0])
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"ward_code": "X1", "ward_name": "Scribble"},
        "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    path = tmp_path / "scribble.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    started = time.monotonic()
    assert_refused(invoke(db, "beats", "import", str(path)), "crosses itself more than 1000 times")
    assert time.monotonic() - started < 30
    assert counts(db)["beats"] == 0

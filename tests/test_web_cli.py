"""``beatmap users …`` with click's CliRunner and ``beatmap serve`` as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from beatmap.cli import cli
from beatmap.web.users import authenticate, ensure_demo_users
from storage.db import make_engine
from storage.models import AuditEntry, User


def run(db: str, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["--db", db, *args], input=input)


def test_users_add_list_passwd_remove(sqlite_db):
    r = run(sqlite_db, "users", "add", "PC.Smith", "--role", "sergeant", "--password-stdin",
            input="a-long-password\n")
    assert r.exit_code == 0, r.output
    assert "user pc.smith added (sergeant)" in r.output
    r = run(sqlite_db, "users", "add", "analyst1", "--role", "analyst",
            input="prompted-password\nprompted-password\n")
    assert r.exit_code == 0, r.output
    listing = run(sqlite_db, "users", "list").output
    assert "pc.smith" in listing and "sergeant" in listing and "never" in listing
    engine = make_engine(sqlite_db)
    with Session(engine) as s:
        assert authenticate(s, "pc.smith", "a-long-password") is not None
        hashed = s.scalar(select(User.password_hash).where(User.username == "pc.smith"))
        assert hashed.startswith("$argon2id$")
    r = run(sqlite_db, "users", "passwd", "pc.smith", "--password-stdin", input="new-password-99\n")
    assert r.exit_code == 0, r.output
    with Session(engine) as s:
        assert authenticate(s, "pc.smith", "a-long-password") is None
        assert authenticate(s, "pc.smith", "new-password-99") is not None
    assert run(sqlite_db, "users", "remove", "pc.smith").exit_code == 0
    assert "pc.smith" not in run(sqlite_db, "users", "list").output
    with Session(engine) as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["user.add", "user.add", "user.password", "user.remove"]
    engine.dispose()


def test_users_errors_are_one_line(sqlite_db):
    run(sqlite_db, "users", "add", "sam", "--role", "admin", "--password-stdin",
        input="a-long-password\n")
    cases = [
        (["users", "add", "sam", "--role", "admin", "--password-stdin"], "a-long-password\n",
         "already exists"),
        (["users", "add", "bob", "--role", "admin", "--password-stdin"], "short\n",
         "at least 10 characters"),
        (["users", "add", "bob", "--role", "chief", "--password-stdin"], "a-long-password\n",
         "Invalid value for '--role'"),
        (["users", "remove", "nobody"], None, "no user called 'nobody'"),
        (["users", "add", "bob", "--role", "admin", "--password-stdin"], "", "standard input is empty"),
    ]
    for args, stdin, message in cases:
        r = run(sqlite_db, *args, input=stdin)
        assert r.exit_code != 0 and message in r.output, (args, r.output)
        assert "Traceback" not in r.output


def test_users_on_a_database_without_schema(tmp_path):
    r = run(f"sqlite:///{tmp_path / 'empty.db'}", "users", "list")
    assert r.exit_code == 1 and "run `beatmap init` first" in r.output


def test_ensure_demo_users_prints_working_passwords(sqlite_db):
    engine = make_engine(sqlite_db)
    with Session(engine) as s:
        made = ensure_demo_users(s)
        again = ensure_demo_users(s)  # repeatable: new passwords, same accounts
        s.commit()
        assert [u.username for u in made] == ["sergeant", "analyst", "admin"]
        for user in again:
            assert authenticate(s, user.username, user.password).role == user.role
        assert authenticate(s, "sergeant", made[0].password) is None
    engine.dispose()


def test_serve_starts_a_server_on_loopback(sqlite_db, tmp_path):
    env = {**os.environ, "BEATMAP_DB": sqlite_db, "BEATMAP_CONFIG": str(tmp_path / "none.toml")}
    proc = subprocess.Popen([sys.executable, "-m", "beatmap", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("beatmap web UI at http://127.0.0.1:"), line
        url = line.split()[4]
        with urllib.request.urlopen(url + "login", timeout=10) as resp:
            body = resp.read().decode()
            assert resp.status == 200 and "Sign in" in body
            assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
            assert resp.headers["Server"] == "beatmap"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_without_a_database_is_one_line(tmp_path):
    r = run(f"sqlite:///{tmp_path / 'none.db'}", "serve", "--port", "0")
    assert r.exit_code == 1 and "run `beatmap init` first" in r.output
    assert "Traceback" not in r.output

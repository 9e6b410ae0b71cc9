"""``beatmap serve`` and ``beatmap users …``: the web UI and its accounts from the command line."""

from __future__ import annotations

import logging
import sys

import click
from waitress import create_server

from beatmap.commands.common import get_config, open_db
from beatmap.web import users as accounts
from beatmap.web.app import create_app
from storage import audit
from storage.db import session_scope
from storage.models import ROLES

logger = logging.getLogger(__name__)

# waitress worker threads: requests are short (a page is a few queries), so 8 threads keep
# two cores busy while one request waits on SQLite; measured in bench/bench_web.py.
WEB_THREADS = 8


@click.command()
@click.option("--host", help="Address to bind (setting `web_host`, default 127.0.0.1).")
@click.option("--port", type=int, help="Port (setting `web_port`, default 8150; 0 = any free).")
@click.option("--threads", type=click.IntRange(1, 64), default=WEB_THREADS, show_default=True,
              help="Worker threads.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, threads: int) -> None:
    """Start the web UI (waitress) over the database; prints the URL to open."""
    config = get_config(ctx)
    host = host or config.web_host
    port = config.web_port if port is None else port
    app = create_app(config)
    server = create_server(app, host=host, port=port, threads=threads, ident="beatmap")
    bound_port = server.effective_port  # type: ignore[attr-defined]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"beatmap web UI at http://{shown}:{bound_port}/  (Ctrl-C to stop)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}, not only this machine; put it behind HTTPS "
                   "and set web_secure_cookies = yes", err=True)
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.close()


def _password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.UsageError("--password-stdin given but standard input is empty")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def users() -> None:
    """Web UI accounts: add, remove, set a password, list."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add a user NAME with a role (password prompted, or read with --password-stdin)."""
    password = _password(password_stdin)
    engine = open_db(ctx)
    with session_scope(engine) as session:
        user = accounts.add_user(session, name, role, password)
        audit.record(session, actor=audit.cli_actor(), action="user.add", object_type="user",
                     object_id=user.username, detail={"role": role})
    click.echo(f"user {user.username} added ({role})")


@users.command("remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx: click.Context, name: str) -> None:
    """Remove user NAME (their outreach notes stay, without the author)."""
    engine = open_db(ctx)
    with session_scope(engine) as session:
        accounts.remove_user(session, name)
        audit.record(session, actor=audit.cli_actor(), action="user.remove",
                     object_type="user", object_id=name.lower())
    click.echo(f"user {name.lower()} removed")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def users_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME (ends that user's open sessions)."""
    password = _password(password_stdin)
    engine = open_db(ctx)
    with session_scope(engine) as session:
        accounts.set_password(session, name, password)
        audit.record(session, actor=audit.cli_actor(), action="user.password",
                     object_type="user", object_id=name.lower())
    click.echo(f"password of {name.lower()} changed")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """List users with role, state and last sign-in."""
    engine = open_db(ctx)
    with session_scope(engine) as session:
        rows = accounts.list_users(session)
        for u in rows:
            last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
            state = "disabled" if u.disabled else "active"
            click.echo(f"{u.username:<24} {u.role:<9} {state:<8} last sign-in {last}")
        if not rows:
            click.echo("no users yet; add one with `beatmap users add NAME --role sergeant`")

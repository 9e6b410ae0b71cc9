"""Sessions the server can end, sign-in throttling that one shared address cannot turn into a
force-wide lock-out, and trusted proxy headers (issue 16, items 5 and 6).

The real app over a real database (SQLite, and PostgreSQL for the sign-out case), with Flask's
test client; a copied cookie is replayed from a second client, as an attacker holding it would.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from beatmap.cli import cli
from beatmap.web.auth import LOGIN_THROTTLE_KEY
from beatmap.web.security import LoginThrottle, trusted_proxies
from beatmap.web.users import add_user
from storage.config import ConfigError
from storage.db import make_engine, session_scope
from storage.models import AuditEntry, User
from tests.web_helpers import PASSWORDS, csrf_of, make_app, post, sign_in

COOKIE = "beatmap_session"
PROXY, CLIENT_A, CLIENT_B = "10.0.0.5", "203.0.113.7", "203.0.113.8"


# --- fixtures and helpers -------------------------------------------------------------------


def _users_db(url: str):
    engine = make_engine(url)
    with session_scope(engine) as session:
        for role, password in PASSWORDS.items():
            add_user(session, f"{role}1", role, password)
    return engine


@pytest.fixture
def site(sqlite_db):
    """(app, engine, url) over a fresh SQLite database with sergeant1, analyst1 and admin1."""
    engine = _users_db(sqlite_db)
    app = make_app(sqlite_db, engine)
    yield app, engine, sqlite_db
    engine.dispose()


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(site):
    """The app's sign-in throttle, on a clock the test moves."""
    c = Clock()
    site[0].extensions["beatmap"][LOGIN_THROTTLE_KEY] = LoginThrottle(clock=c)
    return c


def cookie_of(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str, path: str = "/crawls", **kwargs):
    """GET ``path`` from a fresh client holding only a copy of ``cookie``."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief.get(path, **kwargs)


def signed_in(app, role: str, **environ):
    client = app.test_client()
    if environ:
        client.environ_base.update(environ)
    sign_in(client, role)
    return client


def attempt(client, username: str, password: str = "wrong-password-x"):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(client)})


def audit_rows(engine, action: str) -> list[AuditEntry]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


def run_cli(db: str, *args: str, input: str | None = None):
    result = CliRunner().invoke(cli, ["--db", db, *args], input=input)
    assert result.exit_code == 0, result.output
    return result


# --- item 5: sessions end at sign-out, password, role and state changes ----------------------


def _logout_ends_copied_cookie(app, engine):
    client = signed_in(app, "analyst")
    stolen = cookie_of(client)
    assert replay(app, stolen).status_code == 200  # the copy works while the session is open
    assert post(client, "/logout").status_code == 302
    refused = replay(app, stolen)
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert client.get("/crawls").status_code == 302
    # the next sign-in gets a working session again
    again = signed_in(app, "analyst")
    assert again.get("/crawls").status_code == 200
    assert replay(app, stolen).status_code == 302
    assert [e.actor for e in audit_rows(engine, "logout")] == ["analyst1"]


def test_logout_refuses_a_copied_cookie(site):
    app, engine, _ = site
    _logout_ends_copied_cookie(app, engine)


def test_logout_refuses_a_copied_cookie_postgresql(pg_db):
    engine = _users_db(pg_db)
    try:
        _logout_ends_copied_cookie(make_app(pg_db, engine), engine)
    finally:
        engine.dispose()


def test_logout_ends_the_users_other_sessions(site):
    app, _, _ = site
    laptop, desktop = signed_in(app, "sergeant"), signed_in(app, "sergeant")
    other_user = signed_in(app, "analyst")
    post(laptop, "/logout")
    assert desktop.get("/beats").status_code == 302
    assert other_user.get("/crawls").status_code == 200  # only that user's sessions end


def test_cli_passwd_refuses_a_copied_cookie(site):
    app, _, url = site
    stolen = cookie_of(signed_in(app, "analyst"))
    assert replay(app, stolen).status_code == 200
    run_cli(url, "users", "passwd", "analyst1", "--password-stdin", input="another-pass-22\n")
    assert replay(app, stolen).status_code == 302


def test_web_password_change_refuses_a_copied_cookie(site):
    app, _, _ = site
    stolen = cookie_of(signed_in(app, "analyst"))
    admin = signed_in(app, "admin")
    r = post(admin, "/admin/users", {"action": "password", "username": "analyst1",
                                     "password": "another-pass-22"})
    assert r.status_code == 302
    assert replay(app, stolen).status_code == 302


@pytest.mark.parametrize("new_role", ["sergeant", "analyst", "admin"])
def test_role_change_refuses_a_copied_cookie(site, new_role):
    """Any role change ends the sessions, even one to the same role (the generation alone)."""
    app, _, _ = site
    stolen = cookie_of(signed_in(app, "analyst"))
    admin = signed_in(app, "admin")
    post(admin, "/admin/users", {"action": "role", "username": "analyst1", "role": new_role})
    assert replay(app, stolen, "/beats").status_code == 302


def test_disable_and_remove_refuse_a_copied_cookie(site):
    app, _, url = site
    stolen = cookie_of(signed_in(app, "analyst"))
    admin = signed_in(app, "admin")
    post(admin, "/admin/users", {"action": "disable", "username": "analyst1"})
    post(admin, "/admin/users", {"action": "enable", "username": "analyst1"})
    assert replay(app, stolen).status_code == 302  # re-enabling does not revive it
    stolen = cookie_of(signed_in(app, "analyst"))
    run_cli(url, "users", "remove", "analyst1")
    run_cli(url, "users", "add", "analyst1", "--role", "analyst", "--password-stdin",
            input=PASSWORDS["analyst"] + "\n")  # same name, same id, same password
    assert replay(app, stolen).status_code == 302


def test_cookie_without_generation_is_refused(site):
    """A cookie signed before the upgrade (no generation in it) no longer opens pages."""
    app, _, _ = site
    client = signed_in(app, "analyst")
    with client.session_transaction() as sess:
        sess.pop("gen")
    assert client.get("/crawls").status_code == 302


def test_generation_is_stored_and_raised(site):
    app, engine, _ = site
    client = signed_in(app, "sergeant")
    with Session(engine) as s:
        before = s.scalar(select(User.session_gen).where(User.username == "sergeant1"))
    post(client, "/logout")
    with Session(engine) as s:
        assert s.scalar(select(User.session_gen).where(User.username == "sergeant1")) \
            == before + 1


# --- item 6: throttling per account, per (account, address), per address for unknown names ---


def test_one_accounts_failures_do_not_lock_out_another_on_the_same_address(site, clock):
    """30 real failures (each past the previous backoff) for sergeant1 from one address leave
    analyst1 free to sign in from that same address (the force's proxy)."""
    app, engine, _ = site
    client = app.test_client()
    for _ in range(30):
        clock.now += 16 * 60  # past the longest backoff: every attempt is a counted failure
        assert attempt(client, "sergeant1").status_code == 401
    assert attempt(client, "sergeant1", PASSWORDS["sergeant"]).status_code == 429
    assert len(audit_rows(engine, "login.failed")) == 30
    other = app.test_client()
    assert attempt(other, "analyst1", PASSWORDS["analyst"]).status_code == 302
    assert other.get("/crawls").status_code == 200


def test_hammering_one_account_does_not_lock_out_the_address(site, clock):
    """30 rapid failures (most of them refused by the backoff) for one account, from one
    address, do not lock out others from it either."""
    app, _, _ = site
    client = app.test_client()
    codes = [attempt(client, "sergeant1").status_code for _ in range(30)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    sign_in(app.test_client(), "analyst")
    sign_in(app.test_client(), "admin")


def test_per_account_backoff_grows(site, clock):
    app, _, _ = site
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, "sergeant1").status_code == 401
    waits = []
    for _ in range(5):
        r = attempt(client, "sergeant1", PASSWORDS["sergeant"])  # right password, yet locked
        assert r.status_code == 429
        wait = app.extensions["beatmap"][LOGIN_THROTTLE_KEY].retry_after("sergeant1", "127.0.0.1")
        waits.append(wait)
        assert f"Try again in {-(-wait // 60)} minute(s)" in r.get_data(as_text=True)
        clock.now += wait  # the lock ends; the next failure locks for twice as long
        assert attempt(client, "sergeant1").status_code == 401
    assert waits == [61, 121, 241, 481, 901]  # 1, 2, 4, 8 minutes, then the 15-minute cap
    clock.now += 901
    assert attempt(client, "sergeant1", PASSWORDS["sergeant"]).status_code == 302


def test_per_account_limit_holds_across_addresses(site, clock):
    """A guesser spreading over many addresses is stopped per account (10 free failures)."""
    app, _, _ = site
    for i in range(10):
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = f"198.51.100.{i + 1}"
        assert attempt(c, "admin1").status_code == 401
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "198.51.100.200"
    assert attempt(fresh, "admin1", PASSWORDS["admin"]).status_code == 429
    assert attempt(fresh, "analyst1", PASSWORDS["analyst"]).status_code == 302


def test_success_resets_the_account_counters(site, clock):
    app, _, _ = site
    client = app.test_client()
    for _ in range(4):
        attempt(client, "sergeant1")
    assert attempt(client, "sergeant1", PASSWORDS["sergeant"]).status_code == 302
    client = app.test_client()
    for _ in range(4):
        assert attempt(client, "sergeant1").status_code == 401  # four free ones again


def test_unknown_names_per_address_limit_still_applies(site, clock):
    """30 failures with user names that are no account, from one address, make further failures
    from it answer 429 — the same for real and unknown names, so nothing is learnt about which
    names exist — while a right password still signs in from that address."""
    app, engine, _ = site
    client = app.test_client()
    for i in range(30):
        assert attempt(client, f"nobody{i}").status_code == 401
    r = attempt(client, "nobody-else")
    assert r.status_code == 429 and "Too many failed sign-ins" in r.get_data(as_text=True)
    known = attempt(client, "sergeant1")
    assert known.status_code == 429 and known.get_data() == r.get_data()
    assert attempt(client, "sergeant1", PASSWORDS["sergeant"]).status_code == 302
    other_address = app.test_client()
    other_address.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert attempt(other_address, "nobody-else").status_code == 401
    scopes = [e.detail["scope"] for e in audit_rows(engine, "login.throttled")]
    assert scopes == ["address", "address"]
    clock.now += 15 * 60 + 1  # the window slides past
    assert attempt(client, "nobody-else2").status_code == 401


def test_throttle_unit_rules():
    c = Clock()
    t = LoginThrottle(clock=c)
    for i in range(29):
        t.failed(f"x{i}", "1.1.1.1", known=False)
    assert t.address_wait("1.1.1.1") == 0
    t.failed("y", "1.1.1.1", known=True)  # failures for real accounts do not count per address
    assert t.address_wait("1.1.1.1") == 0
    t.failed("x29", "1.1.1.1", known=False)
    assert t.address_wait("1.1.1.1") == 15 * 60 + 1
    assert t.address_wait("2.2.2.2") == 0
    assert t.retry_after("y", "1.1.1.1") == 0  # the address limit never locks a name
    c.now += 2 * 60 * 60  # two hours without failures: everything is forgotten
    assert t.retry_after("x0", "1.1.1.1") == 0 and t.address_wait("1.1.1.1") == 0


# --- trusted proxy headers ------------------------------------------------------------------


def _login_ip(app, engine, *, peer: str, forwarded: str | None) -> str:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    client.post("/login", data={"username": "sergeant1", "password": "wrong-password-x",
                                "csrf_token": csrf_of(client)}, headers=headers)
    return audit_rows(engine, "login.failed")[-1].detail["ip"]


def test_forwarded_for_ignored_by_default(site):
    app, engine, _ = site
    assert _login_ip(app, engine, peer=PROXY, forwarded=CLIENT_A) == PROXY


def test_forwarded_for_honoured_from_listed_proxy_only(sqlite_db):
    engine = _users_db(sqlite_db)
    app = make_app(sqlite_db, engine, web_trusted_proxies=f"{PROXY}, 10.9.0.0/16")
    assert _login_ip(app, engine, peer=PROXY, forwarded=CLIENT_A) == CLIENT_A
    # a client forging an entry: the proxy appends the real peer, which is what counts
    assert _login_ip(app, engine, peer=PROXY, forwarded=f"1.2.3.4, {CLIENT_A}") == CLIENT_A
    # a chain of listed proxies is skipped from the right
    assert _login_ip(app, engine, peer=PROXY, forwarded=f"{CLIENT_B}, 10.9.1.1") == CLIENT_B
    # a peer that is not a listed proxy: the header is not believed
    assert _login_ip(app, engine, peer="198.51.100.9", forwarded=CLIENT_A) == "198.51.100.9"
    # garbage where the client address belongs: the proxy's address is kept
    assert _login_ip(app, engine, peer=PROXY, forwarded="not-an-ip") == PROXY
    engine.dispose()


def test_forwarded_for_with_a_proxy_count(sqlite_db):
    engine = _users_db(sqlite_db)
    app = make_app(sqlite_db, engine, web_trusted_proxies="1")
    assert _login_ip(app, engine, peer=PROXY, forwarded=f"1.2.3.4, {CLIENT_A}") == CLIENT_A
    engine.dispose()


def test_trusted_proxy_separates_users_behind_it(sqlite_db):
    """With the proxy configured, each user behind it is throttled on their own address."""
    engine = _users_db(sqlite_db)
    app = make_app(sqlite_db, engine, web_trusted_proxies=PROXY)
    a, b = app.test_client(), app.test_client()
    for c, ip in ((a, CLIENT_A), (b, CLIENT_B)):
        c.environ_base.update(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ip)
    for _ in range(5):
        assert attempt(a, "sergeant1").status_code == 401
    assert attempt(a, "sergeant1", PASSWORDS["sergeant"]).status_code == 429
    assert attempt(b, "sergeant1", PASSWORDS["sergeant"]).status_code == 302
    engine.dispose()


def test_trusted_proxies_setting_is_checked(sqlite_db):
    assert trusted_proxies("") == 0 and trusted_proxies("2") == 2
    with pytest.raises(ConfigError, match="web_trusted_proxies"):
        trusted_proxies("proxy.example")
    with pytest.raises(ConfigError):
        make_app(sqlite_db, web_trusted_proxies="10.0.0.300")

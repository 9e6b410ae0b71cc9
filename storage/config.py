"""beatmap's settings: one table (name, default, help) read from defaults, ``beatmap.toml``,
environment variables ``BEATMAP_<NAME>`` and command-line options, in that order of priority.

Every setting is documented in the README; ``tests/test_docs.py`` fails when one is not.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "BEATMAP_"
CONFIG_FILE = "beatmap.toml"


class ConfigError(ValueError):
    """A setting has a value beatmap cannot use."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    type: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "sqlite:///beatmap.db", "Database URL (SQLite file or postgresql+psycopg://…)."),
    Setting("user_agent", "beatmap/0.1 (+{contact_url})",
            "User-Agent the crawler sends; {contact_url} is filled in from contact_url."),
    Setting("contact_url", "", "Where site owners can read about the crawl and contact the "
            "force. The crawler refuses to run without one."),
    Setting("crawl_purpose", "", "The stated purpose recorded with every crawl; required."),
    Setting("export_purpose", "", "Default reason recorded with `beatmap export` when no "
            "--reason is given (e.g. for a scheduled export); empty = --reason is required. "
            "Never enough for --include-sensitive."),
    Setting("allow_private_hosts", "", "Comma-separated hosts or IPs the SSRF guard lets through "
            "(only for the offline sample web and tests, e.g. 127.0.0.1). Logged at start."),
    Setting("proxy", "", "HTTP proxy for all crawler requests (the sample web serves as one)."),
    Setting("pseudonym_key", "", "Secret key for the keyed hash of author handles. "
            "Generated into the database on first use when empty."),
    Setting("pseudonym_period", "", "Label of the current key period (rotate by changing it)."),
    Setting("max_pages", 50000, "Total page budget of one crawl.", int),
    Setting("max_pages_per_host", 2000, "Page budget per host in one crawl.", int),
    Setting("max_depth", 3, "Link hops from a seed that discovery follows.", int),
    Setting("max_response_bytes", 5_000_000, "Largest response body accepted, after "
            "decompression.", int),
    Setting("download_timeout", 20, "Seconds before a request is abandoned.", int),
    Setting("concurrent_requests", 32, "Requests in flight across all hosts.", int),
    Setting("concurrent_per_host", 1, "Requests in flight per host.", int),
    Setting("crawl_delay_cap", 10.0, "Longest robots.txt Crawl-delay honoured, seconds.", float),
    Setting("redis_url", "redis://127.0.0.1:6379/0", "Redis for the distributed frontier "
            "(redis://[user:password@]host:port/db, or rediss:// for TLS)."),
    Setting("redis_prefix", "beatmap", "Prefix of every Redis key of the distributed crawl "
            "(lets several installations share one Redis)."),
    Setting("retention_post_days", 365, "Days post text and evidence are kept.", int),
    Setting("retention_audit_days", 2190, "Days audit entries are kept (6 years).", int),
    Setting("max_import_bytes", 12 * 1024 * 1024, "Most bytes one `beats import` or `gazetteer "
            "import` reads, after decompression, over all its files, zip members and .gz "
            "streams; more is refused. Bounds memory under 500 MB: a 12 MiB beat file peaks "
            "at about 460 MB; all bundled gazetteer and postcode files together are 7.8 MB.",
            int),
    Setting("max_import_ratio", 100, "Largest decompressed/compressed size ratio accepted from "
            "a zip member or .gz file (once past 1 MiB); more is refused as a likely "
            "decompression bomb. Real KML, GeoJSON and CSV compress 3 to 20 times.", int),
    Setting("police_api_url", "https://data.police.uk/api", "Base URL of the police.uk API."),
    Setting("geocoder", "", "Optional online geocoder for names missing from the gazetteer "
            "('nominatim' or empty for none)."),
    Setting("geocoder_url", "https://nominatim.openstreetmap.org", "Geocoder base URL."),
    Setting("web_host", "127.0.0.1", "Address the web UI binds to."),
    Setting("web_port", 8150, "Port of the web UI.", int),
    Setting("secret_key", "", "Web session signing key; generated into the database when empty."),
    Setting("tile_url", "", "Map tile URL template for the web UI; empty = beat polygons only."),
    Setting("web_secure_cookies", "no", "Mark the web session cookie Secure (HTTPS only): "
            "'yes' when users reach the UI over HTTPS, e.g. behind a TLS proxy."),
    Setting("web_trusted_proxies", "", "Reverse proxies whose X-Forwarded-For (and -Proto) the "
            "web UI believes, for the client address of the sign-in throttle and the audit log: "
            "empty = none (the peer address is the client); a number N = the N proxies in front "
            "(only safe when nothing else can reach the server); or a comma-separated list of "
            "proxy addresses/networks, e.g. 10.0.0.5, 10.1.0.0/16."),
    Setting("ner_model", "", "Optional installed spaCy pipeline whose ner adds places the "
            "gazetteer lacks (e.g. en_core_web_sm); empty = rule-based tagging only."),
    Setting("download_delay", 1.0, "Least seconds between two requests to one host (AutoThrottle "
            "and robots.txt Crawl-delay may raise it; 0 only for the sample web).", float),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, value: Any) -> Any:
    if value is None or isinstance(value, setting.type):
        return value
    try:
        return setting.type(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"setting {setting.name!r} must be {setting.type.__name__}, got {value!r}"
        ) from exc


class Config:
    """Resolved settings. ``Config.load()`` reads file and environment; overrides win."""

    def __init__(self, values: dict[str, Any]):
        self._values = values

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, *, path: Path | None = None,
             environ: dict[str, str] | None = None) -> Config:
        environ = os.environ if environ is None else environ
        values = {s.name: s.default for s in SETTINGS}
        file_path = path or Path(environ.get(ENV_PREFIX + "CONFIG", CONFIG_FILE))
        if file_path.exists():
            values.update(_read_toml(file_path))
        for s in SETTINGS:
            env = environ.get(ENV_PREFIX + s.name.upper())
            if env is not None:
                values[s.name] = env
        for name, value in (overrides or {}).items():
            if value is not None:
                values[name] = value
        return cls({name: _coerce(_BY_NAME[name], v) for name, v in values.items()})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def replace(self, **changes: Any) -> Config:
        values = dict(self._values)
        for name, value in changes.items():
            if name not in _BY_NAME:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = _coerce(_BY_NAME[name], value)
        return Config(values)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    @property
    def allowed_private_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.allow_private_hosts.split(",") if h.strip())


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    section = data.get("beatmap", data)
    unknown = sorted(set(section) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    return section


def settings_table() -> str:
    """The README's settings table, rendered from ``SETTINGS`` (``make docs`` writes it)."""
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default != "" else "(empty)"
        rows.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)


def update_readme(path: Path) -> bool:
    """Rewrite the settings table between its markers in ``path``; True when it changed."""
    text = path.read_text(encoding="utf-8")
    start, end = "<!-- settings-table -->\n", "<!-- /settings-table -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    new = head + start + settings_table() + "\n" + end + tail
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    update_readme(Path(__file__).resolve().parent.parent / "README.md")

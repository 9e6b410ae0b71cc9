"""Route one request to its host's behaviour: robots.txt, host redirects, mirrors, platform pages."""

from __future__ import annotations

import logging

from sampleweb.model import World
from sampleweb.platforms import renderer
from sampleweb.platforms.common import Req, Resp, not_found, redirect

logger = logging.getLogger(__name__)

# Sitemap each engine announces in robots.txt, as the real engines (or their SEO plugins) do.
SITEMAPS = {"wordpress": "/wp-sitemap.xml", "ghost": "/sitemap.xml", "blogger": "/sitemap.xml",
            "discourse": "/sitemap.xml"}
# The council site asks for a pause between requests; crawlers should honour it (capped).
CRAWL_DELAY_KIND = "council_directory"
CRAWL_DELAY_SECONDS = 1
AI_AGENTS = ("GPTBot", "CCBot")


def _rules_host(world: World, host: str) -> str:
    """A www. mirror answers with the robots.txt of the site it mirrors."""
    return world.hosts.get(host, {}).get("mirror_of") or host


def robots_txt(world: World, host: str) -> str:
    host = _rules_host(world, host)
    config = world.hosts.get(host, {})
    if config.get("robots") == "disallow_all":
        return "User-agent: *\nDisallow: /\n"
    lines = ["User-agent: *"]
    for path in config.get("allow") or []:
        lines.append(f"Allow: {path}")
    for path in config.get("disallow") or []:
        lines.append(f"Disallow: {path}")
    if len(lines) == 1:
        lines.append("Disallow:")
    venues = world.host_venues.get(host, [])
    if any(v.d["kind"] == CRAWL_DELAY_KIND for v in venues):
        lines.append(f"Crawl-delay: {CRAWL_DELAY_SECONDS}")
    lines.append("")
    for agent in AI_AGENTS:
        lines += [f"User-agent: {agent}", "Disallow: /", ""]
    for v in venues[:1]:
        if v.platform in SITEMAPS:
            lines.append(f"Sitemap: http://{host}{SITEMAPS[v.platform]}")
    return "\n".join(lines) + "\n"


def robots_rules(world: World, host: str) -> tuple[str, list[str], list[str]]:
    """(mode, allow prefixes, disallow prefixes) that apply to a generic crawler on ``host``."""
    config = world.hosts.get(_rules_host(world, host))
    if config is None:
        return "allow", [], []
    mode = config.get("robots", "allow")
    if mode in ("disallow_all", "503", "timeout"):
        # 503 and no answer mean "disallow everything" to a crawler that fails closed.
        return mode, [], ["/"]
    return mode, list(config.get("allow") or []), list(config.get("disallow") or [])


def is_allowed(allow: list[str], disallow: list[str], target: str) -> bool:
    """Longest-match rule of RFC 9309: the longest matching prefix wins, ``Allow`` on a tie."""
    best_allow = max((len(p) for p in allow if target.startswith(p)), default=-1)
    best_disallow = max((len(p) for p in disallow if p and target.startswith(p)), default=-1)
    return best_allow >= best_disallow


def handle(world: World, req: Req) -> Resp:
    """The response of the sample web to ``req`` (the host is known to be hosted)."""
    config = world.hosts[req.host]
    if config.get("redirect"):
        target = config["redirect"]
        location = target["to"] + req.path + (f"?{req.query}" if req.query else "")
        return redirect(location, target["status"])
    if req.path == "/robots.txt":
        mode = config.get("robots", "allow")
        if mode == "503":
            return Resp(503, b"Service Unavailable", [("Retry-After", "3600")], "text/plain")
        if mode == "timeout":
            return Resp(200, b"", stall=True)
        return Resp(200, robots_txt(world, req.host).encode(), [], "text/plain; charset=utf-8")
    host = config.get("mirror_of") or req.host
    resp = _page(world, host, req)
    if config.get("slow"):
        resp.delay = max(resp.delay, world.slow_delay)
    return resp


def _page(world: World, host: str, req: Req) -> Resp:
    venue = world.venue_at(host, req.path)
    resp = None
    if venue is not None:
        resp = renderer(venue.platform).render(venue, req)
    if resp is None:
        platforms = {v.platform for v in world.host_venues.get(host, [])}
        for platform in sorted(platforms):
            module = renderer(platform)
            if hasattr(module, "host_render"):
                resp = module.host_render(world, host, req)
                if resp is not None:
                    break
    return resp if resp is not None else not_found()

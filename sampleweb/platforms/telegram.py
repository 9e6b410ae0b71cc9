"""A Telegram public-channel preview (``/s/{channel}``), paged backwards with ``?before=ID``.

Real shapes: ``div.tgme_widget_message`` with ``data-post="channel/ID"``, the text in
``div.tgme_widget_message_text``, ``a.tgme_widget_message_date`` wrapping ``<time datetime>``,
signatures in ``span.tgme_widget_message_from_author``, the "load more" link
``a.tme_messages_more[data-before]`` and channel info in ``div.tgme_channel_info``.
"""

from __future__ import annotations

from sampleweb.model import Post, Venue
from sampleweb.platforms.common import Req, Resp, e, html, iso, linked, links_block

PER_PAGE = 20


def channel(v: Venue) -> str:
    return v.d["channel"]


def external_id(v: Venue, p: Post) -> str:
    return f"{channel(v)}/{p.idx + 1}"


def msg_id(p: Post) -> int:
    return p.idx + 1


def post_url(v: Venue, p: Post) -> str:
    return f"http://{v.host}/{channel(v)}/{msg_id(p)}"


def _chain(v: Venue) -> list[list[Post]]:
    """Pages as the preview serves them: the newest PER_PAGE, then ?before=<smallest id shown>."""
    def make() -> list[list[Post]]:
        posts = sorted(v.posts, key=msg_id, reverse=True)
        return [list(reversed(posts[i:i + PER_PAGE])) for i in range(0, len(posts), PER_PAGE)]
    return v.memo("tg-chain", make)


def _page_urls(v: Venue) -> list[str]:
    base = f"http://{v.host}/s/{channel(v)}"
    pages = _chain(v)
    return [base] + [f"{base}?before={msg_id(pages[n - 1][0])}" for n in range(1, len(pages))]


def page_url(v: Venue, p: Post) -> str:
    for url, page in zip(_page_urls(v), _chain(v), strict=True):
        if p in page:
            return url
    return v.url


def urls(v: Venue) -> list[str]:
    return [f"http://{v.host}/{channel(v)}"] + _page_urls(v)


def _message(v: Venue, p: Post) -> str:
    text = "<br/>".join(linked(x) for x in p.paras)
    return (f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message text_not_supported_wrap '
            f'js-widget_message" data-post="{channel(v)}/{msg_id(p)}" data-view="{p.num}"><div class="tgme_widget_message_user">'
            f'<a href="/{channel(v)}"><i class="tgme_widget_message_user_photo bgcolor0" data-content="{e(v.name[:1])}"></i></a></div>'
            f'<div class="tgme_widget_message_bubble"><i class="tgme_widget_message_bubble_tail"></i><div class="tgme_widget_message_author accent_color">'
            f'<a class="tgme_widget_message_owner_name" href="/{channel(v)}"><span dir="auto">{e(v.name)}</span></a></div>'
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
            f'<div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info short js-message_info">'
            f'<span class="tgme_widget_message_views">{100 + p.num % 900}</span><span class="copyonly"> views</span>'
            f'<span class="tgme_widget_message_from_author" dir="auto">{e(p.author)}</span>, '
            f'<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="{post_url(v, p)}">'
            f'<time datetime="{iso(p.published)}" class="time">{p.published:%H:%M}</time></a></span></div></div></div></div></div>')


def render(v: Venue, req: Req) -> Resp | None:
    if req.path != f"/s/{channel(v)}":
        return None
    newest = sorted(v.posts, key=msg_id, reverse=True)
    if "before" in req.params:
        before = req.param_int("before", 0)
        if before < 2 or before > len(v.posts) + 1:
            return None
        newest = [p for p in newest if msg_id(p) < before]
    shown = list(reversed(newest[:PER_PAGE]))
    more = (f'<a class="tme_messages_more js-messages_more" data-before="{msg_id(shown[0])}" '
            f'href="/s/{channel(v)}?before={msg_id(shown[0])}"></a>') if shown and msg_id(shown[0]) > 1 else ""
    return html(f'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>{e(v.name)} &ndash; Telegram</title>\n'
                f'<meta property="og:title" content="{e(v.name)}">\n<meta property="og:site_name" content="Telegram">\n'
                f'<link rel="canonical" href="/s/{channel(v)}">\n'
                + (f'<link rel="prev" href="/s/{channel(v)}?before={msg_id(shown[0])}">\n' if more else "")
                + f'</head>\n<body class="widget_frame_base tgme_webpreview emoji_image">\n<header class="tgme_header"></header>\n'
                  f'<main class="tgme_main"><div class="tgme_container"><section class="tgme_channel_history js-message_history">'
                  f'<div class="tgme_widget_message_centered js-messages_more_wrap">{more}</div>'
                  f'{"".join(_message(v, p) for p in shown)}</section></div></main>\n'
                  f'<section class="tgme_right_column"><div class="tgme_channel_info"><div class="tgme_channel_info_header">'
                  f'<div class="tgme_channel_info_header_title"><span dir="auto">{e(v.name)}</span></div>'
                  f'<div class="tgme_channel_info_header_username"><a href="/{channel(v)}">@{channel(v)}</a></div></div>'
                  f'<div class="tgme_channel_info_description">Alerts and news for neighbours.{links_block(v, "See also")}</div>'
                  f'<div class="tgme_channel_info_counters"><div class="tgme_channel_info_counter"><span class="counter_value">'
                  f'{300 + len(v.posts) * 3}</span> <span class="counter_type">subscribers</span></div></div></div></section>\n'
                  f"</body>\n</html>\n")


def host_render(world, host: str, req: Req) -> Resp | None:
    """``/{channel}`` landing pages and ``/{channel}/{id}`` message pages on the shared host."""
    parts = req.path.strip("/").split("/")
    venues = {v.d["channel"]: v for v in world.host_venues.get(host, []) if v.platform == "telegram"}
    v = venues.get(parts[0]) if parts and parts[0] else None
    if v is None:
        return None
    if len(parts) == 1:
        return html(f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Telegram: Contact @{channel(v)}</title>'
                    f'<meta property="og:title" content="{e(v.name)}"></head><body class="no-transition"><div class="tgme_page">'
                    f'<div class="tgme_page_title"><span dir="auto">{e(v.name)}</span></div><div class="tgme_page_extra">'
                    f'{300 + len(v.posts) * 3} subscribers</div><div class="tgme_page_context_link_wrap">'
                    f'<a class="tgme_page_context_link" href="/s/{channel(v)}">Preview channel</a></div></div></body></html>')
    if len(parts) == 2 and parts[1].isdigit():
        n = int(parts[1])
        if 1 <= n <= len(v.posts):
            p = v.posts[n - 1]
            return html(f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(v.name)} &ndash; Telegram</title></head>'
                        f'<body class="widget_frame_base">{_message(v, p)}</body></html>')
    return None

"""A single-file HTML map of beats and venues that works offline (Leaflet inlined, no CDN).

Leaflet comes from :data:`beatmap.assets.LEAFLET_DIR` (the package's copy, else the clone's
``node_modules/leaflet/dist``; ``make setup`` makes both) and is copied into the page, so the
file opens from a USB stick on a laptop with no network. There are no map tiles unless the ``tile_url`` setting names a tile server; the beat polygons are the base
map. Scraped text reaches the page only as JSON data, and the script puts it into the page
with ``textContent``, so a hostile venue name cannot inject markup.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from beatmap.assets import LEAFLET_DIR
from beatmap.export.tabular import ATTRIBUTION

ROW_KEYS = ("rank", "name", "platform", "url", "score", "locality", "activity", "reach",
            "topical", "feedback", "reason", "status", "flags", "outreach_status", "lat", "lon")


class LeafletMissing(OSError):
    """Leaflet's files are not installed where the HTML export looks for them."""


def leaflet_assets(folder: Path = LEAFLET_DIR) -> tuple[str, str]:
    """Leaflet's JavaScript and CSS, read from the package's copy or the clone's npm install."""
    try:
        js = (folder / "leaflet.js").read_text(encoding="utf-8")
        css = (folder / "leaflet.css").read_text(encoding="utf-8")
    except OSError as exc:
        raise LeafletMissing(f"Leaflet not found in {folder}; run `make setup` "
                             "(npm installs it and copies it into the package)") from exc
    return js, css


def script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no ``<!--``).

    >>> script_json({"name": "</script><b>"})
    '{"name": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_data(data, tile_url: str = "") -> dict[str, Any]:
    beats = []
    for item in data:
        rows = [{k: r.get(k) for k in ROW_KEYS} for r in item.rows]
        beats.append({"key": item.beat.key, "name": item.beat.name,
                      "geometry": item.beat.geometry, "venues": rows})
    return {"beats": beats, "tile_url": tile_url, "attribution": ATTRIBUTION}


SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById('beatmap-data').textContent);
  var map = L.map('map', {preferCanvas: true});
  if (data.tile_url) { L.tileLayer(data.tile_url, {maxZoom: 19}).addTo(map); }
  var bounds = L.latLngBounds([]);
  var list = document.getElementById('list');
  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value == null ? '' : String(value);
    if (cls) { el.className = cls; }
    return el;
  }
  function popup(v, beat) {
    var box = document.createElement('div');
    box.appendChild(text('strong', '#' + v.rank + ' ' + v.name));
    box.appendChild(text('div', beat + ' · ' + v.platform + ' · score ' + v.score.toFixed(2)));
    if (/^https?:\/\//.test(v.url || '')) {
      var a = text('a', v.url); a.href = v.url; a.rel = 'noopener noreferrer'; a.target = '_blank';
      box.appendChild(a);
    }
    box.appendChild(text('div', v.reason, 'reason'));
    if (v.flags && v.flags.length) { box.appendChild(text('div', 'flags: ' + v.flags.join(', '))); }
    return box;
  }
  // A map must have a view before vector layers are added (the canvas renderer needs bounds).
  var layers = data.beats.map(function (beat) {
    var layer = L.geoJSON(beat.geometry, {style: {color: '#1f3864', weight: 2, fillOpacity: 0.08}});
    bounds.extend(layer.getBounds());
    return layer;
  });
  data.beats.forEach(function (beat) {
    beat.venues.forEach(function (v) { if (v.lat != null && v.lon != null) { bounds.extend([v.lat, v.lon]); } });
  });
  if (bounds.isValid()) { map.fitBounds(bounds); } else { map.setView([51.5, -0.1], 10); }
  data.beats.forEach(function (beat, i) {
    layers[i].addTo(map);
    var section = document.createElement('section');
    section.appendChild(text('h2', beat.name + ' (' + beat.venues.length + ')'));
    var ol = document.createElement('ol');
    beat.venues.forEach(function (v) {
      var li = text('li', v.name + ' — ' + v.score.toFixed(2));
      li.value = v.rank;
      ol.appendChild(li);
      if (v.lat == null || v.lon == null) { return; }
      var top = v.rank <= 10;
      var m = L.circleMarker([v.lat, v.lon], {radius: top ? 8 : 4, color: top ? '#c0392b' : '#777',
                                               fillOpacity: 0.8});
      m.bindPopup(popup(v, beat.name));
      m.addTo(map);
      li.addEventListener('click', function () { map.setView([v.lat, v.lon], 16); m.openPopup(); });
    });
    section.appendChild(ol);
    list.appendChild(section);
  });
  document.body.setAttribute('data-ready', 'yes');
  document.getElementById('attribution').textContent = data.attribution;
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{leaflet_css}</style>
<style>
body {{ margin: 0; font: 14px/1.4 system-ui, sans-serif; display: flex; height: 100vh; }}
#map {{ flex: 2; background: #f7f7f2; }}
#side {{ flex: 1; overflow: auto; padding: 0 12px; max-width: 420px; }}
#side h2 {{ font-size: 15px; margin: 14px 0 4px; }}
#side li {{ cursor: pointer; }}
.reason {{ margin-top: 4px; color: #333; }}
#attribution {{ font-size: 11px; color: #666; margin: 12px 0; }}
</style></head>
<body><div id="map"></div>
<div id="side"><h1 style="font-size:17px">{title}</h1><div id="list"></div>
<p id="attribution"></p></div>
<script type="application/json" id="beatmap-data">{data}</script>
<script>{leaflet_js}</script>
<script>{script}</script>
</body></html>
"""


def render_html(data, *, tile_url: str = "", title: str = "beatmap: venues by beat") -> str:
    js, css = leaflet_assets()
    return PAGE.format(title=html.escape(title), leaflet_css=css,
                       data=script_json(page_data(data, tile_url)),
                       leaflet_js=js.replace("</script", "<\\/script"), script=SCRIPT)


def write_html(session: Session | None, data, stream: BinaryIO, *, tile_url: str = "",
               **_: Any) -> None:
    stream.write(render_html(data, tile_url=tile_url).encode("utf-8"))

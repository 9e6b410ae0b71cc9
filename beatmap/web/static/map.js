/* beatmap maps: beat polygons (and a beat's venues) drawn with Leaflet from the page's JSON.
   All names go in as text nodes, never as HTML: they come from scraped pages. */
(function () {
  "use strict";
  var holder = document.getElementById("map");
  var source = document.getElementById("map-data");
  if (!holder || !source || typeof L === "undefined") { return; }
  var data = JSON.parse(source.textContent || "{}");
  var map = L.map(holder, { scrollWheelZoom: false, attributionControl: true, zoomSnap: 0.25 });
  var tiles = holder.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: "map tiles as configured" }).addTo(map);
  } else {
    holder.classList.add("no-tiles");
  }

  function textLink(text, href) {
    var a = document.createElement("a");
    a.textContent = text;
    a.href = href;
    return a;
  }

  function beatHref(key) {
    return "/beats/" + encodeURIComponent(key);
  }

  var most = 0;
  ((data.beats || {}).features || []).forEach(function (f) {
    most = Math.max(most, (f.properties || {}).venues || 0);
  });
  var beats = L.geoJSON(data.beats || { type: "FeatureCollection", features: [] }, {
    style: function (feature) {
      // On the overview, shade each beat by how many venues it has (darker = more).
      var n = (feature.properties || {}).venues;
      var share = n === undefined || !most ? 0.4 : n / most;
      return { color: "#1d4f91", weight: 2, fillColor: "#2f6db5", fillOpacity: 0.08 + 0.42 * share };
    },
    onEachFeature: function (feature, layer) {
      var p = feature.properties || {};
      var label = document.createElement("span");
      label.textContent = p.name + (p.venues !== undefined ? " · " + p.venues + " venues" : "");
      layer.bindTooltip(label, { sticky: true });
      if (data.link === "beat") {
        layer.on("click", function () { window.location.href = beatHref(p.key); });
      }
    }
  }).addTo(map);

  var markers = L.featureGroup();
  (data.venues || []).forEach(function (v) {
    var m = L.circleMarker([v.lat, v.lon], {
      radius: v.rank <= 10 ? 8 : 5, color: "#8a1c1c", weight: 2,
      fillColor: v.rank <= 10 ? "#d9534f" : "#f0ad4e", fillOpacity: 0.9
    });
    var box = document.createElement("div");
    var rank = document.createElement("strong");
    rank.textContent = "#" + v.rank + " ";
    box.appendChild(rank);
    box.appendChild(textLink(v.name, "/venues/" + encodeURIComponent(v.id)));
    m.bindPopup(box);
    markers.addLayer(m);
  });
  markers.addTo(map);

  var bounds = beats.getBounds();
  if (markers.getLayers().length) { bounds.extend(markers.getBounds()); }
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10] }); }
  else { map.setView([52.5, -1.5], 6); }
  holder.setAttribute("data-ready", String(beats.getLayers().length));
})();

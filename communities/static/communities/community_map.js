// "My community" map: the boundary, the plants and the PODs from the page's JSON, drawn by
// Leaflet (static/vendor). Tiles come from settings.MAP_TILE_URL (data-tiles, with its
// attribution); without one the shapes are drawn alone, on a plain background.
(function () {
  var el = document.getElementById("community-map");
  var data = JSON.parse(document.getElementById("community-map-data").textContent);
  if (!el || !window.L) return;
  var tiles = el.dataset.tiles || "";
  var map = L.map(el, {attributionControl: !!tiles}).setView([42.5, 12.5], 6);
  if (tiles) {
    L.tileLayer(tiles, {maxZoom: 19, attribution: el.dataset.attribution || ""}).addTo(map);
  }
  var gettext = window.gettext || function (s) { return s; };
  var bounds = L.latLngBounds([]);
  if (data.boundary) {
    var b = L.geoJSON(data.boundary, {style: {color: "#1f7a52", weight: 2, fillOpacity: 0.08}}).addTo(map);
    bounds.extend(b.getBounds());
  }
  var plants = L.geoJSON(data.plants, {
    pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, {radius: 6 + Math.sqrt(f.properties.capacity_kwp || 1),
                                     color: "#a35f00", fillOpacity: 0.8});
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(f.properties.name + " · " + f.properties.capacity_kwp + " kWp");
    }
  }).addTo(map);
  if (data.plants.features.length) bounds.extend(plants.getBounds());
  if (data.pods && data.pods.features.length) {
    var pods = L.geoJSON(data.pods, {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {radius: 4, color: "#1d4f91", fillOpacity: 0.9});
      },
      onEachFeature: function (f, layer) { layer.bindTooltip(gettext("POD") + " " + f.properties.code); }
    }).addTo(map);
    bounds.extend(pods.getBounds());
  }
  if (bounds.isValid()) map.fitBounds(bounds, {padding: [20, 20], maxZoom: 16});
})();

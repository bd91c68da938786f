// "My community" map: the boundary and the plants from the page's JSON, drawn by Leaflet
// (static/vendor) with no tile server: the shapes alone tell where things are.
(function () {
  var el = document.getElementById("community-map");
  var data = JSON.parse(document.getElementById("community-map-data").textContent);
  if (!el || !window.L) return;
  var map = L.map(el, {attributionControl: false}).setView([42.5, 12.5], 6);
  var bounds = L.latLngBounds([]);
  if (data.boundary) {
    var b = L.geoJSON(data.boundary, {style: {color: "#1f8a5b", weight: 2, fillOpacity: 0.08}}).addTo(map);
    bounds.extend(b.getBounds());
  }
  var plants = L.geoJSON(data.plants, {
    pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, {radius: 6 + Math.sqrt(f.properties.capacity_kwp || 1),
                                     color: "#d98c00", fillOpacity: 0.8});
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(f.properties.name + " · " + f.properties.capacity_kwp + " kWp");
    }
  }).addTo(map);
  if (data.plants.features.length) bounds.extend(plants.getBounds());
  if (bounds.isValid()) map.fitBounds(bounds, {padding: [20, 20], maxZoom: 16});
})();

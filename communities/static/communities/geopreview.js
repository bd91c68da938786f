// Draws each geometry textarea's GeoJSON on a Leaflet map without any tile server;
// redraws as the text changes. Saving never depends on it.
(function () {
  function parse(text) {
    text = (text || "").trim();
    var m = text.match(/^(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)$/);
    if (m) return {type: "Point", coordinates: [parseFloat(m[1]), parseFloat(m[2])]};
    try { return JSON.parse(text); } catch (e) { return null; }
  }
  function setup(box) {
    var area = box.querySelector("textarea");
    var el = box.querySelector(".geojson-preview");
    if (!window.L || !area || !el) return;
    var map = L.map(el, {attributionControl: false}).setView([42.5, 12.5], 5);
    var layer = null;
    function draw() {
      if (layer) { map.removeLayer(layer); layer = null; }
      var geom = parse(area.value);
      if (!geom) return;
      try {
        layer = L.geoJSON(geom).addTo(map);
        var b = layer.getBounds();
        if (b.isValid()) map.fitBounds(b, {maxZoom: 16, padding: [10, 10]});
      } catch (e) { layer = null; }
    }
    area.addEventListener("input", draw);
    draw();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".geojson-widget").forEach(setup);
  });
})();

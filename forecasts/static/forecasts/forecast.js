// The forecast chart: production, consumption and shared energy with its 10-90 % band.
// Data comes from the json_script block named by each canvas's data-source (no inline script).
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  document.querySelectorAll("canvas.forecast-chart").forEach(function (canvas) {
    var node = document.getElementById(canvas.dataset.source);
    if (!node) return;
    var data = JSON.parse(node.textContent);
    var labels = data.t.map(function (t) {
      var d = new Date(t);
      return d.toLocaleString(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });
    });
    var s = data.series;
    var shared = s.shared || { values_kwh: [], low_kwh: [], high_kwh: [] };
    new Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [
          { label: canvas.dataset.production + " (kWh)", data: (s.production || {}).values_kwh, borderColor: "#e0a100", pointRadius: 0 },
          { label: canvas.dataset.consumption + " (kWh)", data: (s.consumption || {}).values_kwh, borderColor: "#3366cc", pointRadius: 0 },
          { label: canvas.dataset.shared + " (kWh)", data: shared.values_kwh, borderColor: "#2e9d4f", pointRadius: 0 },
          { label: "10 %", data: shared.low_kwh, borderColor: "rgba(46,157,79,0.2)", pointRadius: 0, fill: false },
          { label: "90 %", data: shared.high_kwh, borderColor: "rgba(46,157,79,0.2)",
            backgroundColor: "rgba(46,157,79,0.12)", pointRadius: 0, fill: "-1" }
        ]
      },
      options: { animation: false, interaction: { mode: "index", intersect: false },
                 scales: { y: { beginAtZero: true } } }
    });
  });
})();

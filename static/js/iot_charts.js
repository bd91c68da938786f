// History chart of one device (Chart.js from static/vendor): data from
// /api/v1/iot/devices/<id>/timeseries at the chosen resolution (auto: at most 2,000 points).
(function () {
  "use strict";
  const form = document.getElementById("history-form");
  const canvas = document.getElementById("history-chart");
  if (!form || !canvas || !window.Chart) return;
  const info = document.getElementById("history-info");
  let chart = null;

  function datasetsFor(body) {
    const unit = body.unit ? ` (${body.unit})` : "";
    if (body.delta && body.delta.some((v) => v !== null)) {
      return [{ type: "bar", label: `${body.metric} increase per ${body.resolution}${unit}`, data: body.delta,
                backgroundColor: "#1f8a5b" }];
    }
    const sets = [{ label: `${body.metric}${body.resolution === "raw" ? "" : " mean"}${unit}`, data: body.value,
                    borderColor: "#1f8a5b", pointRadius: 0, tension: 0.2 }];
    if (body.min && body.max) {
      sets.push({ label: "min", data: body.min, borderColor: "#9fc9b3", pointRadius: 0, borderDash: [4, 4] });
      sets.push({ label: "max", data: body.max, borderColor: "#9fc9b3", pointRadius: 0, borderDash: [4, 4] });
    }
    return sets;
  }

  async function load() {
    const data = new FormData(form);
    const days = Math.max(1, Number(data.get("days")) || 1);
    const end = new Date();
    const start = new Date(end.getTime() - days * 86400000);
    const params = new URLSearchParams({ metric: data.get("metric"), resolution: data.get("resolution"),
                                         start: start.toISOString(), end: end.toISOString() });
    info.textContent = "loading…";
    const response = await fetch(`${form.dataset.url}?${params}`, { credentials: "same-origin",
                                                                    headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) { info.textContent = body.message || "error"; return; }
    info.textContent = `${body.points} points at ${body.resolution}`;
    const labels = body.t.map((t) => new Date(t).toLocaleString());
    if (chart) chart.destroy();
    chart = new window.Chart(canvas, { type: "line", data: { labels, datasets: datasetsFor(body) },
                                       options: { animation: false, scales: { x: { ticks: { maxTicksLimit: 12 } } } } });
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
})();

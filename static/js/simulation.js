// Simulation run page: progress over the websocket (SSE as fallback), then Chart.js charts.
(function () {
  "use strict";
  const box = document.getElementById("sim-progress");
  if (!box) return;
  const job = box.dataset.job;
  const bar = document.getElementById("sim-bar");
  const stage = document.getElementById("sim-stage");
  const message = document.getElementById("sim-message");
  const cancel = document.getElementById("sim-cancel");
  const FINAL = ["done", "failed", "cancelled"];
  let finished = false;

  function csrf() {
    const m = document.cookie.match(/csrftoken=([^;]+)/);
    return m ? m[1] : "";
  }

  function show(event) {
    bar.value = event.percent;
    stage.textContent = event.stage;
    message.textContent = event.message;
    if (FINAL.includes(event.status) && !finished) {
      finished = true;
      if (cancel) cancel.hidden = true;
      if (event.status === "done") loadResults();
    }
  }

  function viaSse() {
    const source = new EventSource(`/api/v1/simulation/progress?job=${job}`);
    const handler = (e) => { const data = JSON.parse(e.data); show(data); if (FINAL.includes(data.status)) source.close(); };
    ["progress", "done", "failed", "cancelled"].forEach((name) => source.addEventListener(name, handler));
    // the stream ends: the right to see the run is gone, or its time limit passed
    ["forbidden", "timeout"].forEach((name) => source.addEventListener(name, (e) => { message.textContent = JSON.parse(e.data).message; source.close(); }));
  }

  function follow() {
    if (FINAL.includes(box.dataset.status)) { show({percent: bar.value, stage: stage.textContent, message: message.textContent, status: box.dataset.status}); return; }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let opened = false;
    const ws = new WebSocket(`${scheme}://${location.host}/ws/simulation/${job}/`);
    ws.onopen = () => { opened = true; };
    ws.onmessage = (e) => { const data = JSON.parse(e.data); show(data); if (FINAL.includes(data.status)) ws.close(); };
    // 4403: the right to see the run is gone; 4404: never had it. Otherwise fall back to SSE.
    ws.onclose = (e) => { if ([4403, 4404].includes(e.code)) { message.textContent = "You may no longer follow this run."; return; } if (!opened || !finished) viaSse(); };
  }

  if (cancel) cancel.addEventListener("click", () => {
    fetch(`/api/v1/simulation/${job}/cancel`, {method: "POST", headers: {"X-CSRFToken": csrf()}, credentials: "same-origin"});
  });

  function chart(id, type, labels, datasets, extra) {
    return new Chart(document.getElementById(id), {type, data: {labels, datasets}, options: Object.assign({responsive: true, animation: false}, extra || {})});
  }

  function kpi(label, value) {
    const el = document.createElement("section");
    el.className = "card";
    el.innerHTML = `<div class="muted"></div><div class="kpi"></div>`;
    el.querySelector(".muted").textContent = label;
    el.querySelector(".kpi").textContent = value;
    return el;
  }

  function loadResults() {
    fetch(`/api/v1/simulation/${job}`, {credentials: "same-origin"}).then((r) => r.json()).then((run) => {
      const r = run.results;
      document.getElementById("sim-results").hidden = false;
      document.getElementById("sim-csv").hidden = false;
      const kpis = document.getElementById("sim-kpis");
      kpis.append(
        kpi("Shared energy", `${Math.round(r.total.shared_kwh).toLocaleString()} kWh`),
        kpi("Self-sufficiency", `${r.total.self_sufficiency_pct} %`),
        kpi("Incentive + valorisation", `€ ${(Number(r.total.incentive_eur) + Number(r.total.valorisation_eur)).toFixed(2)}`),
        kpi("Optimal vs baseline", `€ ${r.difference.objective_eur}`),
        kpi("NPV", `€ ${r.economics.npv_eur}`),
        kpi("Payback", r.economics.simple_payback_years === null ? "never" : `${r.economics.simple_payback_years} years`),
      );
      chart("chart-monthly", "bar", r.monthly.map((m) => m.month), [
        {label: "optimal (kWh)", data: r.monthly.map((m) => m.shared_kwh), backgroundColor: "#1f8a5b"},
        {label: "baseline (kWh)", data: r.monthly.map((m) => m.shared_kwh_baseline), backgroundColor: "#9cc9b1"},
      ]);
      chart("chart-day", "line", r.typical_day.map((h) => `${h.hour}:00`), [
        {label: "consumption (kW)", data: r.typical_day.map((h) => h.consumption_kwh), borderColor: "#c0392b"},
        {label: "production (kW)", data: r.typical_day.map((h) => h.production_kwh), borderColor: "#f1c40f"},
        {label: "shared (kW)", data: r.typical_day.map((h) => h.shared_kwh), borderColor: "#1f8a5b"},
      ]);
      const soc = r.soc_first_week;
      chart("chart-soc", "line", soc.t.map((t) => t.slice(5, 16).replace("T", " ")), [
        {label: "optimal (kWh)", data: soc.optimal_kwh, borderColor: "#1f8a5b", pointRadius: 0},
        {label: "baseline (kWh)", data: soc.baseline_kwh, borderColor: "#7f8c8d", pointRadius: 0},
      ]);
      chart("chart-cash", "line", r.economics.cash_flow.map((c) => c.year), [
        {label: "cumulative cash flow (€)", data: r.economics.cash_flow.map((c) => Number(c.cumulative_eur)), borderColor: "#2c3e50", fill: false},
      ]);
      const body = document.querySelector("#sim-split tbody");
      r.split.members.forEach((m) => {
        const tr = document.createElement("tr");
        [m.name, m.producer_eur, m.consumer_eur, m.total_eur].forEach((v) => { const td = document.createElement("td"); td.textContent = v; tr.append(td); });
        body.append(tr);
      });
    });
  }

  follow();
})();

// Live telemetry in the portal: one websocket per device on the page (ws/telemetry/?device=),
// authenticated by the session cookie. Each frame updates the device's row; the dashboard
// tiles (power by kind, battery) are recomputed from the rows, and today's energy is fetched
// again from /api/v1/dashboard at most every 30 s (it comes from the minute rollups).
(function () {
  "use strict";
  const root = document.getElementById("live-kpis");
  if (!root) return;
  const ids = (root.dataset.devices || "").split(",").filter(Boolean);
  const community = root.dataset.community || "";  // a referent's community view: one stream
  const stateEl = document.getElementById("live-state");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let openSockets = 0;
  let energyTimer = null;

  function setState(text) {
    if (stateEl) { stateEl.textContent = text; stateEl.dataset.state = text; }
  }
  function fmt(value) {
    return typeof value === "number" && isFinite(value) ? String(Math.round(value * 100) / 100) : "–";
  }
  function number(cell) {
    const v = cell ? parseFloat(cell.textContent) : NaN;
    return isFinite(v) ? v : null;
  }
  function sumKind(kind) {
    let total = null;
    document.querySelectorAll(`tr[data-kind="${kind}"] td[data-metric="power_w"]`).forEach((cell) => {
      const v = number(cell);
      if (v !== null) total = (total || 0) + v;
    });
    return total;
  }
  function setKpi(name, value) {
    const el = root.querySelector(`[data-kpi="${name}"]`);
    if (el) el.textContent = typeof value === "string" ? value : fmt(value);
  }
  function recomputeTiles() {
    if (!root.querySelector("[data-kpi]")) return;  // a device page has no tiles
    setKpi("grid", sumKind("meter"));
    setKpi("production", sumKind("inverter"));
    const socs = [];
    document.querySelectorAll('tr[data-kind="battery"] td[data-metric="soc_pct"]').forEach((c) => {
      const v = number(c);
      if (v !== null) socs.push(v);
    });
    if (socs.length) setKpi("soc", socs.reduce((a, b) => a + b, 0) / socs.length);
    const battery = sumKind("battery");
    if (battery !== null) setKpi("battery_state", Math.abs(battery) < 50 ? "idle" : battery > 0 ? "discharging" : "charging");
  }
  function refreshEnergy() {
    energyTimer = null;
    fetch(community ? `/api/v1/dashboard?community=${encodeURIComponent(community)}` : "/api/v1/dashboard", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => {
        if (!data) return;
        Object.entries(data.energy_today_kwh || {}).forEach(([key, value]) => {
          const el = root.querySelector(`[data-energy="${key}"]`);
          if (el) el.textContent = fmt(value);
        });
      })
      .catch(() => {});
  }
  function scheduleEnergy() {
    if (root.querySelector("[data-energy]") && energyTimer === null) energyTimer = setTimeout(refreshEnergy, 30000);
  }
  function applyFrame(frame) {
    const latest = {};
    frame.readings.forEach((r) => { latest[r.metric] = r; });  // sorted by time: the last wins
    document.querySelectorAll(`tr[data-device="${frame.device}"]`).forEach((row) => {
      Object.values(latest).forEach((r) => {
        const cell = row.querySelector(`td[data-metric="${r.metric}"]`);
        if (cell) {
          cell.textContent = fmt(r.value);
          const ts = row.querySelector('td[data-field="ts"]');
          if (ts) ts.textContent = r.ts;
        }
      });
    });
    recomputeTiles();
    scheduleEnergy();
  }
  function connect(query, attempt) {
    const ws = new WebSocket(`${scheme}://${location.host}/ws/telemetry/?${query}`);
    let refused = false;
    ws.onopen = () => { openSockets += 1; setState("live"); attempt = 0; };
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "readings") applyFrame(frame);
      else if (frame.type === "error") { refused = true; setState(frame.message); }
    };
    ws.onclose = () => {
      openSockets = Math.max(0, openSockets - 1);
      if (refused) return;
      if (!openSockets) setState("reconnecting…");
      setTimeout(() => connect(query, attempt + 1), Math.min(30000, 1000 * 2 ** attempt));
    };
  }
  if (!ids.length) { setState("no devices"); return; }
  if (community) connect(`community=${encodeURIComponent(community)}`, 0);
  else ids.forEach((id) => connect(`device=${encodeURIComponent(id)}`, 0));
})();

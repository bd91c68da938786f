// The portal homes: charts from the page's JSON (Chart.js, vendored) and live power over
// the telemetry websocket. Texts come from Django's JavaScript catalog (gettext), numbers
// and times follow the page's language (<html lang>).
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const lang = document.documentElement.lang || "en";
  const nf = (digits) => new Intl.NumberFormat(lang, {maximumFractionDigits: digits, minimumFractionDigits: digits});
  const fmt = (v, digits) => (typeof v === "number" && isFinite(v) ? nf(digits).format(v) : "–");
  const data = (id) => { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; };
  const dayLabel = (iso) => new Intl.DateTimeFormat(lang, {day: "numeric", month: "short"}).format(new Date(iso + "T12:00:00"));
  const COLORS = {consumption: "#b3261e", production: "#a35f00", surplus: "rgba(26,117,80,0.25)",
                  self: "#1a7550", community: "#4f8fc0", grid: "#6b7280", shared: "#1a7550",
                  lastYear: "#3d2e8f"};

  const tick = new Intl.NumberFormat(lang, {maximumFractionDigits: 2});
  function axis(title) { return {title: {display: true, text: title}, ticks: {callback: (v) => tick.format(v)}}; }
  function tooltip(unit, digits) {
    return {callbacks: {label: (c) => `${c.dataset.label}: ${fmt(c.parsed.y, digits)} ${unit}`}};
  }
  function chart(id, config) {
    const el = document.getElementById(id);
    if (!el || !window.Chart) return null;
    config.options = Object.assign({responsive: true, maintainAspectRatio: false, animation: false,
                                    interaction: {mode: "index", intersect: false}}, config.options || {});
    return new Chart(el, config);
  }

  const curve = data("home-curve");
  let dayChart = null;
  if (curve) {
    const items = curve.items;
    dayChart = chart("chart-day", {type: "line", data: {labels: items.map((r) => r.time), datasets: [
      {label: gettext("Consumption"), data: items.map((r) => r.consumption_kw), borderColor: COLORS.consumption, pointRadius: 0, order: 1},
      {label: gettext("Production"), data: items.map((r) => r.production_kw), borderColor: COLORS.production, pointRadius: 0, order: 2},
      {label: gettext("Community surplus"), data: items.map((r) => r.community_surplus_kw), borderColor: COLORS.surplus,
       backgroundColor: COLORS.surplus, fill: true, pointRadius: 0, order: 3},
    ]}, options: {scales: {x: {title: {display: true, text: gettext("Local time")}, ticks: {maxTicksLimit: 8}}, y: axis(gettext("Power (kW)"))},
                  plugins: {tooltip: tooltip("kW", 2)}}});
  }
  // the live frames move the curve's current quarter hour (the community's local time);
  // a new quarter hour adds a point, so the curve grows through the day without a reload
  const quarterLabel = curve ? (() => {
    const parts = new Intl.DateTimeFormat("en-GB", {timeZone: curve.time_zone, hour: "2-digit", minute: "2-digit",
                                                     hourCycle: "h23"}).formatToParts(new Date());
    const hh = parts.find((p) => p.type === "hour").value, mm = Number(parts.find((p) => p.type === "minute").value);
    return `${hh}:${String(mm - (mm % 15)).padStart(2, "0")}`;
  }) : null;
  function liveCurve(consumptionW, productionW) {
    if (!dayChart) return;
    const labels = dayChart.data.labels, label = quarterLabel();
    let i = labels.length - 1;
    if (labels[i] !== label) {
      if (labels.length && label < labels[i]) return;  // past midnight: the page is yesterday's
      labels.push(label);
      dayChart.data.datasets.forEach((d) => d.data.push(null));
      i = labels.length - 1;
    }
    const [cons, prod] = dayChart.data.datasets;
    if (consumptionW !== null) cons.data[i] = consumptionW / 1000;
    if (productionW !== null) prod.data[i] = productionW / 1000;
    dayChart.update("none");
    document.getElementById("chart-day").dataset.liveQuarter = label;
  }
  const month = data("home-month");
  if (month) {
    chart("chart-month", {type: "bar", data: {labels: month.map((r) => dayLabel(r.date)), datasets: [
      {label: gettext("Self-consumed"), data: month.map((r) => r.self_consumed_kwh), backgroundColor: COLORS.self},
      {label: gettext("From the community"), data: month.map((r) => r.community_kwh), backgroundColor: COLORS.community},
      {label: gettext("From the grid"), data: month.map((r) => r.grid_kwh), backgroundColor: COLORS.grid},
      {type: "line", label: gettext("Same day last year"), data: month.map((r) => r.last_year_kwh),
       borderColor: COLORS.lastYear, backgroundColor: COLORS.lastYear, borderDash: [6, 4], pointRadius: 2,
       spanGaps: false, stack: "last-year"},
    ]}, options: {scales: {x: {stacked: true, title: {display: true, text: gettext("Day")}}, y: Object.assign(axis(gettext("Energy (kWh)")), {stacked: true})},
                  plugins: {tooltip: tooltip("kWh", 2)}}});
  }
  const shared = data("home-shared");
  if (shared) {
    chart("chart-shared", {type: "bar", data: {labels: shared.map((r) => dayLabel(r.date)), datasets: [
      {label: gettext("Shared energy"), data: shared.map((r) => r.shared_kwh), backgroundColor: COLORS.shared},
    ]}, options: {scales: {x: {title: {display: true, text: gettext("Day")}}, y: axis(gettext("Energy (kWh)"))},
                  plugins: {tooltip: tooltip("kWh", 2)}}});
  }

  // --- live power: one websocket per device (member) or one for the community (referent)
  const root = document.getElementById("live-home");
  if (!root) return;
  const stateEl = document.getElementById("live-state");
  const kinds = {};
  const power = {};
  (data("home-devices") || []).forEach((d) => {
    kinds[d.id] = d.kind;
    if (typeof d.power_w === "number") power[d.id] = d.power_w;
  });
  const community = root.dataset.community || "";
  function setState(key, text) { if (stateEl) { stateEl.textContent = text; stateEl.dataset.state = key; } }
  function sum(kind) {
    let total = null;
    Object.entries(power).forEach(([id, v]) => { if (kinds[id] === kind) total = (total || 0) + v; });
    return total;
  }
  function recompute() {
    const grid = sum("meter"), production = sum("inverter"), battery = sum("battery");
    const set = (name, v) => root.querySelectorAll(`[data-live="${name}"]`).forEach((el) => {
      el.textContent = fmt(v, 0); el.dataset.raw = v === null ? "" : String(v);
    });
    const consumption = grid !== null ? grid + (production || 0) + (battery || 0) : null;
    if (consumption !== null) set("consumption", consumption);
    if (production !== null) set("production", production);
    liveCurve(consumption, production);
    if (grid !== null) set("grid", grid);
    // shared power: min(injection, withdrawal) over the meters (as on the server)
    let withdrawal = 0, injection = 0, meters = 0;
    Object.entries(power).forEach(([id, v]) => {
      if (kinds[id] !== "meter") return;
      meters += 1;
      if (v > 0) withdrawal += v; else injection -= v;
    });
    if (meters) set("shared", Math.min(withdrawal, injection));
  }
  function connect(query, attempt) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/telemetry/?${query}`);
    let refused = false;
    ws.onopen = () => setState("live", gettext("live"));
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "error") { refused = true; setState("error", frame.message); return; }
      if (frame.type !== "readings") return;
      if (frame.kind) kinds[frame.device] = frame.kind;
      frame.readings.forEach((r) => { if (r.metric === "power_w") power[frame.device] = r.value; });
      recompute();
    };
    ws.onclose = () => {
      if (refused) return;
      setState("reconnecting", gettext("reconnecting…"));
      setTimeout(() => connect(query, attempt + 1), Math.min(30000, 1000 * 2 ** attempt));
    };
  }
  if (community) connect(`community=${encodeURIComponent(community)}`, 0);
  else if (Object.keys(kinds).length) Object.keys(kinds).forEach((id) => connect(`device=${encodeURIComponent(id)}`, 0));
  else setState("none", gettext("no devices"));
})();

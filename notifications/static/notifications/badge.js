// The navigation's unread badge, live over ws/notifications/ (and the centre's list when
// the page is open: a new notification is added on top).
(function () {
  "use strict";
  const badges = document.querySelectorAll("[data-unread-badge]");
  if (!badges.length || !("WebSocket" in window)) return;
  let delay = 1000;
  function setCount(n) {
    badges.forEach((b) => { b.textContent = String(n); b.hidden = n === 0; });
  }
  function addItem(item) {
    const list = document.getElementById("notification-list");
    if (!list) return;
    const li = document.createElement("li");
    li.className = "card unread";
    li.dataset.notification = item.id;
    const h = document.createElement("h2");
    if (item.url && item.url.startsWith("/")) {
      const a = document.createElement("a"); a.href = item.url; a.textContent = item.title; h.appendChild(a);
    } else { h.textContent = item.title; }
    const p = document.createElement("p"); p.textContent = item.body || "";
    li.append(h, p);
    list.prepend(li);
  }
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/notifications/`);
    ws.onmessage = (msg) => {
      let frame; try { frame = JSON.parse(msg.data); } catch (e) { return; }
      if (typeof frame.unread === "number") setCount(frame.unread);
      if (frame.type === "notification") addItem(frame.item);
      delay = 1000;
    };
    ws.onclose = (ev) => {
      if (ev.code === 4401 || ev.code === 4403) return;
      setTimeout(connect, delay); delay = Math.min(delay * 2, 60000);
    };
  }
  connect();
})();

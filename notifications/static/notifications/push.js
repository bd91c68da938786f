// The settings page's "push in this browser" switch: registers /sw.js, subscribes with
// the server's VAPID key and posts the subscription (or deletes it).
(function () {
  "use strict";
  const box = document.getElementById("push");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window)) return;
  const state = box.querySelector("[data-push-state]");
  const enable = box.querySelector("[data-push-enable]");
  const disable = box.querySelector("[data-push-disable]");
  const url = box.dataset.subscribeUrl;
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";

  function keyBytes(b64) {
    const pad = "=".repeat((4 - (b64.length % 4)) % 4);
    const raw = atob((b64 + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }
  function send(method, body) {
    return fetch(url, {method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body)});
  }
  async function show() {
    const reg = await navigator.serviceWorker.register("/sw.js", {scope: "/"});
    const sub = await reg.pushManager.getSubscription();
    enable.hidden = !!sub; disable.hidden = !sub;
    state.textContent = sub ? box.dataset.onText || "" : box.dataset.offText || "";
    return reg;
  }
  enable.addEventListener("click", async () => {
    const reg = await show();
    const sub = await reg.pushManager.subscribe({userVisibleOnly: true,
      applicationServerKey: keyBytes(box.dataset.vapidKey)});
    await send("POST", sub.toJSON());
    show();
  });
  disable.addEventListener("click", async () => {
    const reg = await show();
    const sub = await reg.pushManager.getSubscription();
    if (sub) { await send("DELETE", {endpoint: sub.endpoint}); await sub.unsubscribe(); }
    show();
  });
  show();
})();

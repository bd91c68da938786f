// CommonWatt web push service worker, served at /sw.js (scope: the whole site).
// The payload is the JSON the server encrypts: {id, kind, title, body, url}.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {title: event.data && event.data.text()}; }
  event.waitUntil(self.registration.showNotification(data.title || "CommonWatt", {
    body: data.body || "", tag: data.id ? "n" + data.id : undefined, data: {url: data.url || "/notifications/"},
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/notifications/";
  event.waitUntil(self.clients.matchAll({type: "window"}).then((windows) => {
    for (const w of windows) { if (w.url.endsWith(url) && "focus" in w) return w.focus(); }
    return self.clients.openWindow(url);
  }));
});

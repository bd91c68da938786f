// The back office's periodic task form (django-celery-beat): the chosen crontab's
// human-readable translation under the field, as the package's inline script did.
(function () {
  "use strict";
  const data = document.getElementById("readable-crontabs");
  const select = document.getElementById("id_crontab");
  const help = document.querySelector(".field-crontab .help");
  if (!data || !select) return;
  const crontabs = JSON.parse(data.textContent);
  const original = help ? help.textContent.trim() : "";
  document.querySelectorAll(".field-crontab_translation").forEach((row) => {
    row.style.display = "none";
  });
  select.addEventListener("change", () => {
    if (!help) return;
    help.textContent = original;
    const readable = crontabs[select.value];
    if (readable !== undefined) help.append(document.createElement("br"), `Translation: ${readable}`);
  });
})();

// The back office's export page: "Select all" ticks or clears every field's checkbox
// (django-import-export does it with an inline onchange, which the policy refuses).
(function () {
  "use strict";
  document.addEventListener("change", (event) => {
    if (!event.target.matches("input.select-toggle")) return;
    document.querySelectorAll('.selectable-field-export-row input[type="checkbox"]').forEach((box) => {
      box.checked = event.target.checked;
    });
  });
})();

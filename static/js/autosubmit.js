// A control with data-autosubmit sends its form as soon as it changes (no inline handler:
// the Content-Security-Policy allows none). The form keeps a <noscript> submit button.
(function () {
  "use strict";
  document.querySelectorAll("[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form && el.form.submit());
  });
})();

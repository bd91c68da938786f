"""Browser-test helpers for the portal's pages served by uvicorn (benchmarks.bench_query.asgi_server)
and by the live server: the warm-up, and the Content-Security-Policy watch every browser
fixture attaches to its contexts."""

import contextlib
import urllib.error
import urllib.request

# In every document of the context, before its own scripts: each violation is kept in
# window.__csp (for a test to read) and sent to Python through the exposed binding, which
# outlives the navigations that empty window.__csp.
CSP_LISTENER = """(() => {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    const v = `${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"}` +
      ` in ${e.sourceFile || e.documentURI}:${e.lineNumber}` +
      (e.sample ? ` (${e.sample})` : "");
    window.__csp.push(v);
    if (window.__cspViolation) window.__cspViolation(v);
  }, true);
})();"""
# axe-core (static/vendor, from npm) over the WCAG 2.1 A/AA rules: one line per violated rule
AXE_RUN = """async () => {
  const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
  const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return r.violations.map((v) =>
    `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
}"""


def warm_up(base: str) -> None:
    """The first request of a fresh server imports every URLconf (pandas, pvlib...): seconds
    on a busy machine. Pay it here, not in the browser's first page load."""
    with contextlib.suppress(urllib.error.HTTPError):  # 503 is fine: the app answered
        urllib.request.urlopen(f"{base}/health", timeout=120).read()


class CspWatch:
    """Collects the Content-Security-Policy violations of the browser contexts it watches:
    the `securitypolicyviolation` events of every page, and the console's "Refused to ..."
    errors that name the policy (some violations, e.g. in workers, only reach the console).
    A fixture calls `check()` at teardown: a test that triggered one fails.

    Under the policy, `page.wait_for_function` takes a function ("() => ..."): an expression
    is evaluated again with `eval` at each poll, in the page, which script-src refuses."""

    def __init__(self):
        self.violations: list[str] = []

    def watch(self, context):
        context.expose_binding("__cspViolation", lambda source, text: self.violations.append(text))
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._console)
        return context

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.violations.append(f"console: {message.text}")

    def check(self):
        assert self.violations == [], "Content-Security-Policy violations:\n" + "\n".join(self.violations)


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page. axe is loaded from the site's own
    static files: the policy lets a same-origin script in, where Playwright's
    `add_script_tag(path=...)` would add an inline one and be refused."""
    page.add_script_tag(url="/static/vendor/axe.min.js")
    return page.evaluate(AXE_RUN)

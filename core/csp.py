"""Content-Security-Policy (issue 13): django-csp's middleware with the page's own websocket
origin, and the endpoint browsers report violations to.

The policy itself is in config/settings.py (`CONTENT_SECURITY_POLICY`); README, Web tier,
says what it allows and how to extend it."""

import json
import logging

from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

logger = logging.getLogger("commonwatt.csp")

# A report is a few hundred bytes; anything much larger is not a browser's report.
REPORT_MAX_BYTES = 16 * 1024
# The fields of a report worth a log line (CSP2 `report-uri` names; `script-sample` is the
# first 40 characters of a blocked inline script with 'report-sample').
REPORT_FIELDS = ("document-uri", "referrer", "violated-directive", "effective-directive", "blocked-uri",
                 "source-file", "line-number", "column-number", "status-code", "disposition",
                 "script-sample")


class SiteCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, plus `ws(s)://<this host>` in connect-src: CSP 3 lets 'self'
    match the page's own websocket origin (Chromium does), browsers that predate that rule
    need it named, and the host is only known per request."""

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()
        except DisallowedHost:  # the 400 answered for it needs no websocket
            return parts
        update = dict(parts.update or {})
        websocket = f"{'wss' if request.is_secure() else 'ws'}://{host}"
        update["connect-src"] = [*update.get("connect-src", ()), websocket]
        parts.update = update
        return parts


@csrf_exempt  # browsers post reports without a token (and without the session's cookies)
@require_POST
def csp_report(request):
    """One WARNING log line per violation report (`report-uri`) and 204; 400 for a body that
    is not a report, 413 past REPORT_MAX_BYTES, 429 past CSP_REPORT_RATE per client address
    (nothing logged for any of them)."""
    from core.throttles import CspReportThrottle

    throttle = CspReportThrottle()
    if not throttle.allow_request(request, None):
        response = HttpResponse(status=429)
        response["Retry-After"] = str(int(throttle.wait() or 1))
        return response
    body = request.read(REPORT_MAX_BYTES + 1)
    if len(body) > REPORT_MAX_BYTES:
        return HttpResponse(status=413)
    try:
        report = json.loads(body).get("csp-report")
    except (ValueError, RecursionError, AttributeError):
        report = None
    if not isinstance(report, dict):
        return HttpResponse(status=400)
    fields = {key: str(report[key])[:500] for key in REPORT_FIELDS if key in report}
    logger.warning("csp violation", extra={"csp": fields})
    return HttpResponse(status=204)

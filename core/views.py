from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.health import health_report


@never_cache
@require_GET
def health(request):
    ok, report = health_report()
    return JsonResponse(report, status=200 if ok else 503)


def not_found(request, exception=None):
    from django.shortcuts import render

    return render(request, "error.html", {"status": 404, "message": _("Page not found.")}, status=404)


def server_error(request):
    from django.shortcuts import render

    rid = getattr(request, "request_id", "-")
    return render(request, "error.html", {"status": 500, "request_id": rid,
                  "message": _("Something went wrong on our side.")}, status=500)

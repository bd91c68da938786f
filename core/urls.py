from django.urls import path
from django.views.i18n import JavaScriptCatalog

from core import portal_views
from core.csp import csp_report

app_name = "core"

urlpatterns = [
    path("i18n/language/", portal_views.set_language, name="set_language"),
    path("csp-report/", csp_report, name="csp_report"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(domain="djangojs"), name="js_catalog"),
]

from django.conf import settings
from django.contrib import admin
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.urls import include, path, reverse
from django.views.decorators.http import require_GET
from django.views.defaults import bad_request, page_not_found, server_error
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from apps.api.errors import api_bad_request, api_not_found, api_server_error
from apps.core.middleware import is_api
from apps.core.redis import cache_reachable


def healthz(request):
    """Liveness, for load balancers to poll: answers 200 only while the database answers.
    One query; the shared cache is /readyz's to judge."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
def api_index(request):
    """What /api/ is: the partner API's name, where its docs and schema are, and what Codat's
    SDK takes as server_url. Public, as the docs are."""
    return JsonResponse({
        "name": settings.SPECTACULAR_SETTINGS["TITLE"],
        "serverUrl": request.build_absolute_uri("/api"),
        "docs": request.build_absolute_uri(reverse("api-docs")),
        "schema": request.build_absolute_uri(reverse("api-schema")),
        "authentication": "Authorization: Basic <base64 of your API key>",
    })


class ApiDocsView(SpectacularRedocView):
    """ReDoc from static/, fetching nothing from elsewhere: the bundle shows an "API docs by
    Redocly" logo from a CDN, which this policy blocks (ReDoc then leaves it out)."""

    POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
              "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; font-src 'self' data:")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = self.POLICY
        return response


def readyz(request):
    """Readiness: each dependency and whether it answers; 503 while one does not (a push,
    a mapping or a sign-in would then be refused)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except DatabaseError:
        database = "unreachable"
    checks = {"database": database, "cache": "ok" if cache_reachable() else "unreachable"}
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


# Django's own refusals (a Host not in ALLOWED_HOSTS, too many fields) answer the partner
# API's paths with Codat's ErrorMessage. gunicorn's refusals of a malformed request line or
# header happen before Django and stay its plain-text 400s.
def handler400(request, exception):
    if is_api(request):
        return api_bad_request(request)
    return bad_request(request, exception)


def handler404(request, exception):
    """The partner API answers unknown paths with Codat's ErrorMessage; the rest gets the page."""
    if is_api(request):
        return api_not_found(request)
    return page_not_found(request, exception)


def handler500(request):
    if is_api(request):
        return api_server_error(request)
    return server_error(request)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", api_index, name="api-index"),
    path("api/", include("config.api_urls")),
    path("portal/accounts/", include("allauth.urls")),
    path("portal/", include("apps.mapping_ui.urls")),
    path("admin/", admin.site.urls),
]

if settings.XERO_SANDBOX:
    urlpatterns.append(path("xero-sandbox/", include("apps.xero_sandbox.urls")))

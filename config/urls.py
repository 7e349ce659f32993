from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found, server_error
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from apps.api.errors import api_not_found, api_server_error


def healthz(request):
    """Liveness: answers 200 only while the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def handler404(request, exception):
    """The partner API answers unknown paths with Codat's ErrorMessage; the rest gets the page."""
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return server_error(request)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("config.api_urls")),
    path("portal/accounts/", include("allauth.urls")),
    path("portal/", include("apps.mapping_ui.urls")),
    path("admin/", admin.site.urls),
]

if settings.XERO_SANDBOX:
    urlpatterns.append(path("xero-sandbox/", include("apps.xero_sandbox.urls")))

"""The partner API: one router for every app's part of the Codat-compatible API."""

from django.urls import include, path

urlpatterns = [
    path("", include("apps.tenants.api")),
    path("", include("apps.xero_auth.api")),
    path("", include("apps.feeds.api")),
    path("", include("apps.webhooks.api")),
]

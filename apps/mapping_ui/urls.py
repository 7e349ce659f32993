from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("link/<str:token>/", views.link, name="link"),
    path("companies/<uuid:company_id>/", views.company, name="company"),
    path("companies/<uuid:company_id>/xero/connect", views.xero_connect, name="xero_connect"),
    path("companies/<uuid:company_id>/xero/organisation", views.xero_pick, name="xero_pick"),
    path("xero/callback", views.xero_callback, name="xero_callback"),
]

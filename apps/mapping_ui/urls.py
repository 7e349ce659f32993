from django.urls import path
from django.views.i18n import set_language

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("link/<str:token>/", views.link, name="link"),
    path("start/<slug:partner_slug>/", views.start, name="start"),
    path("language", set_language, name="set_language"),
    path("xero/callback", views.xero_callback, name="xero_callback"),
    path("companies/<uuid:company_id>/", views.company, name="company"),
    path("companies/<uuid:company_id>/save-access", views.save_access, name="save_access"),
    path("companies/<uuid:company_id>/xero/connect", views.xero_connect, name="xero_connect"),
    path("companies/<uuid:company_id>/xero/organisation", views.xero_pick, name="xero_pick"),
    path("companies/<uuid:company_id>/mapping/", views.mapping, name="mapping"),
    path("companies/<uuid:company_id>/mapping/confirm", views.mapping_confirm, name="mapping_confirm"),
    path("companies/<uuid:company_id>/mapping/run", views.mapping_run, name="mapping_run"),
    path("companies/<uuid:company_id>/mapping/run-one", views.mapping_run_one, name="mapping_run_one"),
    path("companies/<uuid:company_id>/mapping/done", views.mapping_done, name="mapping_done"),
    path("companies/<uuid:company_id>/feeds/", views.manage, name="manage"),
    path("companies/<uuid:company_id>/feeds/<int:source_id>/disconnect", views.feed_disconnect,
         name="feed_disconnect"),
]

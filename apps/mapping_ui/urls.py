from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("companies/<uuid:company_id>/", views.company, name="company"),
]

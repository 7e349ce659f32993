"""Absolute addresses of pages the lower apps link to (a company's portal page, a portal
link, the OAuth redirect) without importing the app that serves them: by the URL names
config keeps in settings.PAGE_URL_NAMES."""

from django.conf import settings
from django.urls import reverse


def page_url(page: str, *args) -> str:
    """SITE_URL + the path of `page` ("company", "link", "oauth_callback", "start")."""
    return settings.SITE_URL + reverse(settings.PAGE_URL_NAMES[page], args=args)

"""Middleware that only pages need (the portal, admin, sign-in, the sandbox's consent
screen), passed through by the partner API's requests: sessions, language, the signed-in
user, messages, htmx. The API authenticates with its key inside the view,
keeps no session and answers in English, as Codat's does; these cost ~0.3 ms of CPU on
every API request, a push among them.

Each is Django's (or htmx's) class with only its call skipped on /api/, so Django loads
and orders them as before and its checks still find them (admin's look for subclasses).
CSRF's middleware stays Django's own, as the deploy check asks: the API's views are exempt."""

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django_htmx.middleware import HtmxMiddleware as DjangoHtmxMiddleware

API_PREFIX = "/api/"


def is_api(request) -> bool:
    """Whether the request is the partner API's (by its path within the site)."""
    return request.path_info.startswith(API_PREFIX)


class PagesOnly:
    """Mixin for a middleware class: its call, skipped on the API's paths."""

    def __call__(self, request):
        return self.get_response(request) if is_api(request) else super().__call__(request)


class SessionMiddleware(PagesOnly, DjangoSessionMiddleware):
    pass


class LocaleMiddleware(DjangoLocaleMiddleware):
    def __call__(self, request):
        if not is_api(request):
            return super().__call__(request)
        # The active language is per thread: a page served before on it must not carry
        # its language into the API's answer.
        with translation.override(settings.LANGUAGE_CODE):
            return self.get_response(request)


class AuthenticationMiddleware(PagesOnly, DjangoAuthenticationMiddleware):
    pass


class MessageMiddleware(PagesOnly, DjangoMessageMiddleware):
    pass


class HtmxMiddleware(PagesOnly, DjangoHtmxMiddleware):
    pass

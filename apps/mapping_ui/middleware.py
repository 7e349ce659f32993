"""The portal's language and time zone. The language: the browser's (or the switcher's
cookie) when it asks for one we ship (en, fr), else the partner's default; LocaleMiddleware
alone would fall back to LANGUAGE_CODE (en), which is wrong for a French partner's
customers whose browser asks for, say, German. English follows the partner's home
currency for its date formats (en-GB for a GBP partner). Times are shown in the partner's
time zone."""

import zoneinfo

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation.trans_real import parse_accept_lang_header

from apps.core.middleware import is_api
from apps.core.redis import CACHE_UNREACHABLE
from apps.tenants.models import Partner

from .access import PARTNER_SESSION_KEY, link_partner
from .messages import failure_sentence

# Seconds a browser is asked to wait before trying an unavailable page again.
UNAVAILABLE_RETRY_AFTER = 30


def browser_asks_for_supported_language(request) -> bool:
    supported = {code for code, _ in settings.LANGUAGES}
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) in supported:
        return True
    for lang, _ in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if lang == "*":
            continue
        if lang.split("-")[0].lower() in supported:
            return True
    return False


class PartnerLanguageMiddleware:
    """Must come after LocaleMiddleware (apps/core/middleware.py). Runs once the URL is
    resolved (process_view), so it knows which company, link or partner the page is about."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.path_info.startswith("/portal/"):
            return None
        partner = self._partner(request, view_kwargs)
        if partner is None:
            return None
        if not browser_asks_for_supported_language(request) and partner.default_language != translation.get_language():
            translation.activate(partner.default_language)
        if translation.get_language() == "en" and partner.english_variant != "en":
            translation.activate(partner.english_variant)
        request.LANGUAGE_CODE = translation.get_language()
        timezone.activate(zoneinfo.ZoneInfo(partner.time_zone))
        return None

    @staticmethod
    def _partner(request, view_kwargs) -> Partner | None:
        if "company_id" in view_kwargs:
            return Partner.objects.filter(companies__pk=view_kwargs["company_id"]).first()
        if "partner_slug" in view_kwargs:
            return Partner.objects.filter(slug=view_kwargs["partner_slug"]).first()
        if "token" in view_kwargs:
            return link_partner(view_kwargs["token"])  # read, not used up: the view opens it
        partner_id = request.session.get(PARTNER_SESSION_KEY) if hasattr(request, "session") else None
        if partner_id is not None:
            return Partner.objects.filter(pk=partner_id).first()
        return None


class DependencyUnavailableMiddleware:
    """A page whose work needs the shared cache while it is unreachable (sign-in counts
    attempts there, a portal step takes a Xero rate-limit slot there): a 503 page asking
    to try again, not a 500. The partner API answers its own ErrorMessage instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, CACHE_UNREACHABLE) or is_api(request):
            return None
        response = render(request, "503.html", {"sentence": failure_sentence(exception)}, status=503)
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
        return response

"""Partner authentication as Codat does it: `Authorization: Basic <base64 of the API key>`."""

import base64

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from .audit import Actor, set_actor
from .models import AuditEvent, Partner, PartnerApiKey


class PartnerKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            raise exceptions.NotAuthenticated("Unauthorized")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            raise exceptions.AuthenticationFailed("Unauthorized")
        try:
            raw_key = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except ValueError:  # not base64 (binascii.Error), a non-ASCII header, not UTF-8
            raise exceptions.AuthenticationFailed("Unauthorized")
        # Some HTTP clients send the key as a Basic username with an empty password.
        raw_key = raw_key.removesuffix(":")
        api_key = self.find_key(request, raw_key) if raw_key else None
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unauthorized")
        set_actor(Actor(AuditEvent.ActorKind.PARTNER, f"{api_key.partner.name} API key {api_key.prefix}…"))
        return api_key.partner, api_key

    def find_key(self, request, raw_key: str):
        """The active key matching `raw_key`, with its partner, or None."""
        return PartnerApiKey.objects.authenticate(raw_key)

    def authenticate_header(self, request):
        return 'Basic realm="api"'


class IsPartner(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, Partner)


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    """Codat's security scheme in this server's OpenAPI document."""

    target_class = PartnerKeyAuthentication
    match_subclasses = True
    name = "auth_header"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": 'The word "Basic" followed by a space and the base64 of your API key.'}

"""The partner API's authentication: the partner's key (tenants), and on a connection's
URLs the connection itself in the same query, so that a connection-scoped request (a push
among them) makes one round trip to the database fewer."""

from apps.tenants.authentication import PartnerKeyAuthentication

from .selectors import key_with_connection


class ConnectionKeyAuthentication(PartnerKeyAuthentication):
    def find_key(self, request, raw_key: str):
        kwargs = (request.parser_context or {}).get("kwargs") or {}
        if "company_id" in kwargs and "connection_id" in kwargs:
            return key_with_connection(raw_key, kwargs["company_id"], kwargs["connection_id"])
        return super().find_key(request, raw_key)

import uuid
from functools import cache

from django.db import connections
from django.http import Http404

from apps.core import rows
from apps.core.rows import columns, instance, width
from apps.tenants.models import (
    ACTIVE_KEY_WHERE,
    KEY_WITH_PARTNER_FROM,
    Company,
    Partner,
    PartnerApiKey,
    hash_api_key,
    key_with_partner,
)
from apps.tenants.selectors import company_for_partner

from .models import XeroConnection


@cache
def _connection_sql() -> str:
    # Written out (apps/core/rows.py): every connection-scoped API request makes this read.
    return (f"SELECT {columns(XeroConnection, 'x')}, {columns(Company, 'c')} "  # noqa: S608 - columns from _meta
            "FROM xero_auth_xeroconnection x JOIN tenants_company c ON c.id = x.company_id "
            "WHERE x.id = %s AND c.id = %s AND c.partner_id = %s")


def _connection_of(partner, company_id: uuid.UUID, connection_id: uuid.UUID) -> XeroConnection | None:
    db = connections[XeroConnection.objects.db]
    params = [XeroConnection._meta.pk.get_db_prep_value(connection_id, db),
              Company._meta.pk.get_db_prep_value(company_id, db), partner.pk]
    with rows.cursor(db.alias) as cursor:
        cursor.execute(_connection_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _connection_from(partner, db.alias, row)


def _connection_from(partner, using: str, values) -> XeroConnection:
    n = width(XeroConnection)
    connection, company = instance(XeroConnection, using, values[:n]), instance(Company, using, values[n:])
    company.partner = partner
    connection.company = company
    return connection


@cache
def _key_and_connection_sql() -> str:
    # Written out (apps/core/rows.py): the partner key's read (PartnerApiKeyQuerySet.authenticate)
    # and the connection's (_connection_sql) as one statement.
    return (f"SELECT {columns(PartnerApiKey, 'k')}, {columns(Partner, 'p')}, "  # noqa: S608 - columns from _meta
            f"{columns(XeroConnection, 'x')}, {columns(Company, 'c')} "
            f"{KEY_WITH_PARTNER_FROM} "
            "LEFT JOIN (xero_auth_xeroconnection x JOIN tenants_company c ON c.id = x.company_id) "
            "ON x.id = %s AND c.id = %s AND c.partner_id = k.partner_id "
            f"WHERE {ACTIVE_KEY_WHERE}")


def key_with_connection(raw_key: str, company_id, connection_id):
    """The active key matching `raw_key` (with its partner, as authenticate reads it), or
    None; the connection of the partner's company is read in the same query and kept on
    the partner until connection_for_partner takes it (the key's partner is the request's caller). A
    connection the partner does not have is left for connection_for_partner's 404."""
    try:
        ids = uuid.UUID(str(company_id)), uuid.UUID(str(connection_id))
    except ValueError:
        return PartnerApiKey.objects.authenticate(raw_key)
    db = connections[XeroConnection.objects.db]
    params = [XeroConnection._meta.pk.get_db_prep_value(ids[1], db), Company._meta.pk.get_db_prep_value(ids[0], db),
              hash_api_key(raw_key)]
    with rows.cursor(db.alias) as cursor:
        cursor.execute(_key_and_connection_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    key = key_with_partner(db.alias, row)
    rest = row[width(PartnerApiKey) + width(Partner):]
    if rest[0] is not None:
        key.partner._connection_read_with_key = _connection_from(key.partner, db.alias, rest)
    key.touch()
    return key


def connection_for_partner(partner, company_id, connection_id) -> XeroConnection:
    """The connection of the partner's company (with its company, and the partner as the
    company's), or Http404 (also for malformed ids). One query when both exist (none when
    it was read with the partner's key: key_with_connection); when not, the 404 names
    whichever is missing."""
    try:
        ids = uuid.UUID(str(company_id)), uuid.UUID(str(connection_id))
    except ValueError:
        ids = None
    # Handed over once: left on the partner, it would tie the partner to a connection whose
    # company names the partner, a reference cycle that outlives the request.
    read = vars(partner).pop("_connection_read_with_key", None)
    if ids is not None and read is not None and (read.company_id, read.pk) == ids:
        return read
    found = _connection_of(partner, *ids) if ids is not None else None
    if found is None:
        company_for_partner(partner, company_id)
        raise Http404(f"Data connection {connection_id} not found")
    return found

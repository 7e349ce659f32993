import uuid
from functools import cache

from django.db import connections
from django.http import Http404

from apps.core.rows import columns, instance, width
from apps.tenants.models import Company
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
    with db.cursor() as cursor:
        cursor.execute(_connection_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    n = width(XeroConnection)
    connection, company = instance(XeroConnection, db.alias, row[:n]), instance(Company, db.alias, row[n:])
    company.partner = partner
    connection.company = company
    return connection


def connection_for_partner(partner, company_id, connection_id) -> XeroConnection:
    """The connection of the partner's company (with its company, and the partner as the
    company's), or Http404 (also for malformed ids). One query when both exist; when not,
    the 404 names whichever is missing."""
    try:
        found = _connection_of(partner, uuid.UUID(str(company_id)), uuid.UUID(str(connection_id)))
    except ValueError:
        found = None
    if found is None:
        company_for_partner(partner, company_id)
        raise Http404(f"Data connection {connection_id} not found")
    return found

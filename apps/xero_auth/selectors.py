import uuid

from django.http import Http404

from apps.tenants.selectors import company_for_partner

from .models import XeroConnection


def connection_for_partner(partner, company_id, connection_id) -> XeroConnection:
    """The connection of the partner's company, or Http404 (also for malformed ids)."""
    company = company_for_partner(partner, company_id)
    try:
        connection_uuid = uuid.UUID(str(connection_id))
    except ValueError:
        raise Http404(f"Data connection {connection_id} not found")
    connection = company.connections.filter(pk=connection_uuid).select_related("company__partner").first()
    if connection is None:
        raise Http404(f"Data connection {connection_id} not found")
    return connection

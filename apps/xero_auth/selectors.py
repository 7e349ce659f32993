import uuid

from django.http import Http404

from apps.tenants.selectors import company_for_partner

from .models import XeroConnection


def connection_for_partner(partner, company_id, connection_id) -> XeroConnection:
    """The connection of the partner's company, or Http404 (also for malformed ids). One
    query when both exist; when not, the 404 names whichever is missing."""
    try:
        found = XeroConnection.objects.select_related("company__partner").filter(
            pk=uuid.UUID(str(connection_id)), company_id=uuid.UUID(str(company_id)), company__partner=partner
        ).first()
    except ValueError:
        found = None
    if found is None:
        company_for_partner(partner, company_id)
        raise Http404(f"Data connection {connection_id} not found")
    return found

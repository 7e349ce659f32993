from apps.tenants.selectors import company_for_partner, owned_or_404

from .models import XeroConnection


def connection_for_partner(partner, company_id, connection_id) -> XeroConnection:
    """The connection of the partner's company, or Http404 (also for malformed ids)."""
    company = company_for_partner(partner, company_id)
    return owned_or_404(company.connections.select_related("company__partner"), connection_id, "Data connection")

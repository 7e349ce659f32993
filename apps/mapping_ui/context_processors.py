"""Partner branding for every portal page, including allauth's pages that know no company."""

from apps.tenants.models import Partner

from .access import PARTNER_SESSION_KEY


def portal(request):
    """`partner`: the company's partner once a view checked access (views also pass it
    explicitly), else the partner this browser last used, else none (neutral branding)."""
    partner = getattr(request, "portal_partner", None)
    if partner is None and hasattr(request, "session"):
        partner_id = request.session.get(PARTNER_SESSION_KEY)
        if partner_id is not None:
            partner = Partner.objects.filter(pk=partner_id).first()
    return {"partner": partner} if partner is not None else {}

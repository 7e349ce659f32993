"""Reads that enforce ownership: another partner's object is the same 404 as a missing one."""

import uuid

from django.http import Http404

from .models import Company, Partner


def company_for_partner(partner: Partner, company_id) -> Company:
    """The partner's company with this id, or Http404 (also for a malformed id)."""
    try:
        company_uuid = uuid.UUID(str(company_id))
    except ValueError:
        raise Http404(f"Company {company_id} not found")
    company = Company.objects.filter(partner=partner, pk=company_uuid).first()
    if company is None:
        raise Http404(f"Company {company_id} not found")
    return company

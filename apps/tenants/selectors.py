"""Reads that enforce ownership: another partner's object is the same 404 as a missing one."""

import uuid

from django.http import Http404

from .models import Company, Partner


def owned_or_404(queryset, key, what: str):
    """The row of `queryset` whose primary key is `key`, or Http404 — the same answer for a
    malformed id, a missing one and one that belongs to someone else."""
    try:
        found = queryset.filter(pk=uuid.UUID(str(key))).first()
    except ValueError:
        found = None
    if found is None:
        raise Http404(f"{what} {key} not found")
    return found


def company_for_partner(partner: Partner, company_id) -> Company:
    """The partner's company with this id, or Http404 (also for a malformed id)."""
    return owned_or_404(Company.objects.filter(partner=partner), company_id, "Company")

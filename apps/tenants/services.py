"""Use cases for partners and companies, shared by the API, admin and commands."""

import re

from django.db import transaction

from apps.core.refusals import Refused, item

from .models import Company, Partner, PartnerApiKey
from .signals import company_created, company_deleted, company_deleting

# Codat's name pattern is ^[A-Za-z0-9\s\-',&@.,?!\s]+$; anything else is removed.
_FORBIDDEN_NAME_CHARS = re.compile(r"[^A-Za-z0-9\s\-',&@.?!]")
REQUEST_INVALID = "The request made is not valid."
COMPANY_NAME_EMPTY = "name must contain at least one allowed character (letters, digits, spaces and - ' , & @ . ? !)."


def company_name_clean(name: str, *, refusal_status: int = 400) -> str:
    """Strip the characters Codat forbids: `Company (Codat[1])` becomes `Company Codat1`.
    A name left empty is refused with `refusal_status`."""
    cleaned = _FORBIDDEN_NAME_CHARS.sub("", name or "").strip()
    if not cleaned:
        raise Refused(REQUEST_INVALID, errors=[item(COMPANY_NAME_EMPTY, item_id="name")], status=refusal_status)
    return cleaned[:200]


def partner_create(*, name: str, **branding) -> tuple[Partner, str]:
    """Create a partner with one API key; returns the partner and the raw key (shown once)."""
    with transaction.atomic():
        partner = Partner.objects.create(name=name, **branding)
        _, raw_key = PartnerApiKey.issue(partner)
    return partner, raw_key


def company_create(*, partner: Partner, name: str, description=None, tags=None, created_by=None) -> Company:
    """A new company of the partner, its name cleaned as Codat cleans it."""
    name = company_name_clean(name)
    with transaction.atomic():
        company = Company.objects.create(partner=partner, name=name, description=description, tags=tags or {},
                                         created_by_user_name=created_by)
        company_created.send(sender=Company, company=company)
    return company


def company_update(*, company: Company, replace: bool, **fields) -> Company:
    """Replace (PUT: absent fields are cleared) or update (PATCH: absent or null fields kept).
    A name left empty once cleaned is a 403: Codat's spec lists no 400 for either."""
    if replace:
        fields.setdefault("description", None)
        fields.setdefault("tags", {})
    else:
        fields = {k: v for k, v in fields.items() if v is not None}
    if "name" in fields:
        fields["name"] = company_name_clean(fields["name"], refusal_status=403)
    for attr, value in fields.items():
        setattr(company, attr, value if not (attr == "tags" and value is None) else {})
    company.save()
    return company


def company_delete(*, company: Company) -> None:
    """Delete a company and everything under it, once the apps above have let go of it
    (company_deleting: the connections app revokes its Xero access first)."""
    company_deleting.send(sender=Company, company=company)
    with transaction.atomic():
        company_deleted.send(sender=Company, company=company)
        company.delete()

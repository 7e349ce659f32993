"""Who may see a company in the portal: its members, and a browser that came in
through the company's portal link."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.tenants.models import Company, CompanyMembership
from apps.xero_auth import connections

SESSION_KEY = "portal_companies"
# Companies this browser entered by a link it has not used up yet: {company id: [connection
# id, nonce]}. Opening a link (a GET, as e-mail scanners do) leaves it usable; the first
# step the visitor takes (a POST) uses it up.
LINK_SESSION_KEY = "portal_links_open"
# The partner whose portal this browser last used: brands pages that have no company
# (sign-in, sign-out) and picks their fallback language.
PARTNER_SESSION_KEY = "portal_partner"
# The linkUrl's own query parameters, per company, for the partner's redirect template.
LINK_PARAMS_SESSION_KEY = "portal_link_params"


class SignInRequired(Exception):
    """A company page opened by a browser with no portal session at all: sign in first."""


class LinkUsedElsewhere(Exception):
    """The link this browser came in by was used up by another browser first."""


def grant_company(request, company: Company, *, link=None, link_params=None) -> None:
    """Remember in this session that the browser came in by the company's link (`link`:
    its connection id and nonce, used up at the first step); a signed-in user also becomes
    a member, so they can come back by email login. The session gets a new key first, as a
    sign-in does: a session id planted in the browser beforehand must not gain the company
    (session fixation)."""
    request.session.cycle_key()
    granted = set(request.session.get(SESSION_KEY, []))
    granted.add(str(company.pk))
    request.session[SESSION_KEY] = sorted(granted)
    request.session[PARTNER_SESSION_KEY] = company.partner_id
    if link is not None:
        request.session[LINK_SESSION_KEY] = {**request.session.get(LINK_SESSION_KEY, {}),
                                             str(company.pk): [str(link[0]), link[1]]}
    if link_params is not None:
        request.session[LINK_PARAMS_SESSION_KEY] = {**request.session.get(LINK_PARAMS_SESSION_KEY, {}),
                                                    str(company.pk): link_params}
    if request.user.is_authenticated:
        CompanyMembership.objects.get_or_create(user=request.user, company=company)


def _use_link(request, company_id: str) -> None:
    """At the visitor's first step, use up the link they came in by; if another browser
    used it first, this one loses the company."""
    pending = request.session.get(LINK_SESSION_KEY, {})
    if company_id not in pending:
        return
    connection_id, nonce = pending.pop(company_id)
    request.session[LINK_SESSION_KEY] = pending
    if not connections.link_consume(connection_id=connection_id, nonce=nonce):
        request.session[SESSION_KEY] = [c for c in request.session.get(SESSION_KEY, []) if c != company_id]
        raise LinkUsedElsewhere


def portal_company(request, company_id) -> Company:
    """The company if this visitor may manage it, else 404 (never 403). A browser with no
    portal session at all is asked to sign in (SignInRequired), whatever the id."""
    granted = request.session.get(SESSION_KEY, [])
    if not granted and not request.user.is_authenticated:
        raise SignInRequired
    company = get_object_or_404(Company.objects.select_related("partner"), pk=company_id)
    member = str(company.pk) in granted or (
        request.user.is_authenticated and company.memberships.filter(user=request.user).exists())
    if not member:
        raise Http404("No such company")
    if request.method == "POST":
        _use_link(request, str(company.pk))
    request.portal_partner = company.partner
    if request.session.get(PARTNER_SESSION_KEY) != company.partner_id:
        request.session[PARTNER_SESSION_KEY] = company.partner_id
    return company


def link_params(request, company) -> dict:
    """The custom ?key=value pairs of the linkUrl this browser came in by."""
    return request.session.get(LINK_PARAMS_SESSION_KEY, {}).get(str(company.pk), {})


def link_partner(token: str):
    """The partner a portal link was issued for, read without checking its age or use
    (for branding and language only, never for access)."""
    from django.core import signing

    from apps.tenants.models import Partner
    from apps.xero_auth.models import LINK_SALT

    try:
        payload = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not payload.get("c"):
        return None
    return Partner.objects.filter(companies__connections__pk=payload["c"]).first()


def visible_companies(request):
    ids = request.session.get(SESSION_KEY, [])
    companies = Company.objects.filter(pk__in=ids)
    if request.user.is_authenticated:
        companies = companies | Company.objects.filter(memberships__user=request.user)
    return companies.select_related("partner").distinct()

"""The SMB portal: link entry, the company page, and the Xero connect → pick flow."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.xero_auth import client, services
from apps.xero_auth.models import XeroConnection

from .access import grant_company, portal_company, visible_companies

PICK_SESSION_KEY = "xero_pick"


def home(request):
    companies = list(visible_companies(request))
    if not companies and not request.user.is_authenticated:
        return redirect("account_login")
    if len(companies) == 1:
        return redirect("portal:company", companies[0].pk)
    return render(request, "portal/home.html", {"companies": companies})


def link(request, token):
    try:
        connection = services.link_consume(token=token)
    except services.LinkInvalid as exc:
        return render(request, "portal/link_invalid.html", {"reason": str(exc)}, status=410)
    grant_company(request, connection.company)
    return redirect("portal:company", connection.company_id)


def company(request, company_id):
    company = portal_company(request, company_id)
    connection = company.connections.first()
    return render(request, "portal/company.html",
                  {"company": company, "partner": company.partner, "connection": connection})


@require_POST
def xero_connect(request, company_id):
    company = portal_company(request, company_id)
    connection = company.connections.first()
    if connection is None:
        connection = services.connection_create(company=company)
    return HttpResponseRedirect(services.oauth_start(connection=connection, session=request.session))


def xero_callback(request):
    try:
        connection, organisations = services.oauth_callback(session=request.session, params=request.GET)
    except services.OAuthFailed as exc:
        messages.error(request, str(exc))
        return redirect("portal:home")
    portal_company(request, connection.company_id)  # the callback must belong to this visitor
    if len(organisations) == 1:
        return _link(request, connection, organisations[0])
    request.session[PICK_SESSION_KEY] = {"connection": str(connection.pk)}
    return redirect("portal:xero_pick", connection.company_id)


def xero_pick(request, company_id):
    company = portal_company(request, company_id)
    pending = request.session.get(PICK_SESSION_KEY) or {}
    connection = company.connections.filter(pk=pending.get("connection")).first()
    if connection is None:
        return redirect("portal:company", company.pk)
    try:
        # Re-read the consented organisations from Xero instead of trusting the form.
        organisations = client.list_connections(access_token=services.access_token_for_pending(connection))
    except (client.XeroError, services.ConnectionRefused) as exc:
        messages.error(request, _("Xero could not list your organisations (%(error)s). Please connect again.")
                       % {"error": exc})
        return redirect("portal:company", company.pk)
    error = None
    if request.method == "POST":
        chosen = next((o for o in organisations if o["tenantId"] == request.POST.get("tenant")), None)
        if chosen is not None:
            request.session.pop(PICK_SESSION_KEY, None)
            return _link(request, connection, chosen)
        error = _("Choose one of your Xero organisations.")
    return render(request, "portal/pick_organisation.html", {
        "company": company, "partner": company.partner, "organisations": organisations, "error": error,
    })


def _link(request, connection: XeroConnection, organisation):
    try:
        services.connection_link(connection=connection, organisation=organisation)
    except services.OrganisationTaken as exc:
        messages.error(request, str(exc))
        return redirect("portal:company", connection.company_id)
    messages.success(request, _("Connected to %(org)s in Xero.") % {"org": connection.tenant_name})
    return redirect(reverse("portal:company", args=[connection.company_id]))

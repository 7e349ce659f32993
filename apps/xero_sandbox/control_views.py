"""The sandbox's own control surface: fault injection over HTTP and the organisation
pages. These exist only while settings.XERO_SANDBOX mounts the sandbox URLs."""

import json

from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt

from . import faults
from .models import Fault, Organisation, StatementLine
from .problems import json_response


@csrf_exempt
def fault_control(request):
    """GET: list active faults. POST: add one. DELETE: clear all."""
    if request.method == "GET":
        return json_response({"faults": [f.as_dict() for f in faults.active_faults()]})
    if request.method == "DELETE":
        return json_response({"cleared": faults.clear_faults()})
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST", "DELETE"])
    try:
        data = json.loads(request.body or b"{}")
        fault = faults.add_fault(
            str(data["operation"]),
            method=data.get("method"),
            mode=data.get("mode", Fault.STATUS),
            status=int(data.get("status", 500)),
            count=int(data.get("count", 1)),
            seconds=float(data.get("seconds", 0)),
            retry_after=int(data.get("retryAfter", data.get("retry_after", 1))),
        )
    except (ValueError, KeyError, TypeError) as exc:
        return json_response({"error": f"bad fault: {exc}"}, 400)
    return json_response(fault.as_dict(), 201)


def organisation_list(request):
    """Every organisation with links to its page."""
    orgs = Organisation.objects.prefetch_related("bank_accounts").order_by("name")
    return render(request, "xero_sandbox/organisations.html", {"organisations": orgs})


def organisation_detail(request, tenant_id):
    """An organisation's bank accounts, feed connections and delivered lines, newest first."""
    org = get_object_or_404(Organisation, tenant_id=tenant_id)
    accounts = []
    for account in org.bank_accounts.order_by("name"):
        lines = (
            StatementLine.objects.filter(feed_connection__bank_account=account, statement__status="DELIVERED")
            .select_related("statement")
            .order_by("-statement__created_at", "-posted_date", "-position")[:500]
        )
        accounts.append({"account": account, "feeds": account.feed_connections.order_by("-created_at"), "lines": lines})
    return render(request, "xero_sandbox/organisation.html", {"org": org, "accounts": accounts})


def index(request):
    """A tiny landing page for people who open /xero-sandbox/."""
    return HttpResponse(
        "<!doctype html><title>Xero sandbox</title><h1>Xero sandbox</h1>"
        '<p><a href="organisations/">Organisations</a></p>'
    )

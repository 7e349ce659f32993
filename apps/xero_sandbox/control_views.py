"""The sandbox's control surface for tests and demos: what happens at Xero outside the
app's API calls, its failures and what a user does in Xero's own screens. These exist
only while settings.XERO_SANDBOX mounts the sandbox URLs, and need no token.

- ``/xero-sandbox/_faults``: GET lists the active faults, POST adds one (JSON
  ``{"operation", "method", "mode", "status", "count", "seconds", "retryAfter"}``, see
  ``faults``; 201 with the fault), DELETE clears them all (``{"cleared": n}``).
- ``POST /xero-sandbox/_control/disconnect`` with JSON ``{"tenantId": "...",
  "clientId": "..."}`` (clientId optional: every app): the user disconnects the app
  from that organisation in Xero's settings. Every connection of the app's grants to
  the organisation goes, as with DELETE connections/{id}: calls for that tenant answer
  403 like an unconnected tenant's, ``/connections`` no longer lists it, and a grant
  left without any connection is revoked (its tokens answer 401 and ``invalid_grant``).
  Feed connections, statements and bank accounts stay, as in Xero. Answers 200
  ``{"tenantId", "clientId", "connectionsRemoved", "grantsRevoked"}`` (counts; 0 when
  nothing was connected); 400 ``{"error"}`` for a body without a GUID tenantId, 404
  ``{"error"}`` for an unknown tenant or clientId.
- ``POST /xero-sandbox/_control/reject-statement`` with JSON ``{"statementId": "...",
  "detail": "..."}`` (detail optional): Xero's own processing refuses a statement it had
  answered PENDING. Its lines are no longer delivered, and GET Statements/{id} answers it
  ``REJECTED`` with an ``invalid-request`` problem carrying the detail. Answers 200 with
  the statement's ``{"id", "status", "errors"}``; 400 ``{"error"}`` for a body without a
  GUID statementId, 404 for an unknown statement.
"""

import json
import uuid

from django.http import HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import faults, tokens
from .models import Connection, Fault, Organisation, SandboxApp, Statement
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


@csrf_exempt
@require_POST
def disconnect(request):
    """POST: the user disconnects an app from an organisation in Xero (module docstring)."""
    try:
        data = json.loads(request.body or b"{}")
        tenant_id = uuid.UUID(str(data["tenantId"]))
        client_id = data.get("clientId")
    except (ValueError, KeyError, TypeError, AttributeError):
        return json_response({"error": "The body must be JSON with a GUID 'tenantId'."}, 400)
    organisation = Organisation.objects.filter(tenant_id=tenant_id).first()
    if organisation is None:
        return json_response({"error": f"No organisation has the tenant id {tenant_id}."}, 404)
    connections = Connection.objects.filter(organisation=organisation)
    if client_id is not None:
        if not SandboxApp.objects.filter(client_id=str(client_id)).exists():
            return json_response({"error": f"No app has the client id {client_id}."}, 404)
        connections = connections.filter(grant__app__client_id=str(client_id))
    removed, revoked = tokens.disconnect(connections)
    return json_response(
        {
            "tenantId": str(tenant_id),
            "clientId": client_id,
            "connectionsRemoved": removed,
            "grantsRevoked": revoked,
        }
    )


REJECTED_DETAIL = "The statement could not be processed."


@csrf_exempt
@require_POST
def reject_statement(request):
    """POST: Xero rejects a statement after answering PENDING (module docstring)."""
    try:
        data = json.loads(request.body or b"{}")
        statement_id = uuid.UUID(str(data["statementId"]))
        detail = str(data.get("detail") or REJECTED_DETAIL)
    except (ValueError, KeyError, TypeError, AttributeError):
        return json_response({"error": "The body must be JSON with a GUID 'statementId'."}, 400)
    statement = Statement.objects.filter(pk=statement_id).first()
    if statement is None:
        return json_response({"error": f"No statement has the id {statement_id}."}, 404)
    statement.status = Statement.REJECTED
    statement.errors = [{"type": "invalid-request", "title": "Invalid Request", "status": 400, "detail": detail}]
    statement.save(update_fields=["status", "errors"])
    return json_response({"id": str(statement.id), "status": statement.status, "errors": statement.errors})

"""The sandbox's control surface for tests and demos: what happens at Xero outside the
app's API calls, here its failures. These exist only while settings.XERO_SANDBOX mounts
the sandbox URLs, and need no token.

- ``/xero-sandbox/_faults``: GET lists the active faults, POST adds one (JSON
  ``{"operation", "method", "mode", "status", "count", "seconds", "retryAfter"}``, see
  ``faults``; 201 with the fault), DELETE clears them all (``{"cleared": n}``).
"""

import json

from django.http import HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from . import faults
from .models import Fault
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

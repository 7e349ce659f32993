import json

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

STEPS = [_("Connect Xero"), _("Choose organisation"), _("Map accounts"), _("Confirm"), _("Done")]


@register.inclusion_tag("portal/_steps.html")
def wizard_steps(current: int):
    """The wizard's five steps, each done, current or to come."""
    return {"steps": [
        {"number": n, "label": label, "state": "done" if n < current else "current" if n == current else "todo"}
        for n, label in enumerate(STEPS, start=1)
    ], "current": current, "total": len(STEPS)}


@register.filter
def status_label(status: str) -> str:
    """The words shown in a status pill, translated."""
    return {
        "pending": _("Not connected"),
        "connecting": _("Connecting"),
        "connected": _("Connected"),
        "disconnected": _("Disconnected"),
        "failed": _("Failed"),  # a mapping's outcome in the wizard
        "Failed": _("Failed"),  # a push
        "unknown": _("Unknown"),
        "Linked": _("Connected"),
        "PendingAuth": _("Not connected"),
        "Unlinked": _("Disconnected"),
        "Deauthorized": _("Access revoked"),
        "Success": _("Delivered"),
        # A push Xero took and has not yet confirmed delivering (its statement is PENDING).
        "Pending": _("Sent to Xero"),
        "TimedOut": _("Timed out"),
    }.get(status, status)


@register.filter
def prefix_for(source_account_id: str) -> str:
    """The mapping form's anchor for a source account."""
    from ..forms import form_prefix

    return form_prefix(source_account_id)


@register.filter
def run_vals(item: dict) -> str:
    """hx-vals for a progress row: which planned account to run."""
    return json.dumps({"account": item.source_account_id})

import json
import re

from django import template
from django.utils.translation import gettext_lazy as _

from ..forms import form_prefix, shown_number

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
        # A mapped account whose company's Xero connection is gone: nothing reaches Xero.
        "paused": _("Paused"),
        "skipped": _("Not connected now"),
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


# The mapping form's anchor for a source account.
register.filter("prefix_for", form_prefix)


@register.filter
def run_vals(item: dict) -> str:
    """hx-vals for a progress row: which planned account to run."""
    return json.dumps({"account": item.source_account_id})


register.filter("shown_number", shown_number)


@register.filter
def ink_on(colour: str) -> str:
    """Black or white, whichever reads better on the partner's colour (WCAG contrast)."""
    match = re.fullmatch(r"#?([0-9a-fA-F]{6})", colour or "")
    if not match:
        return "#ffffff"

    def channel(hex_pair):
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(match.group(1)[i:i + 2]) for i in (0, 2, 4))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.0589 else "#111827"


@register.simple_tag
def widget(field):
    """The field's widget, described by its help text and its errors (screen readers read
    them when the field gets focus)."""
    ids = [f"{field.auto_id}_helptext"] if field.help_text else []
    ids += [f"{field.auto_id}_error{'' if i == 0 else i}" for i in range(len(field.errors))]
    return field.as_widget(attrs={"aria-describedby": " ".join(ids)} if ids else None)


@register.filter
def mapping_error(error: str) -> str:
    """A feed's recorded refusal as a sentence in the page's language."""
    from ..messages import mapping_error as sentence

    return sentence(error)

"""The one place the portal turns refusals and Xero's failures into sentences for people,
in their language."""

from django.utils.translation import gettext as _

from apps.core.redis import CACHE_UNREACHABLE
from apps.core.refusals import Refused
from apps.xero_auth import client
from apps.xero_auth.refusals import ConnectionNotLinked

# What a portal view catches around a call that may reach Xero (which first takes a slot
# of the organisation's rate limit in the shared cache).
FAILURES = (client.XeroError, Refused, *CACHE_UNREACHABLE)


def failure_sentence(exc: Exception) -> str:
    """A sentence for each way Xero (or our connection to it, or a rule) can refuse."""
    if isinstance(exc, ConnectionNotLinked):
        return _("Xero is no longer connected to this company. Connect to Xero again, then retry.")
    if isinstance(exc, client.XeroRateLimited):
        return _("Xero is busy right now. Please try again in %(seconds)s seconds.") % {
            "seconds": exc.retry_after or 60}
    if isinstance(exc, client.XeroUnavailable):
        return _("Xero is not answering right now. Please try again in a few minutes.")
    if isinstance(exc, client.XeroError):
        return _("Xero refused the request: %(reason)s") % {"reason": exc}
    if isinstance(exc, Refused):
        return " ".join(e.get("message", "") for e in exc.errors if e.get("message")) or exc.message
    if isinstance(exc, CACHE_UNREACHABLE):
        return _("This service is briefly unavailable. Please try again in a minute.")
    return _("Xero could not complete the request (%(reason)s). Please try again.") % {"reason": exc}


def organisations_unlisted(exc: Exception) -> str:
    """Xero could not tell which organisations the user consented to."""
    return _("Xero could not list your organisations (%(error)s). Please connect again.") % {
        "error": failure_sentence(exc)}

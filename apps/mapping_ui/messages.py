"""The one place the portal turns refusals, Xero's failures, push outcomes and audit
events into sentences for people, in their language. Xero's own words (always English)
are added only to English pages; every other language gets our sentence alone."""

from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.core.redis import CACHE_UNREACHABLE
from apps.core.refusals import Refused
from apps.feeds import mapping as feed_mapping
from apps.feeds.models import PushStatus
from apps.tenants.audit import LINK_VISITOR
from apps.xero_auth import client
from apps.xero_auth import refusals as xero_refusals

# What a portal view catches around a call that may reach Xero (which first takes a slot
# of the organisation's rate limit in the shared cache).
FAILURES = (client.XeroError, Refused, *CACHE_UNREACHABLE)

# Xero's problem types that a person can act on, as sentences.
XERO_PROBLEMS = {
    "invalid-organisation-multi-currency": lambda: _(
        "This Xero organisation can't hold accounts in this currency: multi-currency is off in Xero."),
    "invalid-organisation-bank-feeds": lambda: _("This Xero organisation can't receive bank feeds."),
    "invalid-user-role": lambda: _(
        "Your Xero user may not set up bank feeds: ask an adviser or administrator of the organisation."),
    "feed-already-connected-in-current-organisation": lambda: _(
        "This account already has a bank feed in this Xero organisation."),
    "feed-already-connected-in-different-organisation": lambda: _(
        "This account already has a bank feed in another Xero organisation."),
    "feed-connected-in-different-organisation": lambda: _(
        "This account already has a bank feed in another Xero organisation."),
    "account-not-valid": lambda: _("Xero can't use the chosen bank account: choose another one or a new account."),
    "invalid-country-specified": lambda: _("Xero does not accept bank feeds for this account's country."),
    "internal-error": lambda: _("Xero had a temporary problem. Please try again."),
    "invalid-application": lambda: _("Xero does not allow bank feeds from this service yet. Please contact support."),
}

# Our own refusals that can reach a portal page, by the sentence the service raises.
OUR_REFUSALS = {
    xero_refusals.XERO_NOT_CONNECTED_YET: lambda: _("Xero is not connected yet."),
    xero_refusals.OAUTH_EXPIRED: lambda: _(
        "This sign-in to Xero expired or did not start here. Please connect again."),
    feed_mapping.MAPPING_NO_CURRENCY: lambda: _("This account has no currency yet, so it can't be connected."),
    feed_mapping.MAPPING_ALREADY_CONNECTED: lambda: _("This account is already connected to Xero."),
    feed_mapping.MAPPING_START_DATE_RANGE: lambda: _(
        "The start date must be within the last year and not in the future."),
    feed_mapping.MAPPING_XERO_NO_ANSWER: lambda: _("Xero did not say why it refused this account."),
}


def _english() -> bool:
    return (translation.get_language() or "en").startswith("en")


def _with_xero_words(sentence: str, words: str) -> str:
    """Our sentence, and on an English page what Xero said, when it said something else."""
    words = (words or "").strip()
    if not words or not _english() or words in sentence:
        return sentence
    return _("%(sentence)s Xero said: “%(words)s”") % {"sentence": sentence, "words": words.rstrip(".")}


def xero_refusal(problem_type: str, words: str = "") -> str:
    """A refusal Xero gave for one item (a feed connection, a statement)."""
    known = XERO_PROBLEMS.get(problem_type or "")
    if known is not None:
        return known()
    return _with_xero_words(_("Xero refused the request."), words)


def mapping_error(error: str) -> str:
    """A mapping's failure as recorded (our refusal, or Xero's words for a feed it refused)."""
    known = OUR_REFUSALS.get(error)
    if known is not None:
        return known()
    return _with_xero_words(_("Xero did not accept this account."), error)


def _seconds(seconds: int) -> str:
    return ngettext("Xero is busy right now. Please try again in %(seconds)d second.",
                    "Xero is busy right now. Please try again in %(seconds)d seconds.", seconds) % {
        "seconds": seconds}


def oauth_failure(exc: xero_refusals.OAuthFailed) -> str:
    kind = exc.kind
    if kind == xero_refusals.OAUTH_CANCELLED:
        return _("Xero was not connected: you cancelled. Connect again when you are ready.")
    if kind == xero_refusals.OAUTH_NO_ORGANISATION:
        return _("No Xero organisation was chosen. Please connect again and pick one.")
    if kind == xero_refusals.OAUTH_XERO_ERROR:
        if exc.detail and _english():
            return _("Xero was not connected: %(reason)s.") % {"reason": exc.detail.rstrip(".")}
        return _("Xero was not connected. Please try again.")
    return _("This sign-in to Xero expired or did not start here. Please connect again.")


def failure_sentence(exc: Exception) -> str:
    """A sentence for each way Xero (or our connection to it, or a rule) can refuse."""
    if isinstance(exc, xero_refusals.ConnectionNotLinked):
        return _("Xero is no longer connected to this company. Connect to Xero again, then retry.")
    if isinstance(exc, xero_refusals.OAuthFailed):
        return oauth_failure(exc)
    if isinstance(exc, xero_refusals.OrganisationTaken):
        return organisation_taken()
    if isinstance(exc, client.XeroRateLimited):
        return _seconds(exc.retry_after or 60)
    if isinstance(exc, client.XeroUnavailable):
        return _("Xero is not answering right now. Please try again in a few minutes.")
    if isinstance(exc, (client.XeroAuthRevoked, client.XeroUnauthorized)):
        return _("Xero no longer accepts this connection. Connect to Xero again.")
    if isinstance(exc, client.XeroError):
        problem = exc.problems[0] if exc.problems else client.XeroProblem()
        return xero_refusal(problem.type, problem.text)
    if isinstance(exc, Refused):
        messages = [e.get("message", "") for e in exc.errors if e.get("message")] or [exc.message]
        return " ".join(OUR_REFUSALS[m]() if m in OUR_REFUSALS else _with_xero_words(
            _("This could not be done."), m) for m in messages)
    if isinstance(exc, CACHE_UNREACHABLE):
        return _("This service is briefly unavailable. Please try again in a minute.")
    return _("Xero could not complete the request. Please try again.")


def organisations_unlisted(exc: Exception) -> str:
    """Xero could not tell which organisations the user consented to."""
    return _("Xero could not list your organisations: %(error)s Please connect again.") % {
        "error": failure_sentence(exc)}


def organisation_taken() -> str:
    """An organisation another company of the same partner uses (never named: it is
    another customer's)."""
    return _("This Xero organisation is already connected to another company's bank feeds, so it can't be "
             "used here.")


def organisation_way_forward(partner) -> str:
    if partner.support_email:
        return _("Choose another organisation, or connect again and add one in Xero. If this organisation "
                 "should be yours, ask %(partner)s (%(email)s) to release it.") % {
            "partner": partner.brand_name, "email": partner.support_email}
    return _("Choose another organisation, or connect again and add one in Xero. If this organisation should "
             "be yours, ask %(partner)s to release it.") % {"partner": partner.brand_name}


def _date(value) -> str:
    return formats.date_format(value, "DATE_FORMAT") if value else "—"


def _money(value, currency: str) -> str:
    return f"{formats.number_format(value, 2, use_l10n=True, force_grouping=True)} {currency}".strip()


def balance_gap(gap, currency: str) -> str:
    """Xero's statements for the account do not chain: lines may be missing between two."""
    return _("Transactions may be missing between %(after)s and %(before)s: the balance was %(end)s, then "
             "%(start)s with nothing in between.") % {
        "after": _date(gap.after), "before": _date(gap.before), "end": _money(gap.end_balance, currency),
        "start": _money(gap.start_balance, currency)}


def push_warnings(operation, partner) -> list[str]:
    """The warnings of a push, one sentence per kind (the balance gap is told apart, from
    the whole chain of statements)."""
    by_kind: dict[str, list[dict]] = {}
    for warning in operation.warnings if operation else []:
        if isinstance(warning, dict) and warning.get("validatorName") != "BalanceGap":
            by_kind.setdefault(warning.get("validatorName") or "", []).append(warning)
    sentences = []
    for kind, items in by_kind.items():
        n = len(items)
        if kind == "FeedStartDate":
            sentences.append(ngettext(
                "%(n)d transaction dated before this feed's start date was not sent to Xero.",
                "%(n)d transactions dated before this feed's start date were not sent to Xero.", n) % {"n": n})
        elif kind == "RunningBalance":
            sentences.append(ngettext(
                "In the last upload from %(partner)s, %(n)d running balance does not add up; Xero received "
                "the lines as sent.",
                "In the last upload from %(partner)s, %(n)d running balances do not add up; Xero received "
                "the lines as sent.", n) % {"n": n, "partner": partner.brand_name})
        elif kind == "AmountSign":
            sentences.append(ngettext(
                "%(n)d transaction has an amount whose sign contradicts its type.",
                "%(n)d transactions have an amount whose sign contradicts their type.", n) % {"n": n})
        elif kind in ("DuplicateStatement", "AlreadyDelivered"):
            sentences.append(_("Xero already had these transactions; they were not delivered twice."))
        elif _english():
            sentences.extend(i.get("message", "") for i in items if i.get("message"))
    return sentences


def push_failure(operation, partner, *, linked: bool) -> tuple[str, str]:
    """The last failed push of an account: what happened, and what to do about it."""
    partner_name = partner.brand_name
    if operation.status == PushStatus.TIMED_OUT:
        return (_("Xero did not confirm the last transactions from %(partner)s in time.") % {"partner": partner_name},
                _("%(partner)s can send them again; Xero never takes them twice.") % {"partner": partner_name})
    if not linked:
        return (_("The last transactions from %(partner)s did not reach Xero: Xero is not connected.")
                % {"partner": partner_name},
                _("Connect to Xero again; %(partner)s can then send them again.") % {"partner": partner_name})
    if not operation.reached_xero:
        return (_("The last transactions from %(partner)s were refused before reaching Xero.")
                % {"partner": partner_name},
                _("Nothing is missing in Xero from before them. %(partner)s has been told why and can send them "
                  "again.") % {"partner": partner_name})
    if operation.status_code == 429 or operation.status_code >= 500:
        return (_("Xero did not take the last transactions from %(partner)s: it was busy or not answering.")
                % {"partner": partner_name},
                _("%(partner)s can send them again; Xero never takes them twice.") % {"partner": partner_name})
    problem = operation.errors[0] if operation.errors else {}
    refusal = xero_refusal(problem.get("validatorName", ""), problem.get("message", "") or operation.error_message)
    return (_("Xero refused the last transactions from %(partner)s.") % {"partner": partner_name} + " " + refusal,
            _("If this happens again, contact %(partner)s support.") % {"partner": partner_name})


# --- Recent changes (the audit log) ----------------------------------------------------------

SOURCE_ACCOUNT_ACTIONS = {
    "created": lambda a: _("%(account)s added") % {"account": a},
    "updated": lambda a: _("%(account)s updated") % {"account": a},
    "deleted": lambda a: _("%(account)s removed") % {"account": a},
    "feed connected": lambda a: _("%(account)s now sends its transactions to Xero") % {"account": a},
    "feed disconnected": lambda a: _("%(account)s stopped sending to Xero") % {"account": a},
    "feed refused by Xero": lambda a: _("Xero refused the feed of %(account)s") % {"account": a},
    "push retried": lambda a: _("Transactions of %(account)s sent to Xero again") % {"account": a},
}
CONNECTION_ACTIONS = {
    "created": lambda: _("Bank feeds set up; Xero not connected yet"),
    "linked": lambda: _("Xero connected"),
    "unlinked": lambda: _("Xero disconnected; feeds and history kept"),
    "deauthorized": lambda: _("Xero stopped accepting this connection"),
    "deleted": lambda: _("Xero connection removed"),
    "token refreshed": lambda: _("Xero access renewed"),
}


def audit_actor(event) -> str:
    """Who made the change, beyond its kind: a portal user's e-mail, a partner's key."""
    if event.actor_kind in ("xero", "system"):
        return ""
    if event.actor == LINK_VISITOR.label:
        return _("someone with the company's link")
    return event.actor


def audit_line(event, account_names: dict[str, str]) -> str:
    """One audit event as a sentence that names accounts, never internal ids."""
    if event.subject == "source account":
        name = account_names.get(event.subject_id) or _("An account")
        known = SOURCE_ACCOUNT_ACTIONS.get(event.action)
        return known(name) if known else f"{name}: {event.action}"
    if event.subject == "connection":
        known = CONNECTION_ACTIONS.get(event.action)
        return known() if known else _("Xero connection: %(action)s") % {"action": event.action}
    return event.action

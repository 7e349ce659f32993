"""The SMB portal: link entry, the company page, the Xero connect → pick flow, the
mapping wizard (map → confirm → progress) and the manage page.

Every view that shows a company goes through access.portal_company (404 for anyone
else, the sign-in page for a browser with no portal session). One view renders the full
page, or for htmx requests the `content` partial of the same template."""

from collections import defaultdict
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.views import redirect_to_login
from django.db import connections as databases
from django.db.models import OuterRef, Prefetch, Subquery, prefetch_related_objects
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseLocation, push_url

from apps.feeds import mapping as feed_mapping
from apps.feeds import source_accounts as feed_accounts
from apps.feeds import statements
from apps.feeds.models import DisconnectReason, PushOperation, PushStatus, SourceAccount, SourceAccountStatus
from apps.tenants.models import REDIRECT_PARAMETERS, Partner
from apps.xero_auth import connections, oauth
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from apps.xero_auth.refusals import OAUTH_CANCELLED, OAUTH_EXPIRED_KIND, LinkInvalid, OAuthFailed, OrganisationTaken

from . import messages as sentences
from .access import (
    LinkUsedElsewhere,
    SignInRequired,
    grant_company,
    link_params,
    link_partner,
    portal_company,
    visible_companies,
)
from .forms import MappingForm, PlanItem, SaveAccessForm
from .messages import FAILURES, failure_sentence

OUTCOME_FAILED = "failed"
PICK_SESSION_KEY = "xero_pick"
PLAN_SESSION_KEY = "portal_mapping_plan"
# The company whose Connect to Xero this browser pressed last: where Xero's answer returns.
CONNECT_SESSION_KEY = "portal_connecting"
# The last OAuth state this browser completed: Back after consent, or the consent page
# sent again, brings that state back, which is not an expired sign-in.
OAUTH_DONE_SESSION_KEY = "portal_oauth_done"
# Per company: how the last Xero sign-in ended badly (cancelled or failed), for the redirect.
OUTCOME_SESSION_KEY = "portal_outcome"
MAPPED = (SourceAccountStatus.CONNECTED, SourceAccountStatus.CONNECTING)
# How many of an account's last delivered statements the manage page checks for gaps.
GAP_WINDOW = 50
# Custom redirect parameters carried from the linkUrl: at most this many, this long.
LINK_PARAMS_LIMIT = 20
LINK_PARAM_LENGTH = 500


def portal_view(view):
    """A portal page: a browser with no portal session is sent to sign in (back here
    after), and one whose link another browser used first sees that the link is used."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except SignInRequired:
            back = request.get_full_path()
            if request.method != "GET" and "company_id" in kwargs:
                back = reverse("portal:company", args=[kwargs["company_id"]])
            url = redirect_to_login(back).url
            return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)
        except LinkUsedElsewhere:
            partner = Partner.objects.filter(companies__pk=kwargs.get("company_id")).first()
            return render(request, "portal/link_invalid.html", {"partner": partner}, status=410)

    return wrapper


def _render(request, template, context, *, status=200):
    """The full page, or its `content` partial for htmx (never for a history restore,
    which needs the whole page)."""
    if request.htmx and not request.htmx.history_restore_request:
        template = f"{template}#content"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _redirect(request, url):
    """Redirect; for htmx, load the next step into #main and put its URL in the address bar."""
    if request.htmx:
        return HttpResponseLocation(url, target="#main", swap="innerHTML")
    return HttpResponseRedirect(url)


def _stay(request, sentence: str, fallback_url: str):
    """Xero failed a step: with htmx the page stays as it was (every choice kept) and says
    why in its alert region; without JS, the fallback page says it."""
    if request.htmx:
        response = render(request, "portal/_flash.html", {"sentence": sentence})
        response["HX-Retarget"] = "#flash"
        response["HX-Reswap"] = "innerHTML"
        return response
    messages.error(request, sentence)
    return HttpResponseRedirect(fallback_url)


def _context(company, **extra):
    return {"company": company, "partner": company.partner, **extra}


def _back_url(request, company, connection, *, status: int, error: str = "") -> str:
    """The partner's redirect for this outcome (Codat's statusCode: 200 done, 403
    cancelled, 500 error), or "" when the partner has none or it leads elsewhere."""
    return company.partner.redirect_for(
        company_id=company.pk, connection_id=connection.pk if connection else None, status_code=status,
        error_message=error, custom=link_params(request, company))


def _outcome_key(company_id) -> str:
    return f"{OUTCOME_SESSION_KEY}:{company_id}"


# --- Entry -------------------------------------------------------------------------------


def home(request):
    companies = list(visible_companies(request))
    if not companies and not request.user.is_authenticated:
        return redirect("account_login")
    if len(companies) == 1:
        return redirect("portal:company", companies[0].pk)
    partners = {c.partner for c in companies}
    context = {"companies": companies}
    if len(partners) == 1:
        context["partner"] = partners.pop()
    return _render(request, "portal/home.html", context)


def _custom_params(query) -> dict:
    """The linkUrl's own ?key=value pairs, for the partner's redirect template."""
    pairs = [(k, v) for k, v in query.items() if k not in REDIRECT_PARAMETERS and k.isidentifier()
             and len(k) <= 64 and len(v) <= LINK_PARAM_LENGTH]
    return dict(pairs[:LINK_PARAMS_LIMIT])


def link(request, token):
    """The partner's linkUrl. Opening it (a GET, perhaps an e-mail scanner's) does not use
    it up: the visitor's first step does (access.portal_company)."""
    try:
        connection, nonce = connections.link_open(token=token)
    except LinkInvalid:
        return render(request, "portal/link_invalid.html", {"partner": link_partner(token)}, status=410)
    grant_company(request, connection.company, link=(connection.pk, nonce), link_params=_custom_params(request.GET))
    return redirect("portal:company", connection.company_id)


def start(request, partner_slug):
    """The start URL a partner registers with Xero, for users who begin at Xero's "Add bank
    account": they sign in at the partner, which sends them back through a linkUrl."""
    partner = get_object_or_404(Partner, slug=partner_slug)
    request.portal_partner = partner
    return render(request, "portal/start.html", {"partner": partner})


@portal_view
def company(request, company_id):
    company = portal_company(request, company_id)
    connection = company.connections.first()
    accounts = list(connection.source_accounts.all()) if connection else []
    to_map = [a for a in accounts if a.status not in MAPPED]
    outcome = request.session.get(_outcome_key(company.pk))
    if outcome:
        back = _back_url(request, company, connection, status=outcome["status"], error=outcome["error"])
    else:
        done = connection is not None and connection.is_linked and not to_map
        back = _back_url(request, company, connection, status=200 if done else 403)
    return _render(request, "portal/company.html", _context(
        company, connection=connection, accounts=accounts, to_map=to_map,
        mapped=[a for a in accounts if a.status in MAPPED], back_url=back,
        save_access_form=None if request.user.is_authenticated else SaveAccessForm(),
    ))


@portal_view
def save_access(request, company_id):
    """Optional after link entry: an email and password, so the visitor can come back."""
    company = portal_company(request, company_id)
    if request.user.is_authenticated:
        return redirect("portal:company", company.pk)
    form = SaveAccessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        from allauth.account.models import EmailAddress

        email = form.cleaned_data["email"]
        user = get_user_model().objects.create_user(username=email, email=email,
                                                    password=form.cleaned_data["password1"])
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        grant_company(request, company)  # signed in now: this makes them a member
        messages.success(request, _("Saved. Next time, sign in with %(email)s.") % {"email": email})
        url = reverse("portal:company", args=[company.pk])
        # A whole new page, so the header shows who is signed in and "Sign out".
        return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)
    return _render(request, "portal/save_access.html", _context(company, form=form),
                   status=400 if form.errors else 200)


# --- Step 1 and 2: connect Xero, pick the organisation ----------------------------------


@require_POST
@portal_view
def xero_connect(request, company_id):
    company = portal_company(request, company_id)
    connection = company.connections.first()
    if connection is None:
        connection = connections.connection_create(company=company)
    url = oauth.oauth_start(connection=connection, session=request.session)
    request.session[CONNECT_SESSION_KEY] = str(company.pk)
    if request.htmx:  # a full navigation to Xero's consent screen, not a swap
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


@portal_view
def xero_callback(request):
    state = request.GET.get("state") or ""
    done = request.session.get(OAUTH_DONE_SESSION_KEY) or {}
    if state and done.get("state") == state:
        # Back after consent (or Xero's page sent again): that sign-in already worked.
        return redirect("portal:company", done["company"])
    company_id = request.session.get(CONNECT_SESSION_KEY)
    try:
        connection, organisations = oauth.oauth_callback(session=request.session, params=request.GET)
    except OAuthFailed as exc:
        messages.error(request, failure_sentence(exc))
        if company_id and exc.kind != OAUTH_EXPIRED_KIND:
            request.session[_outcome_key(company_id)] = {
                "status": 403 if exc.kind == OAUTH_CANCELLED else 500, "error": exc.message}
        return redirect("portal:company", company_id) if company_id else redirect("portal:home")
    portal_company(request, connection.company_id)  # the callback must belong to this visitor
    request.session[OAUTH_DONE_SESSION_KEY] = {"state": state, "company": str(connection.company_id)}
    request.session.pop(_outcome_key(connection.company_id), None)
    choices = connections.organisation_choices(connection=connection, organisations=organisations)
    usable = [c for c in choices if not c.taken]
    if len(choices) == 1 and usable:
        try:
            return _link(request, connection, usable[0].organisation)
        except OrganisationTaken:
            choices = [connections.OrganisationChoice(usable[0].organisation, usable[0].base_currency, True)]
            usable = []
    if not usable:
        oauth.oauth_abandon(connection=connection)  # nothing here can be used: give the consent back
    request.session[PICK_SESSION_KEY] = {"connection": str(connection.pk), "choices": [
        {"tenant_id": c.organisation.tenant_id, "name": c.organisation.tenant_name, "currency": c.base_currency,
         "taken": c.taken} for c in choices]}
    return redirect("portal:xero_pick", connection.company_id)


def _pick_choices(company, choices) -> list[dict]:
    """The pick page's organisations, each with what stops it being used (never naming
    the company that uses it) and a hint when its currency is none of the accounts'."""
    connection = company.connections.first()
    currencies = sorted({a.currency for a in connection.source_accounts.all() if a.currency}) if connection else []
    rows = []
    for choice in choices:
        hint = ""
        if choice["currency"] and currencies and choice["currency"] not in currencies:
            hint = _("Its currency is %(org)s; your accounts are in %(accounts)s.") % {
                "org": choice["currency"], "accounts": ", ".join(currencies)}
        rows.append({**choice, "reason": sentences.organisation_taken() if choice["taken"] else "", "hint": hint})
    return rows


@portal_view
def xero_pick(request, company_id):
    company = portal_company(request, company_id)
    pending = request.session.get(PICK_SESSION_KEY) or {}
    connection = company.connections.filter(pk=pending.get("connection")).first()
    if connection is None or "choices" not in pending:
        return redirect("portal:company", company.pk)
    choices = pending["choices"]
    error = None
    if request.method == "POST":
        tenant = request.POST.get("tenant")
        chosen = next((c for c in choices if c["tenant_id"] == tenant and not c["taken"]), None)
        if chosen is None:
            error = _("Choose one of your Xero organisations.")
        else:
            try:
                # Asked of Xero again: the pick step trusts no form.
                organisation = next((o for o in oauth.consented_organisations(connection=connection)
                                     if o.tenant_id == tenant), None)
            except FAILURES as exc:
                return _stay(request, sentences.organisations_unlisted(exc),
                             reverse("portal:xero_pick", args=[company.pk]))
            if organisation is None:
                error = _("Xero no longer lists this organisation for your sign-in. Connect to Xero again.")
            else:
                try:
                    return _link(request, connection, organisation)
                except OrganisationTaken:
                    chosen["taken"] = True
                    request.session[PICK_SESSION_KEY] = pending
                    error = sentences.organisation_taken()
    usable = any(not c["taken"] for c in choices)
    return _render(request, "portal/pick_organisation.html", _context(
        company, organisations=_pick_choices(company, choices), usable=usable, error=error,
        way_forward=sentences.organisation_way_forward(company.partner),
    ), status=400 if error else 200)


def _link(request, connection: XeroConnection, organisation):
    """Link the organisation and go on to the mapping step; raises OrganisationTaken."""
    connections.connection_link(connection=connection, organisation=organisation)
    request.session.pop(PICK_SESSION_KEY, None)
    messages.success(request, _("Connected to %(org)s in Xero.") % {"org": connection.tenant_name})
    if connection.source_accounts.exclude(status__in=MAPPED).exists():
        return redirect("portal:mapping", connection.company_id)
    return redirect("portal:company", connection.company_id)


# --- Step 3 to 5: map, confirm, run ------------------------------------------------------


def _linked_connection(request, company):
    """The company's linked connection, or None with a message saying what to do."""
    connection = company.connections.first()
    if connection is None or connection.status != ConnectionStatus.LINKED:
        messages.info(request, _("Connect to Xero first."))
        return None
    return connection


def _plan_key(company) -> str:
    return f"{PLAN_SESSION_KEY}:{company.pk}"


def _plan(request, company) -> list[PlanItem]:
    """Every account's last choice in the wizard, skipped ones included."""
    return [PlanItem.from_session(p) for p in request.session.get(_plan_key(company)) or []]


def _to_run(request, company) -> list[PlanItem]:
    return [p for p in _plan(request, company) if not p.skipped]


@portal_view
def mapping(request, company_id):
    """Step 3: one form per source account not yet connected, prefilled with the last
    choices (Change, Back and a reload keep them)."""
    company = portal_company(request, company_id)
    connection = _linked_connection(request, company)
    if connection is None:
        return _redirect(request, reverse("portal:company", args=[company.pk]))
    try:
        options = feed_mapping.mapping_options(connection=connection)
    except FAILURES as exc:
        fallback = reverse("portal:company", args=[company.pk])
        if request.method == "POST":
            return _stay(request, failure_sentence(exc), reverse("portal:mapping", args=[company.pk]))
        if request.htmx:
            return _stay(request, failure_sentence(exc), fallback)
        messages.error(request, failure_sentence(exc))
        return HttpResponseRedirect(fallback)
    to_map = [o for o in options if o.source_account.status not in MAPPED]
    if not to_map:
        messages.info(request, _("All your accounts are connected to Xero."))
        return _redirect(request, reverse("portal:manage", args=[company.pk]))
    chosen = {p.source_account_id: p for p in _plan(request, company)}
    forms = [MappingForm(request.POST or None, option=o, chosen=chosen.get(o.source_account.account_id))
             for o in to_map]
    error = None
    if request.method == "POST":
        if all([f.is_valid() for f in forms]):  # a list, so every form shows its errors
            plan = [f.plan_item() for f in forms]
            request.session[_plan_key(company)] = [p.as_session() for p in plan]
            if any(not p.skipped for p in plan):
                return _redirect(request, reverse("portal:mapping_confirm", args=[company.pk]))
            error = _("Choose a Xero account for at least one of your accounts.")
        else:
            error = _("Some accounts need your attention: see the notes below.")
    return _render(request, "portal/mapping.html", _context(
        company, connection=connection, forms=forms, error=error, step=3,
    ), status=400 if error else 200)


@portal_view
def mapping_confirm(request, company_id):
    """Step 4: the summary. Its button posts to mapping_run."""
    company = portal_company(request, company_id)
    plan = _plan(request, company)
    if not any(not p.skipped for p in plan):
        return _redirect(request, reverse("portal:mapping", args=[company.pk]))
    connection = company.connections.first()
    return _render(request, "portal/confirm.html", _context(
        company, connection=connection, plan=[p for p in plan if not p.skipped],
        skipped=[p for p in plan if p.skipped], step=4))


@require_POST
@portal_view
def mapping_run(request, company_id):
    """Step 5. With htmx: the progress page, whose rows each post to mapping_run_one on
    load. Without JS: every mapping in turn, then the outcome page."""
    company = portal_company(request, company_id)
    plan = _to_run(request, company)
    if not plan:
        return _redirect(request, reverse("portal:mapping", args=[company.pk]))
    connection = company.connections.first()
    done_url = reverse("portal:mapping_done", args=[company.pk])
    if request.htmx:
        rows = [{"item": item, "outcome": None} for item in plan]
        skipped = [p for p in _plan(request, company) if p.skipped]
        response = _render(request, "portal/done.html", _context(
            company, rows=rows, skipped=skipped, running=True, step=5,
            back_url=_back_url(request, company, connection, status=200)))
        return push_url(response, done_url)
    for item in plan:
        _mapping_run(connection, item)
    return HttpResponseRedirect(done_url)


@require_POST
@portal_view
def mapping_run_one(request, company_id):
    """Step 5, one account (htmx): run its mapping and answer its row."""
    company = portal_company(request, company_id)
    item = next((i for i in _to_run(request, company) if i.source_account_id == request.POST.get("account")), None)
    if item is None:
        raise Http404("Not in this mapping")
    outcome = _mapping_run(company.connections.first(), item)
    return render(request, "portal/done.html#row", _context(company, row={"item": item, "outcome": outcome}))


@portal_view
def mapping_done(request, company_id):
    """Step 5 after the fact: each planned account's outcome, as recorded."""
    company = portal_company(request, company_id)
    plan = _plan(request, company)
    if not plan:
        return _redirect(request, reverse("portal:manage", args=[company.pk]))
    connection = company.connections.first()
    # Every planned account and its feeds in two queries, not two per account.
    sources = {s.account_id: s for s in _with_rows(connection.source_accounts.all())} if connection else {}
    rows = [{"item": item, "outcome": _recorded_outcome(connection, item, sources=sources)}
            for item in plan if not item.skipped]
    failures = [r["outcome"].error for r in rows if r["outcome"].status == OUTCOME_FAILED]
    if rows and len(failures) == len(rows):
        back = _back_url(request, company, connection, status=500, error=failures[0])
    else:
        back = _back_url(request, company, connection, status=200)
    return _render(request, "portal/done.html", _context(
        company, rows=rows, skipped=[p for p in plan if p.skipped], running=False, step=5, back_url=back))


@dataclass(frozen=True)
class Outcome:
    """A planned account's row on the done page: connected, connecting, or failed (why)."""

    status: str
    error: str | None = None


def _failed(error) -> Outcome:
    return Outcome(OUTCOME_FAILED, error)


def _mapping_run(connection, item: PlanItem) -> Outcome:
    """Run one planned mapping, unless it is already done (a reload must not map twice)."""
    source = connection.source_accounts.filter(account_id=item.source_account_id).first() if connection else None
    if source is None:
        return _failed(_("This account no longer exists."))
    if source.status in MAPPED:
        return _recorded_outcome(connection, item)
    try:
        result = feed_mapping.mapping_create(
            connection=connection, source_account_id=item.source_account_id,
            target_account_id=item.target_account_id, feed_start_date=item.feed_start_date,
        )
    except FAILURES as exc:
        return _failed(failure_sentence(exc))
    if result.failed:
        return _failed(sentences.mapping_error(result.error))
    return Outcome(result.status)


def _recorded_outcome(connection, item: PlanItem, *, sources=None) -> Outcome:
    if sources is not None:
        source = sources.get(item.source_account_id)
    else:
        source = connection.source_accounts.filter(account_id=item.source_account_id).first() if connection else None
    if source is None:
        return _failed(_("This account no longer exists."))
    feed = _newest_feed(source)
    if source.status in MAPPED:
        return Outcome(source.status)
    if feed and feed.error:
        return _failed(sentences.mapping_error(feed.error))
    return _failed(_("Not connected yet."))


# --- Manage --------------------------------------------------------------------------------


def _with_rows(source_accounts) -> list[SourceAccount]:
    """Source accounts with their feeds, their last push and their last delivered
    statements: a page of rows runs four queries whatever the number of accounts or pushes
    (each account's last push key is read from the top of its newest-first index, where a
    window over its pushes would read them all)."""
    last = PushOperation.objects.filter(source_account=OuterRef("pk")).order_by("-requested_on").values("pk")[:1]
    last_pushes = PushOperation.objects.filter(pk__in=source_accounts.annotate(key=Subquery(last)).values("key"))
    sources = list(source_accounts.prefetch_related(
        "feeds", Prefetch("push_operations", queryset=last_pushes, to_attr="last_push")))
    _with_delivered(sources)
    return sources


def _with_delivered(sources: list[SourceAccount]) -> None:
    """Each account's last GAP_WINDOW delivered pushes (the gap warning's), newest first, as
    `delivered_pushes`, in one query: where the database allows it, each account's from
    the top of its newest-first index, joined by UNION ALL; a window over the accounts'
    pushes (SQLite's only way) reads every push they ever had."""
    if not sources:
        return
    newest = PushOperation.objects.filter(delivered=True).order_by("-requested_on")
    if len(sources) > 1 and not databases[PushOperation.objects.db].features.supports_slicing_ordering_in_compound:
        prefetch_related_objects(sources, Prefetch("push_operations", to_attr="delivered_pushes",
                                                   queryset=newest[:GAP_WINDOW]))
        return
    parts = [newest.filter(source_account=source)[:GAP_WINDOW] for source in sources]
    found = defaultdict(list)
    for push in parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]:
        found[push.source_account_id].append(push)
    for source in sources:
        source.delivered_pushes = sorted(found[source.pk], key=lambda p: p.requested_on, reverse=True)


def _newest_feed(source: SourceAccount):
    """source.feeds.first() (newest first), read from the prefetch when there is one."""
    return next(iter(source.feeds.all()), None)


def _feed_row(source: SourceAccount, connection, partner) -> dict:
    """One account on the manage page, as the SMB should read it: its status (paused while
    Xero is not connected), the last statement Xero took, the last failure since and what
    to do about it, and its warnings (gaps between delivered statements among them)."""
    if not hasattr(source, "last_push"):
        [source] = _with_rows(SourceAccount.objects.filter(pk=source.pk))
    push = source.last_push[0] if source.last_push else None
    failure = failed_on = None
    if push is not None and push.status in (PushStatus.FAILED, PushStatus.TIMED_OUT):
        failure = sentences.push_failure(push, partner, linked=connection.is_linked)
        failed_on = push.requested_on
    warnings = [sentences.balance_gap(gap, source.currency)
                for gap in statements.statement_gaps([p for p in source.delivered_pushes if p.statement_start_date])]
    # A failed push's warnings are about lines that never arrived: the last good one's count.
    if failure is not None:
        push = source.delivered_pushes[0] if source.delivered_pushes else None
    warnings += sentences.push_warnings(push, partner)
    status = source.status
    # The rows must not say Connected while nothing can reach Xero; an account whose feed
    # stopped because the connection lost access waits for the company to connect again.
    if not connection.is_linked and (status in MAPPED or source.disconnect_reason == DisconnectReason.CONNECTION_LOST):
        status = "paused"
    return {"source": source, "feed": _newest_feed(source), "status": status,
            "delivered": source.delivered_pushes[0] if source.delivered_pushes else None,
            "failure": failure, "failed_on": failed_on, "warnings": warnings}


def _changes(company, rows) -> list[dict]:
    """The last audit events as sentences that name the accounts."""
    names = {r["source"].account_id: r["source"].account_name or _("Account ending %(digits)s") % {
        "digits": (r["source"].account_number or r["source"].account_id)[-4:]} for r in rows}
    return [{"event": e, "line": sentences.audit_line(e, names), "who": sentences.audit_actor(e)}
            for e in company.audit_events.all()[:15]]


@portal_view
def manage(request, company_id):
    company = portal_company(request, company_id)
    connection = company.connections.first()
    if connection is None:
        return _redirect(request, reverse("portal:company", args=[company.pk]))
    rows = [_feed_row(s, connection, company.partner) for s in _with_rows(connection.source_accounts.all())]
    return _render(request, "portal/manage.html", _context(
        company, connection=connection, rows=rows,
        pending=[r for r in rows if r["source"].status not in MAPPED],
        changes=_changes(company, rows),
        back_url=_back_url(request, company, connection, status=200 if connection.is_linked else 403),
    ))


@portal_view
def feed_disconnect(request, company_id, source_id):
    """GET: confirm (the row asks inline with htmx, a page without). POST: disconnect."""
    company = portal_company(request, company_id)
    source = get_object_or_404(SourceAccount, pk=source_id, connection__company=company)
    connection = source.connection
    context = _context(company, connection=connection, row=_feed_row(source, connection, company.partner))
    if request.method == "GET":
        if request.htmx:
            return render(request, "portal/manage.html#confirm_row", context)
        return render(request, "portal/disconnect.html", context)
    if request.method != "POST":
        return redirect("portal:manage", company.pk)
    note = None
    try:
        source = feed_accounts.feed_disconnect(source_account=source)
    except FAILURES as exc:
        note = failure_sentence(exc)
    if request.htmx:
        context.update(row=_feed_row(source, connection, company.partner), note=note)
        return render(request, "portal/manage.html#row", context)
    if note:
        messages.error(request, note)
    else:
        messages.success(request, _("%(account)s no longer sends transactions to Xero.")
                         % {"account": source.account_name or source.account_id})
    return redirect("portal:manage", company.pk)


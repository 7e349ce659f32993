"""The SMB portal: link entry, the company page, the Xero connect → pick flow, the
mapping wizard (map → confirm → progress) and the manage page.

Every view that shows a company goes through access.portal_company (404 for anyone
else). One view renders the full page, or for htmx requests the `content` partial of
the same template."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseLocation, push_url

from apps.feeds import mapping as feed_mapping
from apps.feeds import source_accounts as feed_accounts
from apps.feeds.models import PushOperation, SourceAccount, SourceAccountStatus
from apps.xero_auth import connections, oauth
from apps.xero_auth.models import ConnectionStatus, XeroConnection
from apps.xero_auth.refusals import LinkInvalid, OAuthFailed, OrganisationTaken

from .access import grant_company, link_partner, portal_company, visible_companies
from .forms import MappingForm, PlanItem, SaveAccessForm
from .messages import FAILURES, failure_sentence, organisations_unlisted

OUTCOME_FAILED = "failed"
PICK_SESSION_KEY = "xero_pick"
PLAN_SESSION_KEY = "portal_mapping_plan"
MAPPED = (SourceAccountStatus.CONNECTED, SourceAccountStatus.CONNECTING)


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


def _context(company, **extra):
    return {"company": company, "partner": company.partner, **extra}


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


def link(request, token):
    try:
        connection = connections.link_consume(token=token)
    except LinkInvalid:
        return render(request, "portal/link_invalid.html", {"partner": link_partner(token)}, status=410)
    grant_company(request, connection.company)
    return redirect("portal:company", connection.company_id)


def company(request, company_id):
    company = portal_company(request, company_id)
    connection = company.connections.first()
    accounts = list(connection.source_accounts.all()) if connection else []
    return _render(request, "portal/company.html", _context(
        company, connection=connection, accounts=accounts,
        to_map=[a for a in accounts if a.status not in MAPPED],
        mapped=[a for a in accounts if a.status in MAPPED],
        save_access_form=None if request.user.is_authenticated else SaveAccessForm(),
    ))


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
        return _redirect(request, reverse("portal:company", args=[company.pk]))
    return _render(request, "portal/save_access.html", _context(company, form=form),
                   status=400 if form.errors else 200)


# --- Step 1 and 2: connect Xero, pick the organisation ----------------------------------


@require_POST
def xero_connect(request, company_id):
    company = portal_company(request, company_id)
    connection = company.connections.first()
    if connection is None:
        connection = connections.connection_create(company=company)
    url = oauth.oauth_start(connection=connection, session=request.session)
    if request.htmx:  # a full navigation to Xero's consent screen, not a swap
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def xero_callback(request):
    try:
        connection, organisations = oauth.oauth_callback(session=request.session, params=request.GET)
    except OAuthFailed as exc:
        messages.error(request, failure_sentence(exc))
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
        organisations = oauth.consented_organisations(connection=connection)
    except FAILURES as exc:
        messages.error(request, organisations_unlisted(exc))
        return redirect("portal:company", company.pk)
    error = None
    if request.method == "POST":
        chosen = next((o for o in organisations if o.tenant_id == request.POST.get("tenant")), None)
        if chosen is not None:
            request.session.pop(PICK_SESSION_KEY, None)
            return _link(request, connection, chosen)
        error = _("Choose one of your Xero organisations.")
    return _render(request, "portal/pick_organisation.html",
                   _context(company, organisations=organisations, error=error), status=400 if error else 200)


def _link(request, connection: XeroConnection, organisation):
    try:
        connections.connection_link(connection=connection, organisation=organisation)
    except OrganisationTaken as exc:
        oauth.oauth_abandon(connection=connection)
        messages.error(request, failure_sentence(exc))
        return redirect("portal:company", connection.company_id)
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


def mapping(request, company_id):
    """Step 3: one form per source account not yet connected."""
    company = portal_company(request, company_id)
    connection = _linked_connection(request, company)
    if connection is None:
        return _redirect(request, reverse("portal:company", args=[company.pk]))
    try:
        options = feed_mapping.mapping_options(connection=connection)
    except FAILURES as exc:
        messages.error(request, failure_sentence(exc))
        return _redirect(request, reverse("portal:company", args=[company.pk]))
    to_map = [o for o in options if o.source_account.status not in MAPPED]
    if not to_map:
        messages.info(request, _("All your accounts are connected to Xero."))
        return _redirect(request, reverse("portal:manage", args=[company.pk]))
    forms = [MappingForm(request.POST or None, option=o) for o in to_map]
    error = None
    if request.method == "POST":
        if all([f.is_valid() for f in forms]):  # a list, so every form shows its errors
            plan = [f.plan_item() for f in forms if not f.skipped]
            if plan:
                request.session[_plan_key(company)] = [p.as_session() for p in plan]
                return _redirect(request, reverse("portal:mapping_confirm", args=[company.pk]))
            error = _("Choose a Xero account for at least one of your accounts.")
        else:
            error = _("Some accounts need your attention: see the notes below.")
    return _render(request, "portal/mapping.html", _context(
        company, connection=connection, forms=forms, error=error, step=3,
    ), status=400 if error else 200)


def _plan(request, company) -> list[PlanItem]:
    return [PlanItem.from_session(p) for p in request.session.get(_plan_key(company)) or []]


def mapping_confirm(request, company_id):
    """Step 4: the summary. Its button posts to mapping_run."""
    company = portal_company(request, company_id)
    plan = _plan(request, company)
    if not plan:
        return _redirect(request, reverse("portal:mapping", args=[company.pk]))
    connection = company.connections.first()
    return _render(request, "portal/confirm.html", _context(company, connection=connection, plan=plan, step=4))


@require_POST
def mapping_run(request, company_id):
    """Step 5. With htmx: the progress page, whose rows each post to mapping_run_one on
    load. Without JS: every mapping in turn, then the outcome page."""
    company = portal_company(request, company_id)
    plan = _plan(request, company)
    if not plan:
        return _redirect(request, reverse("portal:mapping", args=[company.pk]))
    connection = company.connections.first()
    done_url = reverse("portal:mapping_done", args=[company.pk])
    if request.htmx:
        rows = [{"item": item, "outcome": None} for item in plan]
        response = _render(request, "portal/done.html", _context(company, rows=rows, running=True, step=5))
        return push_url(response, done_url)
    for item in plan:
        _mapping_run(connection, item)
    return HttpResponseRedirect(done_url)


@require_POST
def mapping_run_one(request, company_id):
    """Step 5, one account (htmx): run its mapping and answer its row."""
    company = portal_company(request, company_id)
    item = next((i for i in _plan(request, company) if i.source_account_id == request.POST.get("account")), None)
    if item is None:
        raise Http404("Not in this mapping")
    outcome = _mapping_run(company.connections.first(), item)
    return render(request, "portal/done.html#row", _context(company, row={"item": item, "outcome": outcome}))


def mapping_done(request, company_id):
    """Step 5 after the fact: each planned account's outcome, as recorded."""
    company = portal_company(request, company_id)
    plan = _plan(request, company)
    if not plan:
        return _redirect(request, reverse("portal:manage", args=[company.pk]))
    connection = company.connections.first()
    # Every planned account and its feeds in two queries, not two per account.
    sources = {s.account_id: s for s in _with_rows(connection.source_accounts.all())} if connection else {}
    rows = [{"item": item, "outcome": _recorded_outcome(connection, item, sources=sources)} for item in plan]
    return _render(request, "portal/done.html", _context(company, rows=rows, running=False, step=5))


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
        return _failed(result.error)
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
    return _failed((feed.error if feed else "") or _("Not connected yet."))


# --- Manage --------------------------------------------------------------------------------


def _with_rows(source_accounts):
    """Source accounts with their feeds and their last push prefetched: a page of rows runs
    three queries whatever the number of accounts or pushes (each account's last push key
    is read from the top of its newest-first index; an account's older pushes are never
    read, where a window over them would read them all)."""
    last = PushOperation.objects.filter(source_account=OuterRef("pk")).order_by("-requested_on").values("pk")[:1]
    last_pushes = PushOperation.objects.filter(pk__in=source_accounts.annotate(key=Subquery(last)).values("key"))
    return source_accounts.prefetch_related(
        "feeds", Prefetch("push_operations", queryset=last_pushes, to_attr="last_push"))


def _newest_feed(source: SourceAccount):
    """source.feeds.first() (newest first), read from the prefetch when there is one."""
    return next(iter(source.feeds.all()), None)


def _feed_row(source: SourceAccount) -> dict:
    if not hasattr(source, "last_push"):
        source = _with_rows(SourceAccount.objects.filter(pk=source.pk)).get()
    feed = _newest_feed(source)
    push = source.last_push[0] if source.last_push else None
    warnings = []
    for warning in ((push.validation or {}).get("warnings") or []) if push else []:
        warnings.append(warning.get("message") if isinstance(warning, dict) else str(warning))
    return {"source": source, "feed": feed, "push": push, "warnings": warnings}


def manage(request, company_id):
    company = portal_company(request, company_id)
    connection = company.connections.first()
    if connection is None:
        return _redirect(request, reverse("portal:company", args=[company.pk]))
    rows = [_feed_row(s) for s in _with_rows(connection.source_accounts.all())]
    return _render(request, "portal/manage.html", _context(
        company, connection=connection, rows=rows,
        pending=[r for r in rows if r["source"].status not in MAPPED],
        changes=company.audit_events.all()[:15],
    ))


def feed_disconnect(request, company_id, source_id):
    """GET: confirm (the row asks inline with htmx, a page without). POST: disconnect."""
    company = portal_company(request, company_id)
    source = get_object_or_404(SourceAccount, pk=source_id, connection__company=company)
    context = _context(company, connection=source.connection, row=_feed_row(source))
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
        context.update(row=_feed_row(source), note=note)
        return render(request, "portal/manage.html#row", context)
    if note:
        messages.error(request, note)
    else:
        messages.success(request, _("%(account)s no longer sends transactions to Xero.")
                         % {"account": source.account_name or source.account_id})
    return redirect("portal:manage", company.pk)

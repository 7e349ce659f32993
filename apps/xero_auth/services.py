"""Use cases of a company's Xero connection: create, OAuth link, token refresh, unlink,
delete, and calls to Xero made with a fresh token. The API, the portal, admin and the
Celery task all come through here."""

import base64
import hashlib
import logging
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.tenants.audit import XERO, audit_record
from apps.tenants.models import Company, Partner

from . import client
from .locks import locked_row
from .models import ACCESS_TOKEN_MARGIN, ConnectionStatus, XeroConnection
from .ratelimit import xero_slot

logger = logging.getLogger(__name__)

CONNECTION_EXISTS = "This company already has a Xero connection ({id}); use its linkUrl to (re)connect."
ORG_LINKED_ELSEWHERE = "The Xero organisation “{org}” is already connected to another company ({company})."
OAUTH_EXPIRED = "This sign-in to Xero expired or did not start here. Please connect again."
CONNECTION_NOT_LINKED = "The connection is {status}: the company must connect Xero again from the portal."
# The beat task refreshes ahead of need; Xero drops refresh tokens unused for 60 days.
BEAT_ACCESS_MARGIN = timedelta(minutes=10)
REFRESH_TOKEN_MAX_IDLE = timedelta(days=50)


class ConnectionRefused(Exception):
    """A refusal about the connection's state, with a message for people."""


class ConnectionNotLinked(ConnectionRefused):
    pass


class OrganisationTaken(ConnectionRefused):
    pass


class OAuthFailed(ConnectionRefused):
    pass


def connection_create(*, company: Company) -> XeroConnection:
    """A new PendingAuth connection; a company links one Xero organisation at a time."""
    existing = company.connections.first()
    if existing is not None:
        raise ConnectionRefused(CONNECTION_EXISTS.format(id=existing.id))
    connection = XeroConnection(company=company)
    connection.rotate_link()
    connection.save()
    _audit(connection, "created", "waiting for the company to connect Xero")
    return connection


# --- OAuth2 (authorization code + PKCE) -------------------------------------------------

SESSION_KEY = "xero_oauth"


def oauth_start(*, connection: XeroConnection, session) -> str:
    """Bind a fresh state and PKCE verifier to this browser session and connection, and
    return Xero's authorize URL."""
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    session[SESSION_KEY] = {"state": state, "verifier": verifier, "connection": str(connection.id)}
    return client.authorization_url(state=state, code_challenge=challenge)


def oauth_callback(*, session, params) -> tuple[XeroConnection, list[dict]]:
    """Finish the OAuth dance: check state, exchange the code, store the tokens and
    return the connection with the organisations the user consented to."""
    pending = session.pop(SESSION_KEY, None) or {}
    state = params.get("state") or ""
    if not pending.get("state") or not state or not secrets.compare_digest(pending["state"], state):
        raise OAuthFailed(OAUTH_EXPIRED)
    # Without the PKCE verifier the code cannot be exchanged: refuse before calling Xero.
    if not pending.get("verifier"):
        raise OAuthFailed(OAUTH_EXPIRED)
    connection = XeroConnection.objects.select_related("company__partner").filter(pk=pending.get("connection")).first()
    if connection is None:  # deleted by the partner while the user was at Xero
        raise OAuthFailed(OAUTH_EXPIRED)
    if params.get("error"):
        reason = "you cancelled" if params["error"] == "access_denied" else params.get("error_description") or \
            params["error"]
        raise OAuthFailed(f"Xero was not connected: {reason}.")
    if not params.get("code"):
        raise OAuthFailed("Xero did not return an authorisation code. Please connect again.")
    try:
        token = client.exchange_code(code=params["code"], code_verifier=pending["verifier"])
        organisations = [c for c in client.list_connections(access_token=token["access_token"])
                         if c.get("tenantType", "ORGANISATION") == "ORGANISATION"]
    except client.XeroError as exc:
        raise OAuthFailed(f"Xero could not complete the connection ({exc}). Please try again.")
    _store_tokens(connection, token)
    connection.save()
    if not organisations:
        raise OAuthFailed("No Xero organisation was chosen. Please connect again and pick one.")
    return connection, organisations


@transaction.atomic
def connection_link(*, connection: XeroConnection, organisation: dict) -> XeroConnection:
    """Link the connection to one consented organisation; refuse an organisation that
    another company of the same partner already uses."""
    # Serialise links per partner, so two companies cannot take one organisation at once.
    Partner.objects.select_for_update().filter(pk=connection.company.partner_id).first()
    other = (
        XeroConnection.objects.filter(
            company__partner_id=connection.company.partner_id,
            tenant_id=organisation["tenantId"],
            status__in=[ConnectionStatus.LINKED, ConnectionStatus.DEAUTHORIZED],
        )
        .exclude(pk=connection.pk)
        .select_related("company")
        .first()
    )
    if other is not None:
        raise OrganisationTaken(ORG_LINKED_ELSEWHERE.format(org=organisation.get("tenantName"), company=other.company))
    connection.tenant_id = organisation["tenantId"]
    connection.tenant_name = organisation.get("tenantName") or ""
    connection.xero_connection_id = organisation.get("id")
    connection.status = ConnectionStatus.LINKED
    connection.linked_at = timezone.now()
    connection.data_connection_errors = _resolved(connection.data_connection_errors)
    connection.save()
    _audit(connection, "linked", f"to Xero organisation {connection.tenant_name}")
    return connection


def oauth_abandon(*, connection: XeroConnection) -> None:
    """Give back a consent that will not be used (the organisation was refused): revoke
    its tokens at Xero and forget them, unless the connection is linked and using them."""
    connection.refresh_from_db()
    if connection.status == ConnectionStatus.LINKED or not connection.refresh_token:
        return
    try:
        _revoke_at_xero(connection)
    except client.XeroError as exc:
        logger.warning("Unused consent of connection %s not revoked at Xero: %s", connection.id, exc)
    XeroConnection.objects.filter(pk=connection.pk).update(access_token="", refresh_token="",
                                                           access_token_expires_at=None)


def _store_tokens(connection, token):
    now = timezone.now()
    connection.access_token = token["access_token"]
    connection.refresh_token = token.get("refresh_token") or connection.refresh_token
    connection.access_token_expires_at = now + timedelta(seconds=int(token.get("expires_in", 1800)))
    connection.refresh_token_issued_at = now
    scope = token.get("scope", "")
    connection.scopes = " ".join(scope) if isinstance(scope, list) else scope


def _resolved(errors):
    now = timezone.now().isoformat()
    return [{**e, "status": "Resolved", "resolvedOnUtc": e.get("resolvedOnUtc") or now} for e in errors or []]


def _audit(connection, action, detail="", actor=None):
    audit_record(company=str(connection.company_id), subject="connection", subject_id=connection.pk,
                 action=action, detail=detail, actor=actor)


# --- Tokens -----------------------------------------------------------------------------


def _mark_deauthorized(connection, exc):
    connection.status = ConnectionStatus.DEAUTHORIZED
    connection.access_token = ""
    connection.refresh_token = ""
    connection.access_token_expires_at = None
    connection.data_connection_errors = [
        *_resolved(connection.data_connection_errors),
        {
            "statusCode": str(exc.status or 400),
            "statusText": (exc.problem or {}).get("error", "invalid_grant"),
            "errorMessage": "Xero no longer accepts this connection's authorisation; the company must reconnect.",
            "erroredOnUtc": timezone.now().isoformat(),
            "status": "Active",
            "resolvedOnUtc": None,
        },
    ]
    connection.save()
    _audit(connection, "deauthorized", "Xero refused the refresh token (invalid_grant)", actor=XERO)
    logger.warning("Connection %s deauthorised by Xero: %s", connection.id, exc)


def token_refresh(*, connection_id, force=False, margin=None, idle_before=None) -> XeroConnection:
    """Refresh the connection's tokens if they expire within `margin` (or `force`), under a
    row lock: Xero rotates refresh tokens, so two racing refreshes would lose one. Callers
    that waited for the lock find the token already fresh and do not refresh again."""
    margin = margin or ACCESS_TOKEN_MARGIN
    with locked_row(XeroConnection.objects, pk=connection_id) as connection:
        if connection is None:
            raise ConnectionNotLinked(CONNECTION_NOT_LINKED.format(status="deleted"))
        if connection.status != ConnectionStatus.LINKED:
            raise ConnectionNotLinked(CONNECTION_NOT_LINKED.format(status=connection.status))
        idle = idle_before is not None and (connection.refresh_token_issued_at or idle_before) < idle_before
        if not force and not idle and not connection.access_token_expiring(margin):
            return connection
        try:
            token = client.refresh(refresh_token=connection.refresh_token)
        except client.XeroAuthRevoked as exc:
            _mark_deauthorized(connection, exc)
            deauthorized = exc
        else:
            _store_tokens(connection, token)
            connection.save()
            return connection
    raise ConnectionNotLinked(CONNECTION_NOT_LINKED.format(status=ConnectionStatus.DEAUTHORIZED)) from deauthorized


def access_token_for(connection: XeroConnection) -> str:
    """A valid access token for a Linked connection, refreshed inline when it expires
    within two minutes. Raises ConnectionNotLinked otherwise, so no call reaches Xero."""
    if connection.status != ConnectionStatus.LINKED:
        raise ConnectionNotLinked(CONNECTION_NOT_LINKED.format(status=connection.status))
    if connection.access_token_expiring():
        fresh = token_refresh(connection_id=connection.pk)
        connection.access_token = fresh.access_token
        connection.refresh_token = fresh.refresh_token
        connection.access_token_expires_at = fresh.access_token_expires_at
    return connection.access_token


def xero_call(connection: XeroConnection, fn, **kwargs):
    """Call a client function with the connection's token and tenant, inside the
    organisation's rate limit. A 401 gets one forced refresh and one retry."""
    token = access_token_for(connection)
    with xero_slot(connection.tenant_id):
        try:
            return fn(access_token=token, tenant_id=str(connection.tenant_id), **kwargs)
        except client.XeroUnauthorized:
            fresh = token_refresh(connection_id=connection.pk, force=True)
            connection.access_token = fresh.access_token
            return fn(access_token=fresh.access_token, tenant_id=str(connection.tenant_id), **kwargs)


def refresh_expiring_tokens() -> int:
    """The beat task's work: refresh every linked connection whose access token expires
    within 10 minutes or whose refresh token has been idle for 50 days."""
    now = timezone.now()
    due = XeroConnection.objects.filter(status=ConnectionStatus.LINKED).filter(
        access_token_expires_at__lt=now + BEAT_ACCESS_MARGIN
    ) | XeroConnection.objects.filter(
        status=ConnectionStatus.LINKED, refresh_token_issued_at__lt=now - REFRESH_TOKEN_MAX_IDLE
    )
    refreshed = 0
    for connection_id, expires_at in due.values_list("pk", "access_token_expires_at").distinct():
        try:
            # Judged again under the lock: an inline refresh while we waited makes this a no-op.
            fresh = token_refresh(connection_id=connection_id, margin=BEAT_ACCESS_MARGIN,
                                  idle_before=now - REFRESH_TOKEN_MAX_IDLE)
            refreshed += fresh.access_token_expires_at != expires_at
        except (ConnectionNotLinked, client.XeroError) as exc:
            logger.warning("Could not refresh connection %s: %s", connection_id, exc)
    return refreshed


# --- Unlink / delete / information ------------------------------------------------------


def _revoke_at_xero(connection):
    if not connection.refresh_token:
        return
    try:
        client.revoke(refresh_token=connection.refresh_token)
    except client.XeroRejected as exc:
        # Xero answers 200 even for unknown tokens, so this is a refusal of our client:
        # the company still wants to be disconnected; staff learn of it from the log.
        logger.warning("Xero refused to revoke connection %s: %s", connection.id, exc)


def connection_unlink(*, connection: XeroConnection) -> XeroConnection:
    """Deauthorise without deleting: revoke and drop the tokens, keep the connection and
    its feeds so the company can link again later. Under the row lock, so the token
    revoked is the current one and a refresh racing with us cannot write tokens back."""
    with locked_row(XeroConnection.objects, pk=connection.pk) as locked:
        _revoke_at_xero(locked)
        locked.status = ConnectionStatus.UNLINKED
        locked.access_token = ""
        locked.refresh_token = ""
        locked.access_token_expires_at = None
        locked.save()
        _audit(locked, "unlinked", "access revoked at Xero; feeds and history kept")
    for name in ("status", "access_token", "refresh_token", "access_token_expires_at", "updated"):
        setattr(connection, name, getattr(locked, name))
    return connection


def connection_delete(*, connection: XeroConnection) -> None:
    """Revoke at Xero, then remove the connection and everything under it."""
    with locked_row(XeroConnection.objects, pk=connection.pk) as locked:
        _revoke_at_xero(locked)
        _audit(locked, "deleted", "access revoked at Xero")
        locked.delete()


def company_connections_revoke(company: Company) -> None:
    for connection in company.connections.all():
        _revoke_at_xero(connection)


def company_information(*, connection: XeroConnection) -> dict:
    """The Xero organisation's name, base currency, multi-currency flag and currencies."""
    organisation = xero_call(connection, client.get_organisation)
    currencies = [c["Code"] for c in xero_call(connection, client.list_currencies)]
    base = organisation.get("BaseCurrency")
    if base and base not in currencies:
        currencies.insert(0, base)
    return {
        "companyName": organisation.get("Name"),
        "baseCurrency": base,
        "planType": organisation.get("Class"),
        "multicurrencyEnabled": len(currencies) > 1,
        "currencies": currencies,
    }


LINK_INVALID = "This link has expired or has already been used. Ask {partner} for a new one, or sign in."


class LinkInvalid(ConnectionRefused):
    pass


def link_consume(*, token: str) -> XeroConnection:
    """Check a portal link (signed, at most 24 hours old, not used before) and use it up."""
    from django.core import signing

    from .models import LINK_LIFETIME, LINK_SALT

    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=LINK_LIFETIME)
    except signing.BadSignature:
        raise LinkInvalid(LINK_INVALID.format(partner="your bank"))
    with transaction.atomic():
        connection = (XeroConnection.objects.select_for_update().select_related("company__partner")
                      .filter(pk=payload.get("c")).first())
        if connection is None or not secrets.compare_digest(connection.link_nonce, payload.get("n", "")):
            partner = connection.company.partner.brand_name if connection else "your bank"
            raise LinkInvalid(LINK_INVALID.format(partner=partner))
        connection.rotate_link()
    return connection


def access_token_for_pending(connection: XeroConnection) -> str:
    """The token of a connection whose OAuth finished but whose organisation is not yet
    picked (status still PendingAuth, or the previous status while re-linking)."""
    if not connection.refresh_token:
        raise ConnectionRefused("Xero is not connected yet.")
    if connection.access_token_expiring():
        _store_tokens(connection, client.refresh(refresh_token=connection.refresh_token))
        connection.save()
    return connection.access_token

"""Connecting a company to Xero: OAuth2 authorization code with PKCE, state bound to the
browser session and the connection, then the organisations the user consented to."""

import base64
import hashlib
import logging
import secrets

from apps.core.urls import page_url

from . import client
from .models import ConnectionStatus, XeroConnection
from .refusals import OAUTH_CANCELLED, OAUTH_EXPIRED, OAUTH_NO_ORGANISATION, OAUTH_XERO_ERROR, OAuthFailed
from .tokens import token_refresh

logger = logging.getLogger(__name__)

SESSION_KEY = "xero_oauth"


def _redirect_uri() -> str:
    return page_url("oauth_callback")


def oauth_start(*, connection: XeroConnection, session) -> str:
    """Bind a fresh state and PKCE verifier to this browser session and connection, and
    return Xero's authorize URL."""
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    session[SESSION_KEY] = {"state": state, "verifier": verifier, "connection": str(connection.id)}
    return client.authorization_url(redirect_uri=_redirect_uri(), state=state, code_challenge=challenge)


def oauth_callback(*, session, params) -> tuple[XeroConnection, list[client.Tenant]]:
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
        cancelled = params["error"] == "access_denied"
        reason = "you cancelled" if cancelled else params.get("error_description") or params["error"]
        raise OAuthFailed(f"Xero was not connected: {reason}.", kind=OAUTH_CANCELLED if cancelled else OAUTH_XERO_ERROR,
                          detail="" if cancelled else reason)
    if not params.get("code"):
        raise OAuthFailed("Xero did not return an authorisation code. Please connect again.", kind=OAUTH_XERO_ERROR)
    try:
        tokens = client.exchange_code(code=params["code"], code_verifier=pending["verifier"],
                                      redirect_uri=_redirect_uri())
        organisations = [t for t in client.list_connections(access_token=tokens.access_token) if t.is_organisation]
    except client.XeroError as exc:
        raise OAuthFailed(f"Xero could not complete the connection ({exc}). Please try again.", kind=OAUTH_XERO_ERROR)
    connection.store_tokens(tokens)
    connection.save()
    if not organisations:
        raise OAuthFailed("No Xero organisation was chosen. Please connect again and pick one.",
                          kind=OAUTH_NO_ORGANISATION)
    return connection, organisations


def consented_organisations(*, connection: XeroConnection) -> list[client.Tenant]:
    """The organisations the connection's latest consent covers, asked of Xero again (the
    pick step trusts no form), with its token refreshed under the row lock if need be.
    The consent may not be linked yet, so any status is accepted."""
    fresh = token_refresh(connection_id=connection.pk, statuses=tuple(ConnectionStatus))
    return [t for t in client.list_connections(access_token=fresh.access_token) if t.is_organisation]


def oauth_abandon(*, connection: XeroConnection) -> None:
    """Give back a consent that will not be used (the organisation was refused): revoke
    its tokens at Xero and forget them, unless the connection is linked and using them."""
    connection.refresh_from_db()
    if connection.status == ConnectionStatus.LINKED or not connection.refresh_token:
        return
    try:
        client.revoke(refresh_token=connection.refresh_token)
    except client.XeroError as exc:
        logger.warning("Unused consent of connection %s not revoked at Xero: %s", connection.id, exc)
    XeroConnection.objects.filter(pk=connection.pk).update(access_token="", refresh_token="",
                                                           access_token_expires_at=None)

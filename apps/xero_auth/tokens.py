"""A connection's Xero tokens: refreshed under a row lock (Xero rotates refresh tokens,
so two racing refreshes would lose one), used for every call to Xero through xero_call,
and kept alive by the beat's upkeep passes."""

import logging
import time
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from apps.core.locks import locked_row
from apps.tenants.audit import XERO, audit_record

from . import client
from .models import ACCESS_TOKEN_MARGIN, ConnectionStatus, XeroConnection
from .ratelimit import xero_slot
from .refusals import XERO_NOT_CONNECTED_YET, ConnectionNotLinked, ConnectionRefused

logger = logging.getLogger(__name__)

# Xero drops a refresh token unused for 60 days: the upkeep uses it again after 50.
REFRESH_TOKEN_MAX_IDLE = timedelta(days=50)
# One upkeep pass: at most this many connections, handed out in batches (one Celery task
# each, so several workers share a pass), all done or dropped by the deadline, which is
# shorter than the beat's period so that passes never overlap.
UPKEEP_PASS_LIMIT = 5000
UPKEEP_BATCH = 100
UPKEEP_DEADLINE = timedelta(minutes=4)
UPKEEP_LOCK = "xero-token-upkeep-pass"


def _deauthorized(connection: XeroConnection, exc: client.XeroError) -> None:
    reason = next((p.type for p in exc.problems if p.type), "invalid_grant")
    connection.mark_deauthorized(status_code=exc.status or 400, reason=reason)
    audit_record(company=str(connection.company_id), subject="connection", subject_id=connection.pk,
                 action="deauthorized", detail="Xero refused the refresh token (invalid_grant)", actor=XERO)
    logger.warning("Connection %s deauthorised by Xero: %s", connection.id, exc)


def token_refresh(*, connection_id, force=False, margin=None, idle_before=None,
                  statuses=(ConnectionStatus.LINKED,)) -> XeroConnection:
    """Refresh the connection's tokens if they expire within `margin` (or `force`), under a
    row lock: Xero rotates refresh tokens, so two racing refreshes would lose one. Callers
    that waited for the lock find the token already fresh and do not refresh again.
    Only a connection in one of `statuses` is refreshed (Linked; the OAuth pick step also
    refreshes a consent whose organisation is not picked yet)."""
    margin = margin or ACCESS_TOKEN_MARGIN
    with locked_row(XeroConnection.objects, pk=connection_id) as connection:
        if connection is None:
            raise ConnectionNotLinked("deleted")
        if connection.status not in statuses:
            raise ConnectionNotLinked(connection.status)
        if connection.status != ConnectionStatus.LINKED and not connection.refresh_token:
            raise ConnectionRefused(XERO_NOT_CONNECTED_YET)
        idle = idle_before is not None and (connection.refresh_token_issued_at or idle_before) < idle_before
        if not force and not idle and not connection.access_token_expiring(margin):
            return connection
        try:
            tokens = client.refresh(refresh_token=connection.refresh_token)
        except client.XeroAuthRevoked as exc:
            if connection.status != ConnectionStatus.LINKED:
                raise  # a consent not yet used: nothing to mark
            # Recorded, then raised once the block has committed it.
            _deauthorized(connection, exc)
            deauthorized = exc
        else:
            connection.store_tokens(tokens)
            connection.save()
            return connection
    raise ConnectionNotLinked(ConnectionStatus.DEAUTHORIZED) from deauthorized


def access_token_for(connection: XeroConnection) -> str:
    """A valid access token for a Linked connection, refreshed inline when it expires
    within two minutes. Raises ConnectionNotLinked otherwise, so no call reaches Xero."""
    if connection.status != ConnectionStatus.LINKED:
        raise ConnectionNotLinked(connection.status)
    if connection.access_token_expiring():
        _take_fresh(connection, token_refresh(connection_id=connection.pk))
    return connection.access_token


def _take_fresh(connection, fresh) -> None:
    connection.access_token = fresh.access_token
    connection.refresh_token = fresh.refresh_token
    connection.access_token_expires_at = fresh.access_token_expires_at


def xero_call(connection: XeroConnection, fn, **kwargs):
    """Call a client function with the connection's token and tenant, inside the
    organisation's rate limit. A 401 gets one forced refresh and one retry; a 401 after
    it, or a 403 (the organisation is no longer connected to the app), marks the
    connection Deauthorized and raises ConnectionNotLinked."""
    token = access_token_for(connection)
    with xero_slot(connection.tenant_id):
        try:
            try:
                return fn(access_token=token, tenant_id=str(connection.tenant_id), **kwargs)
            except client.XeroUnauthorized:
                fresh = token_refresh(connection_id=connection.pk, force=True)
                _take_fresh(connection, fresh)
                return fn(access_token=fresh.access_token, tenant_id=str(connection.tenant_id), **kwargs)
        except (client.XeroUnauthorized, client.XeroForbidden) as exc:
            connection_lost(connection, exc)
            raise ConnectionNotLinked(ConnectionStatus.DEAUTHORIZED) from exc


def connection_lost(connection: XeroConnection, exc: client.XeroError) -> None:
    """Xero refused the connection's access (after a fresh token): mark it Deauthorized,
    under the row lock, unless a refresh or a relink changed it meanwhile."""
    with locked_row(XeroConnection.objects, pk=connection.pk) as locked:
        if locked is not None and locked.status == ConnectionStatus.LINKED and str(locked.tenant_id) == str(
                connection.tenant_id):
            locked.mark_deauthorized(status_code=exc.status or 403, reason=exc.problems[0].text if exc.problems
                                     else "Forbidden")
            audit_record(company=str(locked.company_id), subject="connection", subject_id=locked.pk,
                         action="deauthorized", detail=f"Xero refused access to the organisation ({exc.status})",
                         actor=XERO)
            logger.warning("Connection %s deauthorised by Xero: %s", locked.id, exc)
    connection.status = ConnectionStatus.DEAUTHORIZED


def connections_needing_upkeep(*, now=None, limit=UPKEEP_PASS_LIMIT) -> list:
    """Ids of the Linked connections whose refresh token has been idle for 50 days, the
    longest idle first: a range scan of a partial index, however many connections there
    are. Access tokens are not selected: a call that needs one refreshes it inline."""
    idle_before = (now or timezone.now()) - REFRESH_TOKEN_MAX_IDLE
    due = XeroConnection.objects.filter(status=ConnectionStatus.LINKED, refresh_token_issued_at__lt=idle_before)
    return list(due.order_by("refresh_token_issued_at").values_list("pk", flat=True)[:limit])


def upkeep_pass(*, dispatch, now=None) -> int:
    """One beat pass: take the pass lock until the pass's deadline (a pass still within its
    deadline makes this one a no-op), select what needs upkeep and hand it to
    `dispatch(connection_ids, deadline)` in batches. Returns how many connections were
    handed out (0 when the previous pass still holds the lock)."""
    deadline = time.time() + UPKEEP_DEADLINE.total_seconds()
    if not cache.add(UPKEEP_LOCK, int(deadline), UPKEEP_DEADLINE.total_seconds()):
        logger.info("Token upkeep: the previous pass is still within its deadline; skipped")
        return 0
    due = connections_needing_upkeep(now=now)
    for start in range(0, len(due), UPKEEP_BATCH):
        dispatch([str(pk) for pk in due[start:start + UPKEEP_BATCH]], deadline)
    return len(due)


def tokens_keep_alive(*, connection_ids, deadline: float) -> int:
    """Refresh each connection whose refresh token is still idle for 50 days (judged again
    under its row lock: an inline refresh since the selection makes it a no-op), until the
    pass's deadline (epoch seconds); what is left over is selected by the next pass.
    Returns how many were refreshed."""
    refreshed = 0
    for done, connection_id in enumerate(connection_ids):
        if time.time() >= deadline:
            logger.warning("Token upkeep: deadline reached, %d connections left for the next pass",
                           len(connection_ids) - done)
            break
        started = timezone.now()
        try:
            fresh = token_refresh(connection_id=connection_id, idle_before=started - REFRESH_TOKEN_MAX_IDLE)
            refreshed += fresh.refresh_token_issued_at >= started
        except (ConnectionRefused, client.XeroError) as exc:
            logger.warning("Could not refresh connection %s: %s", connection_id, exc)
    return refreshed

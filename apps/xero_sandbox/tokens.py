"""Issuing, rotating and revoking tokens: the rules of Xero's identity server.

- Authorisation codes: single use, five minutes; replaying a used code also revokes the
  tokens already issued from it (RFC 6749 §4.1.2, stricter than Xero documents).
- Access tokens: opaque, 30 minutes.
- Refresh tokens: only with ``offline_access``; every refresh returns a new one; the one
  used keeps working for 30 minutes after its first use (Xero's grace), then
  ``invalid_grant``; an unused one expires after 60 days.
- Disconnecting the last tenant of a grant revokes the grant (its tokens stop working),
  whether the app disconnects it (DELETE connections/{id}) or the user does in Xero.
"""

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from .models import ACCESS_TOKEN_LIFETIME, AccessToken, Connection, Grant, RefreshToken, SandboxApp


def issue_tokens(grant: Grant) -> dict:
    """A fresh access token (and refresh token with offline_access) as the token JSON."""
    now = timezone.now()
    access = AccessToken.objects.create(grant=grant, created_at=now, expires_at=now + ACCESS_TOKEN_LIFETIME)
    body = {
        "access_token": access.token,
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "token_type": "Bearer",
    }
    if "offline_access" in grant.scope_set():
        body["refresh_token"] = RefreshToken.objects.create(grant=grant, created_at=now).token
    body["scope"] = grant.scopes
    return body


@transaction.atomic
def rotate_refresh_token(refresh: RefreshToken) -> dict:
    """Use a refresh token: mark its first use, count the refresh, issue new tokens."""
    now = timezone.now()
    RefreshToken.objects.filter(pk=refresh.pk, first_used_at__isnull=True).update(first_used_at=now)
    Grant.objects.filter(pk=refresh.grant_id).update(refresh_count=F("refresh_count") + 1)
    SandboxApp.objects.filter(pk=refresh.grant.app_id).update(refresh_count=F("refresh_count") + 1)
    return issue_tokens(refresh.grant)


@transaction.atomic
def revoke_grant(grant: Grant) -> None:
    """Revoke every token of a grant and disconnect its tenants."""
    now = timezone.now()
    Grant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(revoked_at=now)
    grant.access_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    grant.refresh_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    grant.connections.all().delete()


@transaction.atomic
def disconnect(connections: QuerySet[Connection]) -> tuple[int, int]:
    """Remove these connections and revoke each grant they leave without any; returns
    (connections removed, grants revoked)."""
    grant_ids = set(connections.values_list("grant_id", flat=True))
    removed, _ = connections.delete()
    emptied = list(Grant.objects.filter(pk__in=grant_ids, connections__isnull=True))
    for grant in emptied:
        revoke_grant(grant)
    return removed, len(emptied)

"""Use cases of a company's Xero connection: create, link to an organisation, use the
portal link, unlink, delete, and what Xero says about the organisation. The API, the
portal, admin and commands all come through here."""

import logging
import secrets
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.utils import timezone

from apps.core.locks import locked_row
from apps.core.refusals import Refused
from apps.tenants.audit import audit_record
from apps.tenants.models import Company, Partner

from . import client, signals
from .models import LINK_LIFETIME, LINK_SALT, ConnectionStatus, XeroConnection
from .ratelimit import xero_slot
from .refusals import (
    LINK_INVALID,
    ORG_LINKED_ELSEWHERE,
    REVOKE_UNREACHABLE,
    LinkInvalid,
    OrganisationTaken,
)
from .tokens import access_token_for, connection_lost, token_refresh, xero_call

logger = logging.getLogger(__name__)

DISCONNECTED_IN_XERO = "The organisation is no longer among the app's connections in Xero."


def _audit(connection, action, detail=""):
    audit_record(company=str(connection.company_id), subject="connection", subject_id=connection.pk,
                 action=action, detail=detail)


@transaction.atomic
def connection_create(*, company: Company) -> XeroConnection:
    """The company's Xero connection: a new PendingAuth one, or the one it already has
    (whatever its status; its linkUrl (re)connects it): a company links one Xero
    organisation at a time, so asking twice answers the same connection."""
    # Serialise creates per company, so two at once cannot make two connections.
    Company.objects.select_for_update().filter(pk=company.pk).first()
    existing = company.connections.order_by("created").first()
    if existing is not None:
        return existing
    connection = XeroConnection(company=company)
    connection.rotate_link()
    with transaction.atomic():
        connection.save()
        _audit(connection, "created", "waiting for the company to connect Xero")
        signals.connection_created.send(sender=XeroConnection, connection=connection)
    return connection


def _taken_elsewhere(connection: XeroConnection, tenant_ids):
    """Connections of the partner's other companies that hold one of these organisations."""
    return (XeroConnection.objects.filter(
        company__partner_id=connection.company.partner_id, tenant_id__in=list(tenant_ids),
        status__in=[ConnectionStatus.LINKED, ConnectionStatus.DEAUTHORIZED],
    ).exclude(pk=connection.pk))


@transaction.atomic
def connection_link(*, connection: XeroConnection, organisation: client.Tenant) -> XeroConnection:
    """Link the connection to one consented organisation; refuse an organisation that
    another company of the same partner already uses."""
    # Serialise links per partner, so two companies cannot take one organisation at once.
    Partner.objects.select_for_update().filter(pk=connection.company.partner_id).first()
    if _taken_elsewhere(connection, [organisation.tenant_id]).exists():
        raise OrganisationTaken(ORG_LINKED_ELSEWHERE.format(org=organisation.tenant_name))
    connection.mark_linked(tenant_id=organisation.tenant_id, tenant_name=organisation.tenant_name,
                           xero_connection_id=organisation.id)
    _audit(connection, "linked", f"to Xero organisation {connection.tenant_name}")
    return connection


def link_open(*, token: str) -> tuple[XeroConnection, str]:
    """Check a portal link (signed, at most 24 hours old, the connection's current one)
    without using it up, and return its connection and nonce. Opening a link is a GET, as
    an e-mail scanner's is: the link stays usable until the visitor takes a first step
    (link_consume), as Codat Link's does."""
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=LINK_LIFETIME)
    except signing.BadSignature:
        raise LinkInvalid(LINK_INVALID.format(partner="your bank"))
    connection = (XeroConnection.objects.select_related("company__partner")
                  .filter(pk=payload.get("c")).first())
    nonce = payload.get("n", "")
    if connection is None or not _link_current(connection, nonce):
        partner = connection.company.partner.brand_name if connection else "your bank"
        raise LinkInvalid(LINK_INVALID.format(partner=partner))
    return connection, nonce


def link_consume(*, connection_id, nonce: str) -> bool:
    """Use up the link a visitor came in by, at their first step (a POST). True when it
    was still the connection's current link (the next one is issued now); False when
    another browser used it first, or it expired or was replaced meanwhile."""
    with transaction.atomic():
        connection = XeroConnection.objects.select_for_update().filter(pk=connection_id).first()
        if connection is None or not _link_current(connection, nonce):
            return False
        connection.rotate_link()
    return True


def _link_current(connection: XeroConnection, nonce: str) -> bool:
    return (bool(nonce) and secrets.compare_digest(connection.link_nonce, nonce)
            and connection.link_issued_at is not None and timezone.now() - connection.link_issued_at < LINK_LIFETIME)


def _revoke_at_xero(connection):
    """Revoke the connection's grant at Xero. Unreachable, the grant may still stand, so
    the use case stops here (Refused, 503) and changes nothing."""
    if not connection.refresh_token:
        return
    try:
        client.revoke(refresh_token=connection.refresh_token)
    except client.XeroUnavailable as exc:
        raise Refused(REVOKE_UNREACHABLE.format(reason=exc), status=503, can_be_retried=True) from exc
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
        locked.mark_unlinked()
        _audit(locked, "unlinked", "access revoked at Xero; feeds and history kept")
    for name in ("status", "access_token", "refresh_token", "access_token_expires_at", "updated"):
        setattr(connection, name, getattr(locked, name))
    return connection


def connection_delete(*, connection: XeroConnection) -> None:
    """Revoke at Xero, then remove the connection and everything under it."""
    with locked_row(XeroConnection.objects, pk=connection.pk) as locked:
        _revoke_at_xero(locked)
        with transaction.atomic():
            _audit(locked, "deleted", "access revoked at Xero")
            signals.connection_deleted.send(sender=XeroConnection, connection=locked)
            locked.delete()


def company_connections_revoke(*, company: Company, **_) -> None:
    """Revoke every connection of a company about to be deleted (tenants' company_deleting)."""
    for connection in company.connections.all():
        _revoke_at_xero(connection)


def connection_check(*, connection: XeroConnection) -> bool:
    """Ask Xero whether the organisation is still among the app's connections (GET
    /connections) and mark the connection Deauthorized when it is not: the user
    disconnected the app in Xero. Returns whether it still is. A token Xero refuses after a
    forced refresh marks it too; Xero unreachable raises and changes nothing."""
    try:
        try:
            tenants = client.list_connections(access_token=access_token_for(connection))
        except client.XeroUnauthorized:
            fresh = token_refresh(connection_id=connection.pk, force=True)
            tenants = client.list_connections(access_token=fresh.access_token)
    except client.XeroUnauthorized as exc:
        connection_lost(connection, exc)
        return False
    if any(t.tenant_id == str(connection.tenant_id) for t in tenants):
        connection.mark_checked()
        return True
    connection_lost(connection, client.XeroForbidden(DISCONNECTED_IN_XERO, status=403,
                                                     problems=[client.XeroProblem(detail=DISCONNECTED_IN_XERO)]))
    return False


@dataclass(frozen=True)
class OrganisationChoice:
    """A consented organisation as the pick step shows it: its base currency ("" when Xero
    did not say) and whether another company of the same partner already uses it."""

    organisation: client.Tenant
    base_currency: str
    taken: bool


def organisation_choices(*, connection: XeroConnection, organisations: list[client.Tenant]) -> list[OrganisationChoice]:
    """Each organisation the user consented to, with its base currency (one call to Xero
    each, inside that organisation's rate limit) and whether it is taken (connection_link
    would refuse it). Called right after the callback stored the consent's fresh tokens."""
    taken = {str(t) for t in _taken_elsewhere(connection, [o.tenant_id for o in organisations])
             .values_list("tenant_id", flat=True)}
    choices = []
    for organisation in organisations:
        try:
            with xero_slot(organisation.tenant_id):
                currency = client.get_organisation(access_token=connection.access_token,
                                                   tenant_id=organisation.tenant_id).base_currency
        except client.XeroError as exc:
            logger.info("Base currency of %s not read: %s", organisation.tenant_id, exc)
            currency = ""
        choices.append(OrganisationChoice(organisation, currency, str(organisation.tenant_id) in taken))
    return choices


@dataclass(frozen=True)
class CompanyInformation:
    company_name: str
    base_currency: str
    plan_type: str | None
    multicurrency_enabled: bool
    currencies: list[str]


def company_information(*, connection: XeroConnection) -> CompanyInformation:
    """The Xero organisation's name, base currency, multi-currency flag and currencies."""
    organisation = xero_call(connection, client.get_organisation)
    currencies = list(xero_call(connection, client.list_currencies))
    base = organisation.base_currency
    if base and base not in currencies:
        currencies.insert(0, base)
    return CompanyInformation(company_name=organisation.name, base_currency=base, plan_type=organisation.plan,
                              multicurrency_enabled=len(currencies) > 1, currencies=currencies)

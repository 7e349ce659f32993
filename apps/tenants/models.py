"""Partners (the banks and fintech apps that call the API), their API keys, and the
companies (their SMB customers) each partner creates."""

import hashlib
import re
import secrets
import uuid
import zoneinfo
from datetime import timedelta
from functools import cache
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connections, models
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from apps.core import rows
from apps.core.rows import columns, instance, width
from apps.core.urls import page_url

API_KEY_PREFIX = "bfk_"
# last_used_at is written at most this often, so authentication is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Codat's reserved redirect parameters; any other {name} is a custom parameter carried
# from the linkUrl's query string.
REDIRECT_PARAMETERS = ("companyId", "connectionId", "statusCode", "errorMessage")
_PLACEHOLDER = re.compile(r"{([A-Za-z0-9_]+)}")
# The English date formats of a partner's portal follow its home currency.
ENGLISH_BY_CURRENCY = {"GBP": "en-gb", "AUD": "en-au", "NZD": "en-nz", "EUR": "en-ie"}


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value} is not an IANA time zone such as Europe/London.")


class Partner(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200, blank=True, help_text="Shown to SMB users in the portal.")
    logo_url = models.CharField(
        max_length=500, blank=True, help_text="Absolute URL or a path under /static/ for the portal header."
    )
    primary_colour = models.CharField(
        max_length=7,
        default="#1d4ed8",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a hex colour such as #1d4ed8.")],
    )
    support_email = models.EmailField(blank=True)
    return_url = models.URLField(
        max_length=1000, blank=True,
        help_text="Where the SMB user goes back to when they finish or cancel: a template that may use Codat's "
                  "{companyId}, {connectionId}, {statusCode} (200 done, 403 cancelled, 500 error), {errorMessage} "
                  "and any {name} passed as ?name=value on the linkUrl.")
    redirect_hosts = models.CharField(
        max_length=500, blank=True,
        help_text="Hosts the redirect may lead to, comma-separated (blank: the return URL's own host only).")
    start_url = models.URLField(
        max_length=1000, blank=True,
        help_text="The partner's own sign-in page, for users who start at Xero's \"Add bank account\": they sign "
                  "in there and come back through a linkUrl.")
    default_language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    currency = models.CharField(
        max_length=3, blank=True,
        help_text="The partner's home currency (ISO 4217): the portal's English date format follows it "
                  "(GBP: en-GB, AUD: en-AU; blank: en-US).")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone],
                                 help_text="The portal shows dates and times in this IANA time zone.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:100] or uuid.uuid4().hex[:12]
        super().save(*args, **kwargs)

    @property
    def brand_name(self):
        return self.display_name or self.name

    @property
    def english_variant(self) -> str:
        """The English the portal speaks to this partner's customers, for its date formats."""
        return ENGLISH_BY_CURRENCY.get(self.currency.upper(), "en")

    @property
    def xero_start_url(self) -> str:
        """The page to register with Xero as this partner's start URL (Xero's "Add bank
        account" sends users there; it sends them on to start_url)."""
        return page_url("start", self.slug)

    def redirect_for(self, *, company_id, connection_id=None, status_code: int, error_message: str = "",
                     custom: dict | None = None) -> str:
        """The return URL with Codat's reserved parameters and the linkUrl's custom ones filled in
        (each URL-encoded), or "" when there is none or it would lead to a host not allowed."""
        if not self.return_url:
            return ""
        values = {**(custom or {}), "companyId": company_id, "connectionId": connection_id or "",
                  "statusCode": status_code, "errorMessage": error_message}
        url = _PLACEHOLDER.sub(lambda m: quote(str(values.get(m.group(1), "")), safe=""), self.return_url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or (parts.hostname or "") not in self.allowed_redirect_hosts():
            return ""
        return url

    def allowed_redirect_hosts(self) -> set[str]:
        hosts = {h.strip().lower() for h in self.redirect_hosts.split(",") if h.strip()}
        if not hosts and "{" not in urlsplit(self.return_url).netloc:
            hosts = {(urlsplit(self.return_url).hostname or "").lower()}
        return hosts

    # DRF treats request.user as "who is calling"; a partner always is.
    is_authenticated = True


def hash_api_key(raw_key: str) -> str:
    """API keys are 256-bit random strings, so a plain SHA-256 is a safe one-way hash
    (no need for a slow password hash) and allows an indexed lookup."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class PartnerApiKeyQuerySet(models.QuerySet):
    def authenticate(self, raw_key: str):
        """The active key matching raw_key, with its partner, or None. One written-out query
        (apps/core/rows.py): every API request makes it."""
        db = connections[self.db]
        with rows.cursor(db.alias) as cursor:
            cursor.execute(_key_sql(), [hash_api_key(raw_key)])
            row = cursor.fetchone()
        if row is None:
            return None
        key = key_with_partner(db.alias, row)
        key.touch()
        return key


def key_with_partner(using: str, values) -> "PartnerApiKey":
    """The key, with its partner, from the values of `columns(PartnerApiKey, …)` followed
    by `columns(Partner, …)` (the written-out read of an API key)."""
    n = width(PartnerApiKey)
    key = instance(PartnerApiKey, using, values[:n])
    key.partner = instance(Partner, using, values[n:n + width(Partner)])
    return key


# Which key a request's key is, and when it counts: the written-out reads of a key (here,
# and with a connection in apps/xero_auth/selectors.py) share these. The one parameter is
# hash_api_key of the raw key.
KEY_WITH_PARTNER_FROM = "FROM tenants_partnerapikey k JOIN tenants_partner p ON p.id = k.partner_id"
ACTIVE_KEY_WHERE = "k.hashed_key = %s AND k.revoked_at IS NULL"


@cache
def _key_sql() -> str:
    return (f"SELECT {columns(PartnerApiKey, 'k')}, {columns(Partner, 'p')} "  # noqa: S608 - columns from _meta
            f"{KEY_WITH_PARTNER_FROM} WHERE {ACTIVE_KEY_WHERE}")


class PartnerApiKey(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, editable=False, help_text="Visible start of the key, to tell keys apart.")
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = PartnerApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @classmethod
    def issue(cls, partner: Partner, name: str = "default") -> tuple["PartnerApiKey", str]:
        """Create a key and return it with the raw key, which is never stored and so
        can be shown only this once."""
        raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(partner=partner, name=name, prefix=raw[:12], hashed_key=hash_api_key(raw))
        return key, raw

    @property
    def is_active(self):
        return self.revoked_at is None

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def touch(self):
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > LAST_USED_RESOLUTION:
            PartnerApiKey.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class Company(models.Model):
    """An SMB customer of a partner: one Xero organisation once connected."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="companies")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, null=True)
    tags = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    created_by_user_name = models.CharField(max_length=200, blank=True, null=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="CompanyMembership", related_name="companies", blank=True
    )

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "companies"
        # A partner's page of companies in the list's order, without sorting all of them.
        # On PostgreSQL a trigram index on UPPER(name) (migration 0004) also serves the
        # list's `name~…` and `name=…` queries.
        indexes = [models.Index(fields=["partner", "-created", "id"], name="company_partner_recent_idx")]

    def __str__(self):
        return self.name

    @property
    def redirect(self) -> str:
        """The company's stable portal address, Codat's `redirect`."""
        return page_url("company", self.id)


class CompanyMembership(models.Model):
    """A portal user who may manage a company's feeds."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "company"], name="unique_company_member")]

    def __str__(self):
        return f"{self.user} → {self.company}"


class AuditEvent(models.Model):
    """Who or what changed a company's connection, feed or source account, and when."""

    class ActorKind(models.TextChoices):
        PARTNER = "partner", _("Partner API key")
        PORTAL_USER = "portal_user", _("Portal user")
        STAFF = "staff", _("Staff")
        XERO = "xero", "Xero"
        SYSTEM = "system", _("System")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="audit_events")
    subject = models.CharField(max_length=32, help_text="connection, feed or source account")
    subject_id = models.CharField(max_length=255)
    action = models.CharField(max_length=64)
    detail = models.TextField(blank=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"{self.created:%Y-%m-%d %H:%M} {self.actor}: {self.subject} {self.subject_id} {self.action}"

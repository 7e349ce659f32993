"""factory-boy factories, one per model of ours. They make rows directly (no Xero): a
connection from XeroConnectionFactory is Linked to a made-up tenant, so it suits tests
that never reach Xero; tests that call the sandbox link one through tests.xero_helpers."""

import uuid
from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from apps.api.models import IdempotencyRecord
from apps.feeds.models import BankTransaction, FeedConnection, FeedStatus, PushOperation, PushStatus, SourceAccount
from apps.tenants.models import AuditEvent, Company, CompanyMembership, Partner, PartnerApiKey, hash_api_key
from apps.xero_auth.models import ConnectionStatus, XeroConnection


class PartnerFactory(DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner Bank {n}")
    slug = factory.Sequence(lambda n: f"partner-bank-{n}")
    display_name = factory.LazyAttribute(lambda o: o.name)
    support_email = "support@partner.example"
    return_url = "https://app.partner.example/done"


class PartnerApiKeyFactory(DjangoModelFactory):
    """A key whose raw value is `raw` (not stored), e.g. PartnerApiKeyFactory(raw="bfk_x")."""

    class Meta:
        model = PartnerApiKey
        exclude = ["raw"]

    partner = factory.SubFactory(PartnerFactory)
    raw = factory.Sequence(lambda n: f"bfk_test-key-{n:06d}")
    prefix = factory.LazyAttribute(lambda o: o.raw[:12])
    hashed_key = factory.LazyAttribute(lambda o: hash_api_key(o.raw))


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = Company

    partner = factory.SubFactory(PartnerFactory)
    name = factory.Faker("company")
    description = ""


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@smb.example")
    password = factory.django.Password("correct horse battery")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = CompanyMembership

    user = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory)


class AuditEventFactory(DjangoModelFactory):
    class Meta:
        model = AuditEvent

    company = factory.SubFactory(CompanyFactory)
    subject = "connection"
    subject_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    action = "linked"
    actor_kind = AuditEvent.ActorKind.SYSTEM
    actor = "system"


class IdempotencyRecordFactory(DjangoModelFactory):
    class Meta:
        model = IdempotencyRecord

    caller = factory.LazyFunction(lambda: str(PartnerFactory().pk))
    key = factory.Sequence(lambda n: f"key-{n}")
    fingerprint = factory.LazyFunction(lambda: uuid.uuid4().hex * 2)


class XeroConnectionFactory(DjangoModelFactory):
    """A connection Linked to a made-up organisation, with tokens that never reach Xero."""

    class Meta:
        model = XeroConnection

    company = factory.SubFactory(CompanyFactory)
    status = ConnectionStatus.LINKED
    tenant_id = factory.LazyFunction(uuid.uuid4)
    tenant_name = "Made-up Organisation"
    access_token = "unused"
    refresh_token = "unused"
    access_token_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=30))
    link_nonce = factory.LazyFunction(lambda: uuid.uuid4().hex)
    link_issued_at = factory.LazyFunction(timezone.now)


class SourceAccountFactory(DjangoModelFactory):
    class Meta:
        model = SourceAccount

    connection = factory.SubFactory(XeroConnectionFactory)
    account_id = factory.Sequence(lambda n: f"acc-{n}")
    account_name = "Business Current"
    account_type = "checking"
    account_number = factory.Sequence(lambda n: f"{n:08d}")
    sort_code = "40-00-00"
    currency = "GBP"
    balance = Decimal("1000.00")


class FeedConnectionFactory(DjangoModelFactory):
    """A connected feed (its Xero id made up)."""

    class Meta:
        model = FeedConnection

    source_account = factory.SubFactory(SourceAccountFactory, status="connected")
    xero_feed_connection_id = factory.LazyFunction(uuid.uuid4)
    account_token = factory.LazyFunction(lambda: uuid.uuid4().hex[:20])
    status = FeedStatus.CONNECTED


class PushOperationFactory(DjangoModelFactory):
    """A push refused before it reached Xero, unless told otherwise."""

    class Meta:
        model = PushOperation

    source_account = factory.SubFactory(SourceAccountFactory)
    connection = factory.SelfAttribute("source_account.connection")
    company = factory.SelfAttribute("connection.company")
    account_id = factory.SelfAttribute("source_account.account_id")
    status = PushStatus.FAILED
    status_code = 400


class BankTransactionFactory(DjangoModelFactory):
    class Meta:
        model = BankTransaction

    push_operation = factory.SubFactory(PushOperationFactory)
    source_account = factory.SelfAttribute("push_operation.source_account")
    transaction_id = factory.Sequence(lambda n: f"t{n}")
    date = factory.LazyFunction(timezone.now)
    amount = Decimal("-1.25")
    balance = Decimal("998.75")

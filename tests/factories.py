import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from apps.tenants.models import Company, CompanyMembership, Partner


class PartnerFactory(DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner Bank {n}")
    slug = factory.Sequence(lambda n: f"partner-bank-{n}")
    display_name = factory.LazyAttribute(lambda o: o.name)
    support_email = "support@partner.example"
    return_url = "https://app.partner.example/done"


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

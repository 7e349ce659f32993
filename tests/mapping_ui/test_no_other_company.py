"""No page or message shown to one company's user names another company, not even the one
that already uses the Xero organisation they chose."""

import pytest
from django.urls import reverse

from apps.xero_auth import connections
from tests.factories import CompanyFactory
from tests.mapping_ui.conftest import UK_TENANT, path_of
from tests.mapping_ui.test_wizard import mapping_post
from tests.xero_helpers import AU, link, tenant_id

pytestmark = pytest.mark.django_db
NEIGHBOUR = "Neighbourly Bakes Ltd"


def test_a_users_journey_never_names_another_company(sandbox, visitor, company, connection, source_accounts,
                                                      other_company):
    neighbour = CompanyFactory(partner=company.partner, name=NEIGHBOUR)
    link(connections.connection_create(company=neighbour))  # takes the UK organisation
    seen = []

    def get(url, **kwargs):
        response = visitor.get(url, follow=True, **kwargs)
        seen.append(response.content.decode())
        return response

    get(reverse("portal:company", args=[company.pk]))
    start = visitor.post(reverse("portal:xero_connect", args=[company.pk]))
    consent = visitor.get(path_of(start["Location"]) + f"&sandbox_approve={UK_TENANT}"
                          f"&sandbox_approve={tenant_id(AU)}")
    get(path_of(consent["Location"]))  # the pick page: UK marked as in use
    refused = visitor.post(reverse("portal:xero_pick", args=[company.pk]), {"tenant": UK_TENANT}, follow=True)
    seen.append(refused.content.decode())
    visitor.post(reverse("portal:xero_pick", args=[company.pk]), {"tenant": tenant_id(AU)})
    get(reverse("portal:mapping", args=[company.pk]))
    connection.refresh_from_db()
    posted = visitor.post(reverse("portal:mapping", args=[company.pk]), mapping_post(connection, current="new",
                                                                                      savings="skip"), follow=True)
    seen.append(posted.content.decode())
    visitor.post(reverse("portal:mapping_run", args=[company.pk]))
    for name in ("mapping_done", "manage", "company"):
        get(reverse(f"portal:{name}", args=[company.pk]))
    get(reverse("portal:home"))
    get(reverse("account_login"))
    get(reverse("portal:start", args=[company.partner.slug]))

    for page in seen:
        assert NEIGHBOUR not in page
        assert other_company.name not in page
    assert any("already connected to another company" in page for page in seen)

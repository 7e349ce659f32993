"""Back to the partner with the result: the partner's return URL is a template with Codat's
reserved parameters and the linkUrl's own ?key=value pairs, allowed only to the partner's
hosts; and a start page for users who begin at Xero's "Add bank account"."""

import pytest
from django.urls import reverse

from tests.factories import PartnerFactory
from tests.mapping_ui.conftest import path_of

pytestmark = pytest.mark.django_db
TEMPLATE = ("https://app.partner.example/back?c={companyId}&cc={connectionId}&s={statusCode}&e={errorMessage}"
            "&ref={customerRef}")


def test_the_template_fills_codats_parameters_url_encoded():
    partner = PartnerFactory.build(return_url=TEMPLATE)

    url = partner.redirect_for(company_id="c-1", connection_id="cc-1", status_code=500,
                               error_message="Xero said no & more", custom={"customerRef": "A/B 7"})

    assert url == "https://app.partner.example/back?c=c-1&cc=cc-1&s=500&e=Xero%20said%20no%20%26%20more&ref=A%2FB%207"


@pytest.mark.parametrize(("template", "hosts", "allowed"), [
    ("https://app.partner.example/done", "", True),  # its own host
    ("https://{host}/done", "", False),  # a host filled in by the linkUrl: never without a list
    ("https://{host}/done", "app.partner.example", True),
    ("https://evil.example/done", "app.partner.example", False),
    ("javascript:alert(1)//app.partner.example", "", False),
])
def test_the_redirect_leads_only_to_the_partners_hosts(template, hosts, allowed):
    partner = PartnerFactory.build(return_url=template, redirect_hosts=hosts)

    url = partner.redirect_for(company_id="c", status_code=200, custom={"host": "app.partner.example"})

    assert bool(url) is allowed


def test_finishing_carries_the_link_parameters_and_the_status(linked, visitor, company, connection):
    company.partner.return_url = TEMPLATE
    company.partner.save()
    visitor.get(path_of(connection.link_url()) + "?customerRef=cust-42")
    from tests.mapping_ui.test_wizard import mapping_post

    visitor.post(reverse("portal:mapping", args=[company.pk]), mapping_post(linked))
    visitor.post(reverse("portal:mapping_run", args=[company.pk]))
    done = visitor.get(reverse("portal:mapping_done", args=[company.pk])).content.decode()

    assert (f"https://app.partner.example/back?c={company.pk}&amp;cc={connection.pk}&amp;s=200&amp;e="
            f"&amp;ref=cust-42") in done


def test_leaving_before_connecting_says_cancelled(visitor, company, connection):
    company.partner.return_url = "https://app.partner.example/back?s={statusCode}&ref={customerRef}"
    company.partner.save()

    html = visitor.get(reverse("portal:company", args=[company.pk])).content.decode()

    assert "https://app.partner.example/back?s=403&amp;ref=" in html


def test_cancelling_at_xero_says_403_with_the_reason(sandbox, visitor, company, connection):
    company.partner.return_url = "https://app.partner.example/back?s={statusCode}&e={errorMessage}"
    company.partner.save()
    response = visitor.post(reverse("portal:xero_connect", args=[company.pk]))
    state = response["Location"].split("state=", 1)[1].split("&", 1)[0]

    visitor.get(reverse("portal:xero_callback"), {"state": state, "error": "access_denied"})
    html = visitor.get(reverse("portal:company", args=[company.pk])).content.decode()

    assert "https://app.partner.example/back?s=403&amp;e=Xero%20was%20not%20connected%3A%20you%20cancelled." in html


def test_the_start_page_sends_users_to_the_partners_sign_in(client, company):
    company.partner.start_url = "https://app.partner.example/sign-in?next=xero"
    company.partner.save()

    html = client.get(reverse("portal:start", args=[company.partner.slug])).content.decode()

    assert 'href="https://app.partner.example/sign-in?next=xero"' in html
    assert "Connect Alpha Business to Xero" in html
    assert "--brand: #0f766e;" in html
    assert company.partner.xero_start_url.endswith(f"/portal/start/{company.partner.slug}/")

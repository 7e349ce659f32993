"""English and French; the browser's language wins where it is en or fr, otherwise the
partner's default."""

import pytest
from django.urls import reverse

from tests.mapping_ui.conftest import path_of

pytestmark = pytest.mark.django_db


def test_french_with_accept_language_fr(visitor, company):
    html = visitor.get(reverse("portal:company", args=[company.pk]), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content
    html = html.decode()
    assert '<html lang="fr">' in html
    assert "Se connecter à Xero" in html
    assert "Connect to Xero" not in html


def test_english_by_default(visitor, company):
    html = visitor.get(reverse("portal:company", args=[company.pk]), HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert '<html lang="en">' in html
    assert "Connect to Xero" in html


def test_the_partner_default_applies_when_the_browser_asks_for_neither(visitor, company):
    company.partner.default_language = "fr"
    company.partner.save()
    html = visitor.get(reverse("portal:company", args=[company.pk]), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content
    assert '<html lang="fr">' in html.decode()


def test_the_browser_wins_over_the_partner_default(visitor, company):
    company.partner.default_language = "fr"
    company.partner.save()
    html = visitor.get(reverse("portal:company", args=[company.pk]), HTTP_ACCEPT_LANGUAGE="de;q=1,en;q=0.5").content
    assert '<html lang="en">' in html.decode()


def test_an_english_partner_keeps_english_for_other_browsers(visitor, company):
    html = visitor.get(reverse("portal:company", args=[company.pk]), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="en">' in html


def test_the_used_link_page_follows_the_partner_default(client, connection, company):
    company.partner.default_language = "fr"
    company.partner.save()
    url = path_of(connection.link_url())
    client.get(url, HTTP_ACCEPT_LANGUAGE="de")
    client.post(reverse("portal:xero_connect", args=[company.pk]))  # the first step uses the link up
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 410
    assert "Ce lien ne peut plus être utilisé" in response.content.decode()


def test_the_sign_in_page_is_translated(client):
    html = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Se connecter" in html
    assert "Mot de passe oublié ?" in html


def test_french_plurals(visitor, company, connection, source_accounts):
    connection.status = "Linked"
    connection.save()
    html = visitor.get(reverse("portal:company", args=[company.pk]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "2 comptes ne sont pas encore connectés à Xero." in html


def test_recent_changes_are_sentences_in_french(visitor, company, connection, source_accounts):
    from apps.tenants.models import AuditEvent

    AuditEvent.objects.create(company=company, subject="source account", subject_id="acc-current",
                              action="feed connected", actor_kind="partner", actor="key")
    html = visitor.get(reverse("portal:manage", args=[company.pk]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Acme Current envoie désormais ses transactions à Xero" in html
    assert "Clé d&#x27;API du partenaire" in html


def test_xeros_english_words_stay_out_of_french_pages():
    from django.utils import translation

    from apps.mapping_ui.messages import failure_sentence
    from apps.xero_auth.client import XeroProblem, XeroRejected

    refusal = XeroRejected("refused", status=400, problems=[XeroProblem(type="invalid-request",
                                                                        detail="The account name is too long")])
    with translation.override("fr"):
        french = failure_sentence(refusal)
    with translation.override("en"):
        english = failure_sentence(refusal)

    assert french == "Xero a refusé la demande."
    assert english == "Xero refused the request. Xero said: “The account name is too long”"

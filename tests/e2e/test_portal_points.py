"""The SMB's day and the ops person's, in Chromium against the live server and its Xero
sandbox: one test per point of the portal's review (consent and organisation choice, the
feed start date, the manage page, the wizard's memory, visible waiting, what Xero would
refuse, sign-in, focus and locale, the way back to the partner, the admin timeline)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from apps.feeds.models import SourceAccount
from apps.mapping_ui.forms import NEW_ACCOUNT, SKIP, form_prefix
from apps.tenants.models import PartnerApiKey
from apps.xero_auth import connections
from tests.conftest import PartnerClient
from tests.e2e.portal_support import AU_TENANT, NARROW, UK_TENANT, coffee_company, demo_partner, new_page, shot
from tests.factories import CompanyFactory, MembershipFactory
from tests.feeds.push_support import add_fault, batch, push_url
from tests.xero_helpers import AU, link, sandbox_ready

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CURRENT, SAVINGS, CARD = form_prefix("acc-current"), form_prefix("acc-savings"), form_prefix("acc-card")
NEIGHBOUR = "Neighbourly Bakes"


@pytest.fixture
def coffee(xero_on_live_server):
    sandbox_ready(xero_on_live_server)
    partner = demo_partner(xero_on_live_server)
    return coffee_company(partner)


@pytest.fixture
def linked(coffee):
    company, connection = coffee
    return company, link(connection)


def the_partner(company) -> PartnerClient:
    _, raw = PartnerApiKey.issue(company.partner)
    return PartnerClient(company.partner, raw)


def consent(page, *tenants):
    """On the sandbox's consent page: tick these organisations, allow."""
    page.get_by_role("button", name="Allow access").wait_for()
    for box in page.locator("input[name=tenant]").all():
        box.set_checked(box.get_attribute("value") in tenants)
    page.get_by_role("button", name="Allow access").click()


def open_mapping(page, connection, query=""):
    page.goto(connection.link_url() + query)
    page.goto(page.url.rstrip("/") + "/mapping/")
    page.get_by_role("heading", name="Map your accounts").wait_for()


def choose(page, prefix, *, value=None, label=None, start=None):
    if label is not None:
        page.select_option(f"#id_{prefix}-target", label=label)
    else:
        page.select_option(f"#id_{prefix}-target", value=value)
    if start is not None:
        page.fill(f"#id_{prefix}-feed_start_date", start.isoformat())


def selected(page, prefix):
    target, start = page.locator(f"#id_{prefix}-target"), page.locator(f"#id_{prefix}-feed_start_date")
    return target.input_value(), start.input_value()


# 1. Consent and organisation choice ------------------------------------------------------------


def test_1_the_pick_page_marks_an_organisation_in_use_without_naming_its_company(browser, coffee):
    company, connection = coffee
    link(connections.connection_create(company=CompanyFactory(partner=company.partner, name=NEIGHBOUR)), tenant=AU)
    page = new_page(browser)
    page.goto(connection.link_url())
    page.get_by_role("button", name="Connect to Xero").click()

    page.get_by_role("button", name="Allow access").wait_for()
    assert page.locator("input[name=tenant]:checked").count() == 0  # Xero's page ticks nothing
    consent(page, UK_TENANT, AU_TENANT)

    page.get_by_role("heading", name="Choose your Xero organisation").wait_for()
    text = page.locator("main").inner_text()
    assert NEIGHBOUR not in page.content()
    assert "Base currency GBP" in text and "Base currency AUD" in text
    assert page.locator(f"input[value='{AU_TENANT}']").is_disabled()
    assert "already connected to another company's bank feeds" in text
    assert "support@demo-bank.example" in text  # the way forward
    expect(page.get_by_role("button", name="Choose in Xero again")).to_be_visible()
    shot(page, "13-pick-organisation")

    page.get_by_label("Demo Company (UK)").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Map your accounts").wait_for()
    assert "Connected to Demo Company (UK) in Xero." in page.locator("main").inner_text()
    page.context.close()


# 2. The feed start date is a promise -----------------------------------------------------------


def test_2_lines_before_the_feed_start_date_never_reach_xero(browser, live_server, linked):
    company, connection = linked
    page = new_page(browser)
    open_mapping(page, connection)
    start = timezone.localdate() - timedelta(days=10)
    choose(page, CURRENT, value=NEW_ACCOUNT, start=start)
    choose(page, SAVINGS, value=SKIP)
    choose(page, CARD, value=SKIP)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Connect 1 account").click()
    page.wait_for_function("document.querySelectorAll('[data-outcome=connected]').length === 1")

    early = batch(1, days_ago=20, opening=Decimal("4210.55"))
    later = batch(2, first_id=2, days_ago=2, opening=Decimal(early[0]["balance"]).quantize(Decimal("0.01")))
    account = SourceAccount.objects.get(connection=connection, account_id="acc-current")
    answer = the_partner(company).post(push_url(account), {"accountId": "acc-current", "transactions": early + later},
                                       format="json").json()
    assert [w["itemId"] for w in answer["validation"]["warnings"]] == ["t1"]

    page.goto(f"{live_server.url}/portal/companies/{company.pk}/feeds/")
    row = page.locator(f"#feed-{account.pk}")
    expect(row).to_contain_text("1 transaction dated before this feed's start date was not sent to Xero.")
    page.goto(f"{live_server.url}/xero-sandbox/organisations/{UK_TENANT}/")
    delivered = page.locator("section", has=page.locator("h2", has_text="Coffee Current")).inner_text()
    assert "Card payment 2" in delivered and "Card payment 3" in delivered
    assert "Card payment 1" not in delivered
    page.context.close()


# 3. The manage page tells the truth -------------------------------------------------------------


def test_3_the_manage_page_shows_the_last_delivery_the_last_failure_and_no_connected_after_revoke(
        browser, live_server, linked):
    company, connection = linked
    partner = the_partner(company)
    page = new_page(browser)
    open_mapping(page, connection)
    choose(page, CURRENT, value=NEW_ACCOUNT)
    choose(page, SAVINGS, label="Business Savings Account (20-00-00 87654321)")
    choose(page, CARD, value=SKIP)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Connect 2 accounts").click()
    page.wait_for_function("document.querySelectorAll('[data-outcome=connected]').length === 2")
    account = SourceAccount.objects.get(connection=connection, account_id="acc-current")
    url = push_url(account)
    # Dated today: the feeds start today, the portal's default.
    partner.post(url, {"accountId": "acc-current", "transactions": batch(2, days_ago=0, opening=Decimal("4210.55"))},
                 format="json")
    backwards = batch(2, first_id=3, days_ago=0, opening=Decimal("4208.05"))
    backwards.reverse()  # not in date order: our rules refuse it before Xero
    assert partner.post(url, {"accountId": "acc-current", "transactions": backwards},
                        format="json").status_code == 400

    page.goto(f"{live_server.url}/portal/companies/{company.pk}/feeds/")
    row = page.locator(f"#feed-{account.pk}")
    expect(row.locator(".status.Pending, .status.Success")).to_have_count(1)  # the last statement Xero took
    expect(row).to_contain_text("Last attempt failed")
    expect(row).to_contain_text("refused before reaching Xero")
    changes = page.locator("table.changes").inner_text()
    assert "Coffee Current now sends its transactions to Xero" in changes
    assert "acc-current" not in changes and str(connection.pk) not in changes
    shot(page, "14-manage-last-failure")

    connections_url = f"/api/companies/{company.pk}/connections/{connection.pk}"
    assert partner.patch(connections_url, {"status": "Unlinked"}, format="json").status_code == 200
    page.reload()
    expect(page.locator("td .status.connected")).to_have_count(0)
    expect(page.locator("td .status.paused")).to_have_count(2)
    expect(page.get_by_role("heading", name="Xero is disconnected")).to_be_visible()
    page.context.close()


# 4. The wizard keeps what the user chose ------------------------------------------------------


def test_4_change_back_and_reload_keep_every_choice_and_the_done_page_finishes(browser, linked):
    company, connection = linked
    page = new_page(browser)
    open_mapping(page, connection)
    start = timezone.localdate() - timedelta(days=14)
    choose(page, CURRENT, value=NEW_ACCOUNT, start=start)
    choose(page, SAVINGS, label="Business Savings Account (20-00-00 87654321)")
    choose(page, CARD, value=SKIP)
    savings_choice = page.locator(f"#id_{SAVINGS}-target").input_value()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Check and confirm").wait_for()
    assert "Coffee Card" in page.locator("main").inner_text()  # named as left out

    expected = {CURRENT: (NEW_ACCOUNT, start.isoformat()), SAVINGS: savings_choice, CARD: SKIP}

    def kept():
        page.get_by_role("heading", name="Map your accounts").wait_for()
        assert selected(page, CURRENT) == expected[CURRENT]
        assert selected(page, SAVINGS)[0] == expected[SAVINGS]
        assert selected(page, CARD)[0] == expected[CARD]

    page.get_by_role("link", name="Change").click()
    kept()
    page.go_back()
    page.get_by_role("heading", name="Check and confirm").wait_for()
    page.go_back()
    kept()
    page.reload()
    kept()

    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Connect 2 accounts").click()
    expect(page.get_by_role("heading", name="Your accounts in Xero")).to_be_visible()
    assert "Connecting…" not in page.locator("main").inner_text()
    expect(page.locator("#skipped-heading + ul")).to_contain_text("Coffee Card")

    # A disconnected feed, mapped again, offers its old Xero account first.
    page.get_by_role("link", name="Manage bank feeds").click()
    page.get_by_role("link", name="Disconnect Coffee Reserve").click()
    page.get_by_role("button", name="Yes, disconnect").click()
    page.locator("td .status.disconnected").wait_for()
    page.get_by_role("link", name="Map Coffee Reserve").click()
    page.get_by_role("heading", name="Map your accounts").wait_for()
    assert page.locator(f"#id_{SAVINGS}-target").input_value() == savings_choice
    page.context.close()


# 5. Waiting is visible, and a failing Xero leaves the user where they were -----------------------


def test_5_a_slow_then_failing_xero_shows_progress_and_a_french_sentence(browser, live_server, linked, settings):
    company, connection = linked
    page = new_page(browser, locale="fr-FR")
    page.goto(connection.link_url())
    page.goto(page.url.rstrip("/") + "/mapping/")
    page.get_by_role("heading", name="Associez vos comptes").wait_for()
    choose(page, CURRENT, value=NEW_ACCOUNT)
    choose(page, SAVINGS, value=SKIP)
    choose(page, CARD, value=SKIP)
    settings.XERO_TIMEOUT_SECONDS = 2
    add_fault(live_server.url, operation="api.xro/2.0/Accounts", method="GET", mode="hang", seconds=4)

    button = page.locator("form[hx-post] button[type=submit]")
    button.click()
    expect(button).to_be_disabled()
    expect(page.locator("form[hx-post]")).to_have_attribute("aria-busy", "true")
    shot(page, "15-waiting-for-xero")
    expect(page.locator("#flash")).to_contain_text("Xero ne répond pas pour le moment.")

    assert page.url.endswith("/mapping/")  # still here, every choice kept
    assert selected(page, CURRENT)[0] == NEW_ACCOUNT
    expect(button).to_be_enabled()
    assert "not answering" not in page.content()
    page.context.close()


# 6. Don't offer what Xero will refuse; Back after consent -------------------------------------------


def test_6_no_new_account_in_a_currency_the_organisation_cannot_hold(browser, coffee):
    company, connection = coffee
    link(connection, tenant=AU)
    page = new_page(browser)
    open_mapping(page, connection)

    options = page.locator(f"#id_{CURRENT}-target option").all_inner_texts()
    assert "Create a new account in Xero" not in options
    expect(page.locator(f"#id_{CURRENT}-target_helptext")).to_contain_text("can't hold GBP accounts")
    page.context.close()


def test_6_back_after_consent_is_not_a_false_sign_in_expired(browser, coffee):
    company, connection = coffee
    page = new_page(browser)
    page.goto(connection.link_url())
    page.get_by_role("button", name="Connect to Xero").click()
    consent(page, UK_TENANT)
    page.get_by_role("heading", name="Map your accounts").wait_for()

    page.go_back()  # Xero's consent page again
    consent(page, UK_TENANT)

    page.get_by_role("heading", name="Demo Coffee Roasters").wait_for()
    text = page.locator("main").inner_text()
    assert "expired" not in text
    assert "Connected" in text
    page.context.close()


# 7. Sign-in that works -----------------------------------------------------------------------------


def test_7_sign_in_password_reset_save_and_sign_out_and_a_scanned_link(browser, live_server, coffee):
    company, connection = coffee
    member = MembershipFactory(company=CompanyFactory(partner=company.partner, name="Other Shop")).user
    page = new_page(browser)

    page.goto(f"{live_server.url}/portal/companies/{company.pk}/")  # no session: to sign in, not a 404
    page.get_by_role("heading", name="Sign in").wait_for()
    assert "/portal/accounts/login/?next=" in page.url
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.locator("section.card.auth h1")).to_have_text("Password Reset")
    page.get_by_label("Email").fill(member.email)
    page.get_by_role("button", name="Reset My Password").click()
    page.locator("section.card.auth").wait_for()
    shot(page, "16-password-reset-sent")
    assert [m.to for m in mail.outbox] == [[member.email]]

    url = connection.link_url()
    assert requests.get(url, timeout=10, allow_redirects=False).status_code == 302  # an e-mail scanner's GET
    page.goto(url)
    page.get_by_role("heading", name="Demo Coffee Roasters").wait_for()
    page.get_by_label("Email").fill("owner@coffee.example")
    page.get_by_label("Password", exact=True).fill("a long passphrase 42")
    page.get_by_label("Password (again)").fill("a long passphrase 42")
    page.get_by_role("button", name="Save my sign-in").click()
    expect(page.locator("header")).to_contain_text("owner@coffee.example")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert get_user_model().objects.filter(email="owner@coffee.example").exists()
    page.context.close()


# 8. Focus after swaps, locale, masked cards, the language switcher ----------------------------------


def test_8_focus_lands_sensibly_dates_are_british_cards_masked_and_french_is_one_click_away(browser, live_server,
                                                                                            linked):
    company, connection = linked
    page = new_page(browser, viewport=NARROW)
    open_mapping(page, connection)
    assert "•••• 4417" in page.locator("main").inner_text()
    assert "4921000000004417" not in page.content()
    choose(page, CURRENT, value=NEW_ACCOUNT, start=timezone.localdate() + timedelta(days=3))
    page.get_by_role("button", name="Continue").click()
    page.locator(f"#id_{CURRENT}-feed_start_date_error").wait_for()
    expect(page.locator("main h1")).to_be_focused()  # the swapped page's heading

    choose(page, CURRENT, value=NEW_ACCOUNT, start=timezone.localdate())
    choose(page, SAVINGS, value=SKIP)
    choose(page, CARD, value=SKIP)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Connect 1 account").click()
    page.wait_for_function("document.querySelectorAll('[data-outcome=connected]').length === 1")
    account = SourceAccount.objects.get(connection=connection, account_id="acc-current")
    the_partner(company).post(push_url(account), {"accountId": "acc-current", "transactions": batch(
        2, days_ago=0, opening=Decimal("4210.55"))}, format="json")

    page.get_by_role("link", name="Manage bank feeds").click()
    row = page.locator(f"#feed-{account.pk}")
    expect(row.locator("time")).to_have_text(re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, "))  # en-GB: 1 Dec 2026, …

    row.get_by_role("link", name="Disconnect Coffee Current").click()
    expect(page.get_by_role("button", name="Yes, disconnect")).to_be_focused()
    page.get_by_role("link", name="Keep it").click()
    expect(page.locator(f"#feed-{account.pk} [data-focus]")).to_be_focused()

    page.get_by_role("button", name="Français").click()
    page.get_by_role("heading", name="Vos flux bancaires").wait_for()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator(f"#feed-{account.pk} time")).to_have_text(re.compile(r"^\d{1,2} \S+ \d{4} \d{2}:\d{2}"))
    shot(page, "17-manage-french-narrow")
    page.context.close()


# 9. Back to the partner, with the result; the start page -------------------------------------------


def test_9_finishing_returns_to_the_partner_with_codats_parameters(browser, live_server, linked):
    company, connection = linked
    page = new_page(browser)
    open_mapping(page, connection, query="?ref=crm-881")
    choose(page, CURRENT, value=NEW_ACCOUNT)
    choose(page, SAVINGS, value=SKIP)
    choose(page, CARD, value=SKIP)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Connect 1 account").click()
    page.wait_for_function("document.querySelectorAll('[data-outcome=connected]').length === 1")

    back = page.get_by_role("link", name="Back to Demo Bank Business")
    assert back.get_attribute("href") == (f"https://app.demo-bank.example/feeds?company={company.pk}&status=200"
                                          "&ref=crm-881")

    company.partner.start_url = "https://app.demo-bank.example/sign-in?then=xero"
    company.partner.save()
    start = new_page(browser)
    start.goto(company.partner.xero_start_url)
    expect(start.get_by_role("link", name="Sign in to Demo Bank Business")).to_have_attribute(
        "href", "https://app.demo-bank.example/sign-in?then=xero")
    shot(start, "18-start-page")
    start.context.close()
    page.context.close()


# 10. Ops: why didn't it arrive? --------------------------------------------------------------------


def test_10_the_company_admin_page_answers_why_transactions_did_not_arrive(browser, live_server, linked):
    company, connection = linked
    from apps.feeds.mapping import mapping_create

    mapping_create(connection=connection, source_account_id="acc-current", target_account_id=None,
                   feed_start_date=timezone.localdate() - timedelta(days=30))
    account = SourceAccount.objects.get(connection=connection, account_id="acc-current")
    partner = the_partner(company)
    add_fault(live_server.url, operation="bankfeeds.xro/1.0/Statements", method="POST", status=500)
    partner.post(push_url(account), {"accountId": "acc-current", "transactions": batch(3)}, format="json")
    get_user_model().objects.create_superuser("ops", "ops@bank.example", "ops-password-123")

    page = new_page(browser)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "ops-password-123")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/tenants/company/{company.pk}/change/")
    timeline = page.locator(".field-company_timeline")
    expect(timeline).to_contain_text("Xero busy or not answering")
    expect(timeline).to_contain_text("3 line(s)")
    expect(timeline).to_contain_text("feed connected")
    shot(page, "19-admin-company-timeline")
    page.goto(f"{live_server.url}/admin/feeds/pushoperation/?failure=unreachable")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#searchbar + .help, .help").first).to_contain_text("correlation id")
    page.context.close()

"""Staff, in a real browser: sign in to admin, find the failed push, retry it once the
sandbox's fault is cleared, and see it Success — with the lines in Xero exactly once."""

import pytest
import requests
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from apps.feeds.models import PushOperation
from tests.feeds.push_support import add_fault, batch, push_url
from tests.xero_helpers import delivered_lines

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_retries_a_failed_push_from_admin(browser, live_server, partner_a, connected_account):
    add_fault(live_server.url, operation="bankfeeds.xro/1.0/Statements", method="POST", status=500)
    response = partner_a.post(push_url(connected_account), {"accountId": "acc-1", "transactions": batch(4)},
                              format="json")
    assert response.status_code == 503
    failed = PushOperation.objects.get(status="Failed")
    assert requests.delete(f"{live_server.url}/xero-sandbox/_faults", timeout=10).status_code == 200
    get_user_model().objects.create_superuser("ops", "ops@bank.example", "ops-password-123")

    page = browser.new_page()
    try:
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", "ops")
        page.fill("#id_password", "ops-password-123")
        page.click("input[type=submit]")
        page.goto(f"{live_server.url}/admin/feeds/pushoperation/?status__exact=Failed")
        row = page.locator("#result_list tbody tr", has_text=str(failed.push_operation_key))
        assert row.count() == 1
        row.locator("input.action-select").check()
        page.select_option("select[name=action]", "retry")
        page.click("button[name=index]")
        expect(page.locator(".messagelist .success", has_text="Success")).to_have_count(1)
        page.goto(f"{live_server.url}/admin/feeds/pushoperation/?status__exact=Success")
        assert page.locator("#result_list tbody tr", has_text=str(failed.push_operation_key)).count() == 1
    finally:
        page.close()

    failed.refresh_from_db()
    assert failed.status == "Success"
    assert len(delivered_lines(connected_account)) == 4

"""The partner API's docs in a real browser: ReDoc renders our schema, and the page fetches
nothing from anywhere but this server (deployments may have no internet)."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_the_docs_render_from_this_server_only(browser, live_server):
    here = urlsplit(live_server.url).netloc
    page = browser.new_page()
    answered, failed = [], {}
    page.on("response", lambda response: answered.append(response.url))
    page.on("requestfailed", lambda request: failed.update({request.url: request.failure}))
    try:
        page.goto(f"{live_server.url}/api/docs/")
        expect(page.locator("h2", has_text="Push bank transactions")).to_be_visible(timeout=20_000)
        expect(page.locator("h2", has_text="Idempotency-Key")).to_be_visible()
        expect(page.locator("h2", has_text="The push, synchronous")).to_be_visible()
    finally:
        page.close()

    assert f"{live_server.url}/api/schema/" in answered
    assert [url for url in answered if urlsplit(url).netloc != here and url.startswith("http")] == []
    # ReDoc's bundle asks for its logo from a CDN: the page's policy blocks it before it leaves.
    assert {url: why for url, why in failed.items() if urlsplit(url).netloc != here} == {
        "https://cdn.redoc.ly/redoc/logo-mini.svg": "csp"}

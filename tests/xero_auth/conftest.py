"""Fixtures for the Xero connection tests: the sandbox on the live server with the
portal's app registered, a browser (requests.Session) that keeps cookies and fills in
forms, and partner A's company with a PendingAuth connection."""

import html
import re
from urllib.parse import urljoin

import pytest
import requests

from tests.factories import CompanyFactory
from tests.xero_helpers import UK, sandbox_ready

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class Browser:
    """A person's browser: one cookie jar, follows redirects, submits forms with their
    CSRF token exactly as the page gave it."""

    def __init__(self, base):
        self.base = base
        self.http = requests.Session()
        self.page = None

    def get(self, url, **kwargs) -> requests.Response:
        self.page = self.http.get(urljoin(self.base, url), timeout=30, **kwargs)
        return self.page

    def submit(self, action, data, *, fields=(), **kwargs) -> requests.Response:
        """POST a form of the current page: its CSRF token, its hidden `fields`, and `data`."""
        text = self.page.text
        match = CSRF_INPUT.search(text)
        assert match, f"no CSRF token on {self.page.url}"
        form = {"csrfmiddlewaretoken": match.group(1)}
        form.update({name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(text) if name in fields})
        form.update(data)
        self.page = self.http.post(urljoin(self.page.url, action), data=form, timeout=30, **kwargs)
        return self.page

    def text(self) -> str:
        return html.unescape(self.page.text)


@pytest.fixture
def sandbox(xero_on_live_server, settings):
    """The live server's base URL, with the sandbox seeded, the portal's app registered and
    the consent page shown (no auto-approve)."""
    settings.XERO_SANDBOX_AUTO_APPROVE = False
    sandbox_ready(xero_on_live_server)
    return xero_on_live_server


@pytest.fixture
def browser(sandbox):
    return Browser(sandbox)


@pytest.fixture
def company(partner_a):
    return CompanyFactory(partner=partner_a.partner, name="Acme Coffee Ltd")


def connections_url(company_id, connection_id=None, suffix=""):
    url = f"/api/companies/{company_id}/connections"
    if connection_id:
        url += f"/{connection_id}{suffix}"
    return url


__all__ = ["UK", "Browser", "connections_url"]

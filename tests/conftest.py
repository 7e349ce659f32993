"""Shared fixtures: live server URLs wired into the Xero settings, so our own client
talks to the embedded sandbox over real HTTP exactly as it would to Xero."""

import os
import time

import pytest


def pytest_configure(config):
    """Under pytest-xdist each worker takes the Redis database after REDIS_URL's by its number
    (gw0 the next, gw1 the one after): the suite empties its database between tests, and
    locks and limits of one worker's test must not vanish under another's. Set before any
    cache is used and before the test modules read REDIS_URL; servers a test starts inherit it."""
    from urllib.parse import urlsplit

    worker, url = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("REDIS_URL")
    if not worker or not url:
        return
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + 1 + int(worker.removeprefix("gw"))
    ours = parts._replace(path=f"/{database}").geturl()
    os.environ["REDIS_URL"] = ours

    from django.conf import settings

    settings.REDIS_URL = settings.CELERY_BROKER_URL = settings.CACHES["default"]["LOCATION"] = ours


def pytest_collection_modifyitems(items):
    """Tests marked `after_all` (the check of every recorded API answer) run after the
    rest of the session, whose answers they look at. A pytest-xdist worker sees only the
    answers of its own share of the tests: there they are skipped, and `make test` runs
    them on their own afterwards, over the answers every worker saved."""
    last = [item for item in items if item.get_closest_marker("after_all")]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for item in last:
            item.add_marker(pytest.mark.skip(reason="checks every answer of the run; a worker sees only its own "
                                                    "(make test runs it afterwards, over all of them)"))
    items[:] = [item for item in items if not item.get_closest_marker("after_all")] + last


@pytest.fixture(scope="session", autouse=True)
def _record_api_answers():
    """Every /api/ answer of the run is recorded (tests/api_recorder.py); API_RECORD=path
    writes them to a file at the end, API_ANSWERS_DIR=dir to a file of this process's there."""
    from django.conf import settings

    from tests import api_recorder

    settings.MIDDLEWARE = ["tests.api_recorder.RecordingMiddleware", *settings.MIDDLEWARE]
    yield
    if os.environ.get("API_RECORD"):
        api_recorder.dump(os.environ["API_RECORD"])
    api_recorder.save_to_answers_dir()


@pytest.fixture
def xero_on_live_server(live_server, settings):
    """Point SITE_URL and every XERO_*_URL at the live server hosting the sandbox."""
    base = live_server.url
    settings.SITE_URL = base
    settings.XERO_LOGIN_URL = f"{base}/xero-sandbox"
    settings.XERO_IDENTITY_URL = f"{base}/xero-sandbox"
    settings.XERO_API_URL = f"{base}/xero-sandbox"
    return base


def basic_auth(raw_key: str) -> str:
    import base64

    return "Basic " + base64.b64encode(raw_key.encode()).decode()


class PartnerClient:
    """A partner calling the API with its key: partner, raw key and a DRF test client."""

    def __init__(self, partner, raw_key):
        from rest_framework.test import APIClient

        self.partner = partner
        self.raw_key = raw_key
        self.auth = basic_auth(raw_key)
        self.http = APIClient(HTTP_AUTHORIZATION=self.auth)

    def __getattr__(self, name):
        return getattr(self.http, name)


@pytest.fixture
def partner_a(db):
    """Partner A: the owner in most tests."""
    from apps.tenants.models import PartnerApiKey
    from tests.factories import PartnerFactory

    partner = PartnerFactory(name="Alpha Bank", slug="alpha")
    _, raw = PartnerApiKey.issue(partner)
    return PartnerClient(partner, raw)


@pytest.fixture
def partner_b(db):
    """Partner B: an outsider who should have no access to A's objects."""
    from apps.tenants.models import PartnerApiKey
    from tests.factories import PartnerFactory

    partner = PartnerFactory(name="Beta Fintech", slug="beta")
    _, raw = PartnerApiKey.issue(partner)
    return PartnerClient(partner, raw)


@pytest.fixture(autouse=True)
def _clear_cache():
    """The cache may be Redis shared across tests: start each test from empty."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def codat_sdk(live_server, partner_a):
    """Codat's official SDK pointed at this server as partner A, with its retries off."""
    from codat_bankfeeds import CodatBankFeeds
    from codat_bankfeeds.models import shared
    from codat_bankfeeds.utils import RetryConfig

    with CodatBankFeeds(
        security=shared.Security(auth_header=partner_a.auth),
        server_url=f"{live_server.url}/api",
        retry_config=RetryConfig("none", None, False),
        timeout_ms=60_000,
    ) as sdk:
        yield sdk


@pytest.fixture
def linked_connection(xero_on_live_server, partner_a):
    """A company of partner A whose connection is Linked to the sandbox's UK organisation
    through the real OAuth dance over HTTP."""
    from apps.xero_auth import connections
    from tests.factories import CompanyFactory
    from tests.xero_helpers import link, sandbox_ready

    sandbox_ready(xero_on_live_server)
    company = CompanyFactory(partner=partner_a.partner, name="Linked Co")
    connection = connections.connection_create(company=company)
    return link(connection)


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """One test database per pytest process, so test runs on one machine do not drop
    each other's database."""
    import os

    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_{os.getpid()}"


@pytest.fixture
def connected_account(linked_connection):
    """Source account acc-1 (GBP) of the linked connection, with a connected Xero feed."""
    from decimal import Decimal

    from apps.feeds.models import SourceAccount
    from tests.xero_helpers import connect_feed

    account = SourceAccount.objects.create(
        connection=linked_connection, account_id="acc-1", account_name="Business Current", account_type="checking",
        account_number="12345678", sort_code="40-00-00", currency="GBP", balance=Decimal("1000.00"))
    connect_feed(account)
    return account


@pytest.fixture(params=["redis", "locmem"])
def cache_kind(request, settings):
    """The configured Redis cache (as the servers run: Lua scripts, one round trip) and
    LocMemCache (as the demo runs: the cache API): rate limits and locks count through
    different code on each, so both are exercised. Waits out the end of a minute, since
    minute windows are calendar minutes and a test's calls must not straddle two."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    if request.param == "redis" and not isinstance(caches["default"], RedisCache):
        pytest.skip("no Redis cache configured (REDIS_URL)")
    if request.param == "locmem":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    caches["default"].clear()
    left = 60 - time.time() % 60
    if left < 10:
        time.sleep(left)
    return request.param

"""Sign-in limits count per client address, and X-Forwarded-For is believed only as far
as our own proxies wrote it (TRUSTED_PROXY_COUNT, 0 by default): rotating a forged first
value gives no new attempts. Issue #13, point 11."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.security.test_portal import refused

pytestmark = pytest.mark.django_db


def fail_five_times(forwarded_for):
    for attempt in range(5):
        response = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for(attempt)).post(
            reverse("account_login"), {"login": f"guess{attempt}@smb.example", "password": "wrong"})
        assert response.status_code == 200


def sign_in(user, *, forwarded_for):
    return Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for).post(
        reverse("account_login"), {"login": user.email, "password": "correct horse battery"})


def test_a_forged_forwarded_for_gives_no_new_attempts_without_trusted_proxies():
    user = UserFactory()
    fail_five_times(lambda attempt: f"192.0.2.{attempt + 1}")
    assert refused(sign_in(user, forwarded_for="192.0.2.99"))


def test_behind_one_proxy_the_limit_counts_the_address_it_saw(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    user = UserFactory()
    # Our proxy appends the address it saw (203.0.113.9); the attacker forges what comes before.
    fail_five_times(lambda attempt: f"192.0.2.{attempt + 1}, 203.0.113.9")
    assert refused(sign_in(user, forwarded_for="192.0.2.99, 203.0.113.9"))
    # Another client behind the same proxy is not held back by the attacker's failures.
    assert sign_in(user, forwarded_for="198.51.100.7").status_code == 302


def test_trusted_proxy_count_is_zero_by_default():
    from django.conf import settings

    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 0

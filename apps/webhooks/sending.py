"""One delivery attempt: the event's body POSTed to the consumer, signed the Standard
Webhooks way (the `standardwebhooks` package, as Svix and so Codat sign): `webhook-id`
(the event's id, the same on every retry), `webhook-timestamp`, and `webhook-signature`
`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for each live secret.

# Reference: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""

import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from .urlpolicy import UrlRefused, check_url

USER_AGENT = "bankfeeds-webhooks/1"
MAX_ANSWER_BYTES = 64 * 1024
_local = threading.local()


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code, or why there was none."""

    at: object
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _session() -> requests.Session:
    # Per thread (the relay sends from a pool): keep-alive to each receiver.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def signed_headers(*, msg_id: str, body: str, secrets: list[str], moment) -> dict:
    """The Standard Webhooks headers for `body`, signed with every secret in `secrets`."""
    signatures = " ".join(Webhook(secret).sign(msg_id, moment, body) for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signatures, "Content-Type": "application/json", "User-Agent": USER_AGENT}


def attempt(*, url: str, msg_id: str, body: str, secrets: list[str]) -> Outcome:
    """POST once; a 2xx within WEBHOOK_TIMEOUT_SECONDS is delivered, and nothing else is
    (redirects are not followed: a consumer's URL is the one it registered)."""
    now = timezone.now()
    started = time.monotonic()

    def outcome(status_code=None, error=""):
        return Outcome(now, status_code, error[:500], int((time.monotonic() - started) * 1000))

    try:
        check_url(url)
    except UrlRefused as exc:
        return outcome(error=exc.reason)
    headers = signed_headers(msg_id=msg_id, body=body, secrets=secrets, moment=now)
    try:
        with _session().post(url, data=body.encode(), headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                             allow_redirects=False, stream=True) as response:
            # Read what a receiver sends back, up to a limit, so the connection can be kept.
            response.raw.read(MAX_ANSWER_BYTES)
            return outcome(status_code=response.status_code)
    except requests.Timeout:
        return outcome(error=f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s")
    except requests.RequestException as exc:
        return outcome(error=f"{type(exc).__name__}: {exc}")

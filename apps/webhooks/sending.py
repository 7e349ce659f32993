"""One delivery attempt: the event's body POSTed to the consumer, signed the Standard
Webhooks way (the `standardwebhooks` package, as Svix and so Codat sign): `webhook-id`
(the event's id, the same on every retry), `webhook-timestamp`, and `webhook-signature`
`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for each live secret.

The request goes to an address the URL policy approved a moment before, never to the host
name: `urlpolicy.check_url` resolves the name once and answers with the addresses it let
through, and the attempt connects to those (in the resolver's order, the next only when one
cannot be reached), sending the URL's host name as `Host`, as TLS's server name (SNI) and
as the name the certificate must carry. An HTTP client given the name would resolve it
again, and the name's DNS server could then answer with an address inside our network
(DNS rebinding). So this speaks urllib3 to an address, not requests to a URL.

Proxies. A proxy resolves the names it is given, so a proxied request is pinned only if
the proxy is given the address. HTTPS goes through the proxy the environment names for
the URL (`HTTPS_PROXY` or `ALL_PROXY`, `NO_PROXY` honoured, as requests and the Xero client
read them) as a CONNECT tunnel to the approved address and port, TLS running end to end
inside it: the proxy sees an address, and the certificate is checked against the URL's
host name, whatever the proxy does. Plain HTTP, which the policy allows only to loopback
(WEBHOOK_ALLOW_LOOPBACK, the demo and tests), always goes direct: a proxy's loopback is
not ours, and a request forwarded through it would hand the proxy a name to resolve.

# Reference: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""

import http.client
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import requests.utils
import urllib3
from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from apps.core import egress

from .urlpolicy import Destination, UrlRefused, check_url

USER_AGENT = "bankfeeds-webhooks/1"
MAX_ANSWER_BYTES = 64 * 1024
# Kept-alive connections per relay thread: a pool per (address, host name), the least
# recently used closed beyond this many.
POOLS_PER_THREAD = 10
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


def signed_headers(*, msg_id: str, body: str, secrets: list[str], moment) -> dict:
    """The Standard Webhooks headers for `body`, signed with every secret in `secrets`."""
    signatures = " ".join(Webhook(secret).sign(msg_id, moment, body) for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signatures, "Content-Type": "application/json", "User-Agent": USER_AGENT}


def _proxy(destination: Destination, url: str) -> str | None:
    """The environment's proxy for `url`, or None: go direct (always, for plain HTTP)."""
    return egress.environ_proxy(url) if destination.scheme == "https" else None


def _manager(proxy: str | None) -> urllib3.PoolManager:
    # Per thread (the relay sends from a pool), so that each keeps its connections alive.
    managers = getattr(_local, "managers", None)
    if managers is None:
        managers = _local.managers = {}
    manager = managers.get(proxy)
    if manager is None:
        options = {"num_pools": POOLS_PER_THREAD, "retries": False, "cert_reqs": "CERT_REQUIRED"}
        if proxy:
            # Credentials in the proxy's URL, sent as requests sends them (urllib3 does not).
            auth = urllib3.util.parse_url(proxy).auth
            headers = urllib3.make_headers(proxy_basic_auth=unquote(auth)) if auth else None
            manager = urllib3.ProxyManager(proxy, proxy_headers=headers, **options)
        else:
            manager = urllib3.PoolManager(**options)
        managers[proxy] = manager
    return manager


def _post(destination: Destination, url: str, *, body: bytes, headers: dict) -> urllib3.BaseHTTPResponse:
    """POST to the first approved address that takes a connection, the answer not read yet."""
    parts = urlsplit(url)
    # The path and query as requests wrote them (what is not allowed in a URL quoted).
    target = requests.utils.requote_uri(parts.path or "/") + (f"?{requests.utils.requote_uri(parts.query)}"
                                                              if parts.query else "")
    tls = {}
    if destination.scheme == "https":
        # The bundle read per attempt: a changed one gets pools of its own.
        tls = {"server_hostname": destination.host, "assert_hostname": destination.host,
               "ca_certs": egress.ca_bundle()}
    manager = _manager(_proxy(destination, url))
    seconds = settings.WEBHOOK_TIMEOUT_SECONDS

    def post(address):
        pool = manager.connection_from_host(f"[{address}]" if ":" in address else address, destination.port,
                                            destination.scheme, pool_kwargs=tls)
        return pool.urlopen("POST", target, body=body, headers=headers, retries=False, redirect=False,
                            timeout=urllib3.Timeout(connect=seconds, read=seconds), preload_content=False,
                            decode_content=False)

    *others, last = destination.addresses
    for address in others:
        try:
            return post(address)
        except urllib3.exceptions.ConnectTimeoutError:
            pass  # not reached (a refused connection is one of these too): nothing was sent, try the next
    return post(last)


def attempt(*, url: str, msg_id: str, body: str, secrets: list[str]) -> Outcome:
    """POST once; a 2xx within WEBHOOK_TIMEOUT_SECONDS is delivered, and nothing else is
    (redirects are not followed: a consumer's URL is the one it registered). Whatever goes
    wrong is the Outcome's error, never an exception."""
    now = timezone.now()
    started = time.monotonic()

    def outcome(status_code=None, error=""):
        return Outcome(now, status_code, error[:500], int((time.monotonic() - started) * 1000))

    try:
        destination = check_url(url)
    except UrlRefused as exc:
        return outcome(error=exc.reason)
    headers = {**signed_headers(msg_id=msg_id, body=body, secrets=secrets, moment=now),
               "Host": destination.host_header}
    try:
        response = _post(destination, url, body=body.encode(), headers=headers)
        try:
            # Read what a receiver sends back, up to a limit; the connection is kept for
            # the next attempt only when that was all of it.
            response.read(MAX_ANSWER_BYTES, decode_content=False)
            if not response.closed:
                response.close()
        finally:
            response.release_conn()
        return outcome(status_code=response.status)
    except urllib3.exceptions.NewConnectionError as exc:
        # urllib3 files a refused connection under timeouts; it is not one.
        return outcome(error=f"{type(exc).__name__}: {exc}")
    except urllib3.exceptions.TimeoutError:
        return outcome(error=f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s")
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError) as exc:
        return outcome(error=f"{type(exc).__name__}: {exc}")

"""Where webhooks may go: HTTPS to hosts that resolve only to public addresses. Never to
loopback, private, link-local or otherwise reserved ones (a partner must not make us call
our own network), unless settings.WEBHOOK_ALLOW_LOOPBACK lets the demo and tests use
http(s)://127.0.0.1 and localhost. Checked when a consumer is saved and again before every
attempt, since a name can resolve elsewhere later."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from apps.core.refusals import Refused, item

URL_INVALID = "url must be an absolute https:// URL."
URL_NOT_HTTPS = "url must use https."
URL_NOT_RESOLVED = "url's host {host} could not be resolved."
URL_NOT_PUBLIC = "url's host {host} resolves to a non-public address ({address}); webhooks go to public hosts only."
LOOPBACK_NAMES = ("localhost",)


class UrlRefused(Refused):
    """A consumer URL that the policy above refuses (400, the field itemised)."""

    def __init__(self, message):
        super().__init__("The request made is not valid.", errors=[item(message, item_id="url")])
        self.reason = message


def _addresses(host: str, port: int) -> list[ipaddress._BaseAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UrlRefused(URL_NOT_RESOLVED.format(host=host))
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_url(url: str) -> None:
    """Raise UrlRefused unless webhooks may be sent to `url` now."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise UrlRefused(URL_INVALID)
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise UrlRefused(URL_INVALID)
    addresses = _addresses(host, port or (443 if parts.scheme == "https" else 80))
    loopback = host in LOOPBACK_NAMES or all(a.is_loopback for a in addresses)
    if loopback and settings.WEBHOOK_ALLOW_LOOPBACK:
        return
    if parts.scheme != "https":
        raise UrlRefused(URL_NOT_HTTPS)
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None) or address
        if not mapped.is_global or mapped.is_multicast:
            raise UrlRefused(URL_NOT_PUBLIC.format(host=host, address=address))

"""Where webhooks may go: HTTPS to hosts that resolve only to public addresses. Never to
loopback, private, link-local or otherwise reserved ones (a partner must not make us call
our own network), unless settings.WEBHOOK_ALLOW_LOOPBACK lets the demo and tests use
http(s)://127.0.0.1 and localhost. Checked when a consumer is saved and again before every
attempt, since a name can resolve elsewhere later.

The check answers with what it approved (a Destination: the URL's scheme, host name and
port, and the addresses the name resolved to, every one of them allowed), and an attempt
connects to one of those addresses and never looks the name up again (apps/webhooks/
sending.py): a second lookup could be answered with another address by the name's DNS
server, one inside our network (DNS rebinding)."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from apps.core.refusals import Refused, item

URL_INVALID = "url must be an absolute https:// URL."
URL_NOT_HTTPS = "url must use https."
URL_NOT_RESOLVED = "url's host {host} could not be resolved."
URL_NOT_PUBLIC = "url's host {host} resolves to a non-public address ({address}); webhooks go to public hosts only."
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class Destination:
    """A URL the policy lets webhooks go to, as it was checked: its scheme, its host name
    (ASCII: the name for `Host`, TLS's server name and the certificate), its port, and the
    addresses the name resolved to, in the resolver's order. Connect to these only."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        """`Host` as an HTTP client writes it for the URL: the port only when not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


class UrlRefused(Refused):
    """A consumer URL that the policy above refuses (400, the field itemised)."""

    def __init__(self, message):
        super().__init__("The request made is not valid.", errors=[item(message, item_id="url")])
        self.reason = message


def _addresses(host: str, port: int, *, name: str) -> list[ipaddress._BaseAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UrlRefused(URL_NOT_RESOLVED.format(host=name))
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_url(url: str) -> Destination:
    """Raise UrlRefused unless webhooks may be sent to `url` now; else where they may go
    (callers that only validate may ignore it)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise UrlRefused(URL_INVALID)
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise UrlRefused(URL_INVALID)
    try:
        # The name as DNS, `Host` and the certificate spell it (resolving did the same).
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UrlRefused(URL_NOT_RESOLVED.format(host=host))
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _addresses(ascii_host, port, name=host)
    destination = Destination(parts.scheme, ascii_host, port, tuple(dict.fromkeys(str(a) for a in addresses)))
    loopback = ascii_host in LOOPBACK_NAMES or all(a.is_loopback for a in addresses)
    if loopback and settings.WEBHOOK_ALLOW_LOOPBACK:
        return destination
    if parts.scheme != "https":
        raise UrlRefused(URL_NOT_HTTPS)
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None) or address
        if not mapped.is_global or mapped.is_multicast:
            raise UrlRefused(URL_NOT_PUBLIC.format(host=host, address=address))
    return destination

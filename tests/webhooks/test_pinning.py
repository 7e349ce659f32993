"""Where an attempt connects: to an address the URL policy approved, never to a second
lookup of the name (DNS rebinding); over TLS with the certificate and the server name
checked against the URL's host, not the address; through the environment's HTTPS proxy
as a tunnel to that address; and whatever goes wrong is the attempt's error, not an
exception. The OS resolver (`socket.getaddrinfo`) is what the tests replace: our code and
urllib3 alike ask it."""

import base64
import select
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
import urllib3
from pytest_httpserver import HTTPServer
from svix.webhooks import Webhook

from apps.tenants.services import company_create
from apps.webhooks.consumers import consumer_create
from apps.webhooks.models import Delivery, DeliveryStatus
from apps.webhooks.sending import MAX_ANSWER_BYTES, attempt
from apps.webhooks.urlpolicy import URL_NOT_PUBLIC

from .conftest import received, received_events, relay

pytestmark = pytest.mark.django_db

OS_GETADDRINFO = socket.getaddrinfo
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


class Resolver:
    """The OS resolver, but for names given here: each answers its lists of addresses in
    turn, the last one from then on. `lookups` are the names asked for."""

    def __init__(self):
        self.answers = {}
        self.lookups = []

    def answer(self, name, *answers):
        self.answers[name] = list(answers)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self.answers:
            return OS_GETADDRINFO(host, port, family, type, proto, flags)
        self.lookups.append(host)
        answers = self.answers[host]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        port = int(port or 0)
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0)) if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]


@pytest.fixture
def resolver(monkeypatch):
    fake = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


@pytest.fixture(autouse=True)
def _no_proxy_unless_asked(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def servers():
    """Start receivers (pytest-httpserver's) on any address and port; stopped afterwards."""
    started = []

    def start(host="127.0.0.1", port=0, **options):
        server = HTTPServer(host=host, port=port, **options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.clear()
        server.stop()


@pytest.fixture
def twin_receivers(servers):
    """A receiver on 127.0.0.1 and another on 127.0.0.2, on the same port, both answering 200."""
    for _ in range(5):
        first = servers("127.0.0.1")
        try:
            second = servers("127.0.0.2", first.port)
        except (OSError, SystemExit):  # werkzeug exits when the port is taken there
            continue
        for server in (first, second):
            server.expect_request("/hooks").respond_with_data("ok")
        return first, second
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def trusted_ca(ca, tmp_path, monkeypatch):
    """Our test CA as the bundle, named the way requests (and so the Xero client) reads it."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(path))
    return path


def tls(ca, name):
    """A server context with a certificate for `name`, and the server names clients ask for (SNI)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(name).configure_cert(context)
    asked = []
    context.sni_callback = lambda sock, server_name, ctx: asked.append(server_name)
    return context, asked


def tls_receiver(servers, resolver, ca, certificate_for):
    """A receiver of /hooks over TLS with a certificate for `certificate_for`, at the
    address receiver.test resolves to; and the server names clients ask it for."""
    context, asked = tls(ca, certificate_for)
    receiver = servers("127.0.0.1", ssl_context=context)
    receiver.expect_request("/hooks").respond_with_data("ok")
    resolver.answer("receiver.test", ["127.0.0.1"])
    return receiver, asked


def subscribe(partner, url):
    return consumer_create(partner=partner.partner, url=url, event_types=["company.created"])


def send(url):
    return attempt(url=url, msg_id="msg_pinning", body='{"hello": "world"}', secrets=["whsec_" + "A" * 32])


# --- DNS rebinding ------------------------------------------------------------------------


def test_a_name_that_resolves_elsewhere_after_the_check_is_delivered_to_the_address_checked(
        partner_a, resolver, twin_receivers):
    checked, elsewhere = twin_receivers
    resolver.answer("receiver.test", ["127.0.0.1"])
    consumer = subscribe(partner_a, f"http://receiver.test:{checked.port}/hooks")
    # From now on the name's DNS server answers 127.0.0.1 once (the check), then 127.0.0.2.
    resolver.answer("receiver.test", ["127.0.0.1"], ["127.0.0.2"])
    resolver.lookups.clear()
    company_create(partner=partner_a.partner, name="Rebound Co")

    relay()
    assert [e["payload"]["name"] for e in received_events(checked)] == ["Rebound Co"]
    assert received(elsewhere) == []
    assert resolver.lookups == ["receiver.test"]  # the check's lookup, and no other
    [(headers, body)] = received(checked)
    assert headers["host"] == f"receiver.test:{checked.port}"
    Webhook(consumer.secret).verify(body, headers)
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_an_approved_address_that_refuses_the_connection_gives_way_to_the_next(resolver, servers):
    receiver = servers("127.0.0.1")
    receiver.expect_request("/hooks").respond_with_data("ok")
    resolver.answer("receiver.test", ["127.0.0.2", "127.0.0.1"])  # nothing listens on 127.0.0.2
    outcome = send(f"http://receiver.test:{receiver.port}/hooks")
    assert (outcome.status_code, outcome.error) == (200, "")
    assert len(received(receiver)) == 1


def test_a_name_that_resolves_to_a_private_address_is_refused_before_any_connection(resolver, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    connections = []
    monkeypatch.setattr(urllib3.util.connection, "create_connection", lambda *a, **k: connections.append(a))
    resolver.answer("inside.test", ["93.184.215.14", "10.0.0.5"])
    outcome = send("https://inside.test/hooks")
    assert outcome.error == URL_NOT_PUBLIC.format(host="inside.test", address="10.0.0.5")
    assert outcome.status_code is None
    assert connections == []


# --- TLS: the URL's host name, not the address --------------------------------------------


def test_https_is_delivered_with_the_certificate_and_server_name_of_the_urls_host(
        partner_a, resolver, servers, ca, trusted_ca):
    receiver, asked = tls_receiver(servers, resolver, ca, "receiver.test")
    consumer = subscribe(partner_a, f"https://receiver.test:{receiver.port}/hooks")
    company_create(partner=partner_a.partner, name="Secure Co")

    relay()
    [(headers, body)] = received(receiver)
    Webhook(consumer.secret).verify(body, headers)
    assert headers["host"] == f"receiver.test:{receiver.port}"
    assert set(asked) == {"receiver.test"}
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_a_certificate_for_another_name_is_a_failed_attempt_and_nothing_is_delivered(
        partner_a, resolver, servers, ca, trusted_ca):
    receiver, _ = tls_receiver(servers, resolver, ca, "other.test")
    subscribe(partner_a, f"https://receiver.test:{receiver.port}/hooks")
    company_create(partner=partner_a.partner, name="Impostor Co")

    relay()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, None)
    assert delivery.last_error == "SSLError: hostname 'receiver.test' doesn't match 'other.test'"
    assert received(receiver) == []


def test_a_certificate_from_a_ca_not_in_the_bundle_is_refused(resolver, servers, ca, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)  # then certifi's bundle, without our CA
    receiver, _ = tls_receiver(servers, resolver, ca, "receiver.test")
    outcome = send(f"https://receiver.test:{receiver.port}/hooks")
    assert outcome.status_code is None
    assert "certificate verify failed" in outcome.error
    assert received(receiver) == []


# --- Proxies ------------------------------------------------------------------------------


class TunnelProxy:
    """An HTTP proxy that only tunnels (CONNECT), noting each request's line and headers."""

    def __init__(self):
        self.requests = []
        self._open = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._open.append(client)
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        line, *fields = head.decode().split("\r\n")
        self.requests.append((line, {k.lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)}))
        method, target, _ = line.split(" ")
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        self._open.append(upstream)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        upstream.sendall(rest)
        while True:
            readable, _, _ = select.select([client, upstream], [], [], 10)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)

    def close(self):
        for sock in (self._listener, *self._open):
            sock.close()


@pytest.fixture
def proxy():
    tunnel = TunnelProxy()
    yield tunnel
    tunnel.close()


def test_https_goes_through_the_environments_proxy_as_a_tunnel_to_the_approved_address(
        partner_a, resolver, servers, ca, trusted_ca, proxy, monkeypatch):
    receiver, asked = tls_receiver(servers, resolver, ca, "receiver.test")
    consumer = subscribe(partner_a, f"https://receiver.test:{receiver.port}/hooks")
    monkeypatch.setenv("HTTPS_PROXY", f"http://relay:s%3Acret@127.0.0.1:{proxy.port}")
    resolver.lookups.clear()
    company_create(partner=partner_a.partner, name="Proxied Co")

    relay()
    [(line, fields)] = proxy.requests
    assert line.startswith(f"CONNECT 127.0.0.1:{receiver.port} ")  # an address: the proxy resolves nothing
    assert fields["proxy-authorization"] == "Basic " + base64.b64encode(b"relay:s:cret").decode()
    assert resolver.lookups == ["receiver.test"]
    [(headers, body)] = received(receiver)
    Webhook(consumer.secret).verify(body, headers)
    assert headers["host"] == f"receiver.test:{receiver.port}"
    assert set(asked) == {"receiver.test"}


def test_https_to_a_host_in_no_proxy_goes_direct(resolver, servers, ca, trusted_ca, proxy, monkeypatch):
    receiver, _ = tls_receiver(servers, resolver, ca, "receiver.test")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "receiver.test")
    assert send(f"https://receiver.test:{receiver.port}/hooks").status_code == 200
    assert proxy.requests == []


def test_plain_http_goes_direct_whatever_proxy_the_environment_names(resolver, servers, proxy, monkeypatch):
    receiver = servers("127.0.0.1")
    receiver.expect_request("/hooks").respond_with_data("ok")
    resolver.answer("receiver.test", ["127.0.0.1"])
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
    assert send(f"http://receiver.test:{receiver.port}/hooks").status_code == 200
    assert proxy.requests == []
    assert len(received(receiver)) == 1


# --- Failures are outcomes; the connection kept only when clean -------------------------


def closed_port():
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def test_a_refused_connection_is_an_error_not_an_exception_nor_a_timeout():
    outcome = send(f"http://127.0.0.1:{closed_port()}/hooks")
    assert outcome.status_code is None
    assert "Connection refused" in outcome.error and "No answer within" not in outcome.error


def test_a_connection_reset_is_an_error_not_an_exception():
    listener = socket.create_server(("127.0.0.1", 0))

    def reset():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()  # with linger 0: a RST, no answer

    thread = threading.Thread(target=reset, daemon=True)
    thread.start()
    try:
        outcome = send(f"http://127.0.0.1:{listener.getsockname()[1]}/hooks")
    finally:
        thread.join(5)
        listener.close()
    assert outcome.status_code is None and outcome.error


class KeepAliveHandler(BaseHTTPRequestHandler):
    """Answers "ok", or three times the most an attempt reads for /long, keeping the
    connection open (werkzeug, under pytest-httpserver, closes every one)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, self.client_address[1]))
        answer = b"x" * (3 * MAX_ANSWER_BYTES) if self.path == "/long" else b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_a_short_answer_keeps_the_connection_and_a_long_one_is_cut_and_closed():
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAliveHandler)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        outcomes = [send(f"{base}/short"), send(f"{base}/short"), send(f"{base}/long"), send(f"{base}/short")]
    finally:
        server.shutdown()
        server.server_close()
    assert [(o.status_code, o.error) for o in outcomes] == [(200, "")] * 4
    [(_, first), (_, second), (_, long), (_, after)] = server.seen
    assert first == second == long != after


def test_the_host_header_names_the_port_only_when_it_is_not_the_schemes():
    from apps.webhooks.urlpolicy import Destination

    assert Destination("https", "receiver.test", 443, ("192.0.2.1",)).host_header == "receiver.test"
    assert Destination("http", "receiver.test", 80, ("192.0.2.1",)).host_header == "receiver.test"
    assert Destination("https", "receiver.test", 8443, ("192.0.2.1",)).host_header == "receiver.test:8443"
    assert Destination("http", "::1", 8080, ("::1",)).host_header == "[::1]:8080"

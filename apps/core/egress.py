"""What our outbound HTTP (the Xero client, webhook attempts) takes from the environment,
as requests would find it: the CA bundle and the proxy. Not .netrc: its credentials
would replace the ones we send."""

import os
from urllib.parse import urlsplit

import certifi
import requests.utils


def ca_bundle() -> str:
    """REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE, else certifi's bundle."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()


def environ_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (its scheme's, else ALL_PROXY; NO_PROXY
    honoured), with a scheme (`HTTPS_PROXY=host:port` means http://host:port), or None."""
    proxies = requests.utils.get_environ_proxies(url)
    proxy = proxies.get(urlsplit(url).scheme) or proxies.get("all")
    if proxy and "://" not in proxy:
        proxy = f"http://{proxy}"
    return proxy or None

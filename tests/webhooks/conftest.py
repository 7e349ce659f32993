"""Webhook tests receive over real HTTP (pytest-httpserver on loopback, which the tests'
settings allow) and check what arrives against Codat's own specs."""

import json

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests import shared_specs

# shared/ lies beside the checkout (or beside the folder of worktrees).
SPECS = shared_specs.SPECS / "codat"


def _or_null(node):
    """Codat's files say OpenAPI 3.1 but mark optional values with 3.0's `nullable: true`;
    JSON Schema has no such keyword, so it is read as what it means: "or null"."""
    if isinstance(node, dict):
        node = {k: _or_null(v) for k, v in node.items()}
        if node.pop("nullable", False) is True:
            return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_or_null(v) for v in node]
    return node


def _spec(name):
    return _or_null(json.loads((SPECS / name).read_text()))


PLATFORM = _spec("Codat-Platform.json")
BANK_FEEDS = _spec("Codat-Bank-Feeds.json")
REGISTRY = Registry().with_resources([
    ("urn:platform", Resource.from_contents(PLATFORM, default_specification=DRAFT202012)),
    ("urn:bankfeeds", Resource.from_contents(BANK_FEEDS, default_specification=DRAFT202012)),
])


def envelope_validator(event_type: str) -> Draft202012Validator:
    """The spec's schema for an event type's envelope: the Platform spec's `webhooks` (with
    `{dataType}` for writes) or the Bank Feeds spec's for source accounts."""
    name, spec, uri = event_type, PLATFORM, "urn:platform"
    if event_type.startswith("bankFeeds."):
        spec, uri = BANK_FEEDS, "urn:bankfeeds"
    elif ".write." in event_type:
        name = "{dataType}.write." + event_type.rsplit(".", 1)[1]
    ref = spec["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return Draft202012Validator({"$ref": f"{uri}{ref}"}, registry=REGISTRY,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True


@pytest.fixture
def hook_url(httpserver):
    return httpserver.url_for("/hooks")


@pytest.fixture
def consumer(partner_a, hook_url):
    """Partner A's consumer of every event type, at the test receiver."""
    from apps.webhooks.consumers import consumer_create
    from apps.webhooks.events import EVENT_TYPES

    return consumer_create(partner=partner_a.partner, url=hook_url, event_types=list(EVENT_TYPES))


def relay():
    """One round of the relay, in this process: fan out and deliver what is due."""
    from apps.webhooks.relay import Relay

    r = Relay(upkeep=False)
    try:
        return r.run_once()
    finally:
        r.pool.shutdown()


def received(httpserver) -> list[tuple[dict, str]]:
    """(headers, body) of every request the receiver got, in order."""
    return [({k.lower(): v for k, v in request.headers.items()}, request.get_data(as_text=True))
            for request, _ in httpserver.log]


def received_events(httpserver) -> list[dict]:
    return [json.loads(body) for _, body in received(httpserver)]

"""An answered API request is freed by reference counting, not left to Python's cycle
collector: DRF's renderer and parser contexts tie the response, the view and the request
together, and a push's transactions hang off them (apps/api/middleware.py
ReleaseCyclesMiddleware). Called through Django's WSGI handler as gunicorn calls it: the
test client keeps its own references to the response."""

import gc
import json
from decimal import Decimal
from functools import partial

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory
from rest_framework.request import Request

from apps.feeds.api import BankTransactionsPushView
from apps.feeds.statements import Transaction
from tests.feeds.push_support import batch, push_url

pytestmark = pytest.mark.django_db(transaction=True)


# What a request of ours makes that must be freed with it.
REQUEST_OBJECTS = {BankTransactionsPushView.__name__, Request.__name__, "Response", "PartnerApiKey", "Partner",
                   "XeroConnection", "Company"}


@pytest.fixture(scope="module")
def handler():
    """One, as a worker has: loading the middleware makes cycles of its own."""
    return WSGIHandler()


def _post(handler, path, body: bytes, auth: str):
    environ = RequestFactory().post(path, data=body, content_type="application/json",
                                    HTTP_AUTHORIZATION=auth).environ
    status = []
    response = handler(environ, lambda line, headers, exc_info=None: status.append(line))
    try:
        content = b"".join(response)
    finally:
        response.close()
    return status[0], json.loads(content)


def _left_to_the_collector(call):
    """What `call` leaves that only the cycle collector would free, by type name."""
    gc.collect()
    gc.disable()
    try:
        result = call()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return result, left


def test_an_answered_push_leaves_its_request_view_and_transactions_to_reference_counting(handler, partner_a,
                                                                                         connected_account):
    first = batch(3)
    _post(handler, push_url(connected_account), json.dumps({"accountId": "acc-1", "transactions": first}).encode(),
          partner_a.auth)  # the process's lazy setup (URL resolvers, scripts, pools) out of the way
    second = batch(3, first_id=4, opening=Decimal(str(first[-1]["balance"])))
    body = json.dumps({"accountId": "acc-1", "transactions": second}).encode()

    (status, answer), left = _left_to_the_collector(partial(_post, handler, push_url(connected_account), body,
                                                                partner_a.auth))

    assert status.startswith("200"), answer
    assert answer["status"] == "Pending"
    # (The sandbox playing Xero serves its page in this process: its own request is not asked about.)
    # A text[] column read would leave psycopg's array loader, tied to its transformer.
    assert not left & (REQUEST_OBJECTS | {Transaction.__name__, "PushOperation", "TextArrayLoader"}), \
        " ".join(sorted(left))


def test_a_refused_request_is_freed_as_well(handler, partner_a, connected_account):
    body = json.dumps({"accountId": "acc-1", "transactions": []}).encode()
    _post(handler, push_url(connected_account), body, partner_a.auth)

    (status, answer), left = _left_to_the_collector(partial(_post, handler, push_url(connected_account), body,
                                                                partner_a.auth))

    assert status.startswith("400"), answer
    assert not left & (REQUEST_OBJECTS | {"WSGIRequest"}), " ".join(sorted(left))

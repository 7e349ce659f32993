import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from apps.api.idempotency import CLAIM_LIFETIME, idempotent
from apps.api.models import IdempotencyRecord
from apps.tenants.models import Company

pytestmark = pytest.mark.django_db


def create(client, body, key):
    return client.post("/api/companies", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_replays_the_first_answer(partner_a):
    first = create(partner_a, {"name": "Once"}, "k-1")
    again = create(partner_a, {"name": "Once"}, "k-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Company.objects.count() == 1


def test_same_key_with_another_body_is_422(partner_a):
    create(partner_a, {"name": "Once"}, "k-1")
    response = create(partner_a, {"name": "Twice"}, "k-1")
    assert response.status_code == 422
    assert response.json()["statusCode"] == 422
    assert Company.objects.count() == 1


def test_a_key_still_running_is_409(partner_a):
    fingerprint = hashlib.sha256(b'POST\n/api/companies\n{"name":"Once"}').hexdigest()
    IdempotencyRecord.objects.create(caller=str(partner_a.partner.pk), key="k-1", fingerprint=fingerprint)
    response = create(partner_a, {"name": "Once"}, "k-1")
    assert response.status_code == 409
    assert response.json()["canBeRetried"] == "True"
    assert not Company.objects.exists()


def _abandoned_claim(partner_a, key):
    """What a request killed mid-way (its worker, the machine) leaves: a claim never completed."""
    fingerprint = hashlib.sha256(b'POST\n/api/companies\n{"name":"Once"}').hexdigest()
    record = IdempotencyRecord.objects.create(caller=str(partner_a.partner.pk), key=key, fingerprint=fingerprint)
    stale = timezone.now() - CLAIM_LIFETIME - timedelta(seconds=1)
    IdempotencyRecord.objects.filter(pk=record.pk).update(created=stale)


def test_a_claim_abandoned_past_its_lifetime_goes_to_the_next_retry(partner_a):
    _abandoned_claim(partner_a, "k-1")

    response = create(partner_a, {"name": "Once"}, "k-1")

    assert response.status_code == 200, response.content
    assert Company.objects.get().name == "Once"
    again = create(partner_a, {"name": "Once"}, "k-1")
    assert again["Idempotent-Replayed"] == "true" and again.json() == response.json()
    assert Company.objects.count() == 1
    # Abandoned or not, the key still belongs to its request.
    assert create(partner_a, {"name": "Twice"}, "k-1").status_code == 422


def test_a_claim_just_within_its_lifetime_is_still_409(partner_a):
    _abandoned_claim(partner_a, "k-1")
    IdempotencyRecord.objects.update(created=timezone.now() - CLAIM_LIFETIME + timedelta(seconds=30))

    assert create(partner_a, {"name": "Once"}, "k-1").status_code == 409
    assert not Company.objects.exists()


def test_a_request_outlived_by_its_claim_does_not_overwrite_the_retry_that_took_it_over(partner_a):
    factory, answered = APIRequestFactory(), []

    def request():
        http = factory.post("/api/slow", {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        force_authenticate(http, user=partner_a.partner)
        return Slow.as_view()(http)

    class Slow(APIView):
        @idempotent
        def post(self, request):
            call = len(answered)
            answered.append(call)
            if call == 0:  # the first request stalls past the claim's lifetime; the partner retries meanwhile
                IdempotencyRecord.objects.update(created=timezone.now() - CLAIM_LIFETIME - timedelta(seconds=1))
                assert request_retry().data == {"call": 1}
            return Response({"call": call}, status=201)

    request_retry = request
    assert request().data == {"call": 0}  # the stalled request still answers its own caller

    replay = request()
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.data == {"call": 1}  # the answer kept is the retry's, which took the key over
    assert answered == [0, 1]


def test_keys_belong_to_one_partner(partner_a, partner_b):
    create(partner_a, {"name": "A"}, "shared")
    assert create(partner_b, {"name": "B"}, "shared").status_code == 200
    assert Company.objects.count() == 2


def test_validation_failures_are_replayed_too(partner_a):
    assert create(partner_a, {"name": "[]"}, "bad").status_code == 400
    assert create(partner_a, {"name": "[]"}, "bad").status_code == 400
    assert not Company.objects.exists()


def test_a_body_that_cannot_be_read_claims_no_key(partner_a):
    broken = partner_a.http.post("/api/companies", data=b'{"name": "Once", "tags": {"k": "\\ud800"}}',
                                 content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert broken.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    # The corrected body under the same key is a first request, not "another request" (422).
    assert create(partner_a, {"name": "Once"}, "k-1").status_code == 200


@pytest.mark.parametrize("key", ["with space", "caf\u00e9", "tab\there", "k" * 256])
def test_a_key_must_be_printable_ascii_of_at_most_255_characters(partner_a, key):
    response = create(partner_a, {"name": "Once"}, key)
    assert response.status_code == 400
    assert "printable ASCII" in response.json()["error"]
    assert not Company.objects.exists() and not IdempotencyRecord.objects.exists()

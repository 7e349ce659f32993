import pytest

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
    import hashlib

    fingerprint = hashlib.sha256(b'POST\n/api/companies\n{"name":"Once"}').hexdigest()
    IdempotencyRecord.objects.create(caller=str(partner_a.partner.pk), key="k-1", fingerprint=fingerprint)
    response = create(partner_a, {"name": "Once"}, "k-1")
    assert response.status_code == 409
    assert response.json()["canBeRetried"] == "True"
    assert not Company.objects.exists()


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

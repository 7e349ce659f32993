"""/api/ answers a small index of the partner API, not a 404 page."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_api_root_points_at_its_docs_schema_and_server_url(client):
    response = client.get("/api/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["serverUrl"] == "http://testserver/api"
    assert body["docs"] == "http://testserver/api/docs/"
    assert body["schema"] == "http://testserver/api/schema/"
    assert client.get(body["schema"]).status_code == 200
    assert "Basic" in body["authentication"]


def test_the_docs_page_may_load_nothing_from_elsewhere(client):
    policy = client.get("/api/docs/")["Content-Security-Policy"]

    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert "https:" not in policy and "*" not in policy

"""Every partner API answer the test suite provoked (tests/api_recorder.py), held against
this server's own OpenAPI document (/api/schema/): a documented status for its operation,
the documented content type and a body of the documented schema. A client generated from
our schema reads whatever we answer.

Runs after every other test of the session (the `after_all` marker, ordered in
tests/conftest.py), so it sees all their answers; after a run in several processes
(`make test`), over the answers each saved to API_ANSWERS_DIR."""

import json

import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse

from tests import api_recorder

# The index of /api/ is not a partner operation (tests/test_api_index.py holds it).
NOT_OPERATIONS = {"api/"}
# Unknown paths, methods and requests refused before routing (a NUL in the path) answer an
# ErrorMessage with one of these.
OUTSIDE_OPERATIONS = {400, 404, 405}


def _our_schema():
    from django.test import Client

    response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def problems_of(entries, document) -> list[str]:
    """What is wrong with each recorded answer, one line each."""
    spec = OpenAPI.from_dict(document)
    error_message = OpenAPI.from_dict({**document, "paths": {"/x": {"get": {"responses": {
        str(status): {"description": "", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/ErrorMessage"}}}} for status in OUTSIDE_OPERATIONS}}}}})
    problems = []
    for entry in entries:
        if entry["route"] in NOT_OPERATIONS:
            continue
        request = MockRequest("http://testserver", entry["method"].lower(), entry["path"])
        response = MockResponse(entry["body"].encode(), status_code=entry["status"],
                                content_type=entry["content_type"] or None)
        try:
            spec.validate_response(request, response)
        except (PathNotFound, OperationNotFound):
            try:
                error_message.validate_response(MockRequest("http://testserver", "get", "/x"), response)
            except Exception as exc:  # noqa: BLE001 - each problem is reported, not raised
                problems.append(f"{entry['method']} {entry['path']} (no operation) → {entry['status']}: {exc}")
        except Exception as exc:  # noqa: BLE001
            detail = "; ".join(str(e) for e in getattr(exc, "schema_errors", ()))[:600] or str(exc)
            problems.append(f"{entry['test']}: {entry['method']} {entry['route']} → {entry['status']} "
                            f"{entry['body'][:300]!r}: {type(exc).__name__}: {detail}")
    return problems


@pytest.mark.after_all
@pytest.mark.django_db
def test_every_recorded_answer_matches_our_schema():
    entries = api_recorder.recorded()
    if not entries:
        pytest.skip("no partner API answers were recorded in this run")

    problems = problems_of(entries, _our_schema())

    assert not problems, f"{len(problems)} of {len(entries)} answers do not match /api/schema/:\n" + "\n".join(
        problems[:40])


def test_the_check_catches_an_answer_our_schema_does_not_describe():
    document = _our_schema()
    wrong_status = {"test": "t", "method": "GET", "path": "/api/companies", "route": "api/companies",
                    "status": 418, "content_type": "application/json", "body": "{}"}
    wrong_body = {**wrong_status, "status": 200, "body": json.dumps({"results": "not a list"})}
    right = {**wrong_status, "status": 200, "body": json.dumps({
        "results": [], "pageNumber": 1, "pageSize": 100, "totalResults": 0,
        "_links": {"self": {"href": "/api/companies"}, "current": {"href": "/api/companies?page=1&pageSize=100"}}})}

    assert len(problems_of([wrong_status, wrong_body, right], document)) == 2

"""htmx requests get the page's partial, plain requests the full page."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_plain_request_gets_the_full_page(visitor, company):
    response = visitor.get(reverse("portal:company", args=[company.pk]))
    html = response.content.decode()
    assert html.startswith("<!doctype html>")
    assert "htmx-2.0.11.min.js" in html
    assert "HX-Request" in response["Vary"]


def test_an_htmx_request_gets_the_partial(visitor, company):
    response = visitor.get(reverse("portal:company", args=[company.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert "<header" not in html
    assert "<h1>Acme Coffee Ltd</h1>" in html
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_gets_the_full_page(visitor, company):
    response = visitor.get(reverse("portal:company", args=[company.pk]), HTTP_HX_REQUEST="true",
                           HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert response.content.decode().startswith("<!doctype html>")


def test_every_htmx_link_and_form_also_works_without_js(linked, visitor, company):
    """Each hx-get/hx-post sits on an element with a real href or action."""
    import re

    for name in ("company", "mapping", "manage"):
        html = visitor.get(reverse(f"portal:{name}", args=[company.pk])).content.decode()
        for tag in re.findall(r"<(?:a|form)\b[^>]*\bhx-(?:get|post)=[^>]*>", html):
            assert re.search(r'\b(href|action)="/portal/', tag), tag


def test_connect_from_htmx_leaves_the_page_for_xero(sandbox, visitor, company):
    response = visitor.post(reverse("portal:xero_connect", args=[company.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith(f"{sandbox}/xero-sandbox/identity/connect/authorize?")


def test_a_valid_mapping_post_from_htmx_loads_the_confirm_step(linked, visitor, company):
    from tests.mapping_ui.test_wizard import mapping_post

    response = visitor.post(reverse("portal:mapping", args=[company.pk]), mapping_post(linked),
                            HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert reverse("portal:mapping_confirm", args=[company.pk]) in response["HX-Location"]

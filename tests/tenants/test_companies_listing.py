from datetime import timedelta

import pytest
from django.utils import timezone

from apps.tenants.models import Company
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def names(response):
    assert response.status_code == 200, response.content
    return [c["name"] for c in response.json()["results"]]


@pytest.fixture
def companies(partner_a):
    made = [CompanyFactory(partner=partner_a.partner, name=n, description=d)
            for n, d in [("Alpha Cafe", "coffee"), ("Beta Bakery", "bread"), ("Gamma Gym", "vip coffee")]]
    # Distinct creation times, oldest first.
    for age, company in zip((3, 2, 1), made, strict=True):
        Company.objects.filter(pk=company.pk).update(created=timezone.now() - timedelta(days=age))
    return made


def test_the_envelope_and_links_follow_codat(partner_a, companies):
    body = partner_a.get("/api/companies?page=2&pageSize=1&orderBy=name").json()
    assert body["pageNumber"] == 2
    assert body["pageSize"] == 1
    assert body["totalResults"] == 3
    assert [c["name"] for c in body["results"]] == ["Beta Bakery"]
    links = body["_links"]
    assert links["self"] == {"href": "/api/companies"}
    assert links["current"]["href"] == "/api/companies?orderBy=name&page=2&pageSize=1"
    assert links["next"]["href"] == "/api/companies?orderBy=name&page=3&pageSize=1"
    assert links["previous"]["href"] == "/api/companies?orderBy=name&page=1&pageSize=1"


def test_the_last_page_has_no_next_link_and_defaults_to_100(partner_a, companies):
    body = partner_a.get("/api/companies").json()
    assert body["pageSize"] == 100
    assert "next" not in body["_links"]
    assert "previous" not in body["_links"]


def test_past_the_last_page_is_an_empty_page(partner_a, companies):
    assert partner_a.get("/api/companies?page=9").json()["results"] == []


@pytest.mark.parametrize("params", ["page=0", "pageSize=0", "pageSize=5001", "page=x"])
def test_bad_paging_is_a_400(partner_a, params):
    assert partner_a.get(f"/api/companies?{params}").status_code == 400


# Codat documents (and its pageSize parameter allows) up to 5000 a page, but its answer's
# schema caps pageSize at 2000: more is served in pages of 2000, and the answer says so.
def test_a_page_holds_at_most_2000_and_says_so(partner_a):
    Company.objects.bulk_create([Company(partner=partner_a.partner, name=f"Company {i:04}") for i in range(2001)])

    body = partner_a.get("/api/companies?pageSize=5000&orderBy=name").json()

    assert (body["pageSize"], len(body["results"]), body["totalResults"]) == (2000, 2000, 2001)
    assert body["_links"]["next"]["href"] == "/api/companies?orderBy=name&page=2&pageSize=2000"
    rest = partner_a.get("/api/companies?pageSize=5000&page=2&orderBy=name").json()
    assert [c["name"] for c in rest["results"]] == ["Company 2000"]


def test_default_order_is_newest_first(partner_a, companies):
    assert names(partner_a.get("/api/companies")) == ["Gamma Gym", "Beta Bakery", "Alpha Cafe"]


def test_order_by_descending(partner_a, companies):
    assert names(partner_a.get("/api/companies?orderBy=-name")) == ["Gamma Gym", "Beta Bakery", "Alpha Cafe"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=Alpha Cafe", ["Alpha Cafe"]),
        ("name!=Alpha Cafe", ["Beta Bakery", "Gamma Gym"]),
        ("description~coffee", ["Alpha Cafe", "Gamma Gym"]),
        ("description~coffee && name~gym", ["Gamma Gym"]),
        ("name=Beta Bakery || name=Gamma Gym", ["Beta Bakery", "Gamma Gym"]),
        ("{name~a && description=bread} || name=Alpha Cafe", ["Alpha Cafe", "Beta Bakery"]),
    ],
)
def test_query_filters(partner_a, companies, query, expected):
    assert names(partner_a.get("/api/companies", {"query": query, "orderBy": "name"})) == expected


def test_query_on_created(partner_a, companies):
    since = (timezone.now() - timedelta(days=2, hours=12)).isoformat()
    assert names(partner_a.get("/api/companies", {"query": f"created>{since}", "orderBy": "name"})) == [
        "Beta Bakery", "Gamma Gym"]


@pytest.mark.parametrize("query", ["colour=red", "name=", "name~x &&", "{name=x", "name=x & name=y",
                                   "created>yesterday"])
def test_malformed_or_unknown_queries_are_400(partner_a, companies, query):
    response = partner_a.get("/api/companies", {"query": query})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Error parsing query")


def test_unknown_order_by_is_400(partner_a):
    assert partner_a.get("/api/companies?orderBy=colour").status_code == 400


def test_tags_filter(partner_a):
    CompanyFactory(partner=partner_a.partner, name="UK", tags={"region": "uk", "team": "invoice-finance"})
    CompanyFactory(partner=partner_a.partner, name="US", tags={"region": "us"})
    assert names(partner_a.get("/api/companies", {"tags": "region=uk && team=invoice-finance"})) == ["UK"]
    assert names(partner_a.get("/api/companies", {"tags": "region!=uk"})) == ["US"]

"""Fixtures for the source account and mapping tests."""

import pytest


@pytest.fixture
def connection(partner_a):
    """A PendingAuth connection of a company of partner A."""
    from apps.xero_auth import connections
    from tests.factories import CompanyFactory

    company = CompanyFactory(partner=partner_a.partner, name="Source Co")
    return connections.connection_create(company=company)

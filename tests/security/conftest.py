"""Security tests reuse the portal's fixtures (partner A's company, its connection)."""

from tests.mapping_ui.conftest import company, connection, other_company  # noqa: F401

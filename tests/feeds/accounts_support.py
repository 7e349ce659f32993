"""URLs and valid v1 / v2 bodies shared by the source account and mapping tests."""


def accounts_url(connection, account_id=None):
    base = f"/api/companies/{connection.company_id}/connections/{connection.id}/connectionInfo/bankFeedAccounts"
    return f"{base}/{account_id}" if account_id else base


def batch_url(connection):
    return f"{accounts_url(connection)}/batch"


def mapping_url(connection):
    return f"/api/companies/{connection.company_id}/connections/{connection.id}/bankFeedAccounts/mapping"


def v2_body(**overrides):
    body = {
        "id": "acc-001",
        "accountName": "Business Current",
        "accountType": "checking",
        "accountNumber": "12345670",
        "sortCode": "40-00-00",
        "routingInfo": {"bankCode": "400000", "type": "sortcode"},
        "currency": "GBP",
        "balance": 99.99,
        "accountInfo": {"description": "Main account", "nickname": "main", "accountOpenDate": "2023-05-06",
                        "availableBalance": 10},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def v1_body(**overrides):
    body = {
        "id": "acc-002",
        "accountName": "Card",
        "sortCode": "123456",
        "accountType": "Credit",
        "accountNumber": "4242424242424242",
        "currency": "GBP",
        "balance": 99.99,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def create_account(partner, connection, **overrides):
    """Create a v2 source account over the API and return its row."""
    from apps.feeds.models import SourceAccount

    body = v2_body(**overrides)
    response = partner.post(accounts_url(connection), body, format="json")
    assert response.status_code == 200, response.json()
    return SourceAccount.objects.get(connection=connection, account_id=body["id"])

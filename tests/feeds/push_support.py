"""Batches and sandbox reads shared by the push tests."""

from datetime import timedelta
from decimal import Decimal

import requests
from django.utils import timezone


def batch(n, *, first_id=1, opening=Decimal("1000.00"), days_ago=3, amount=Decimal("-1.25"), prefix="t"):
    """n chronological transactions with consistent running balances."""
    start = timezone.now().replace(tzinfo=None) - timedelta(days=days_ago)
    balance = opening
    transactions = []
    for i in range(n):
        balance += amount
        transactions.append({
            "id": f"{prefix}{first_id + i}",
            "date": (start + timedelta(seconds=i)).isoformat(timespec="seconds"),
            "description": f"Card payment {first_id + i}",
            "counterparty": "Coffee Supplies Ltd",
            "reference": f"REF{first_id + i}",
            "amount": float(amount),
            "balance": float(balance),
            "transactionType": "Debit" if amount < 0 else "Credit",
        })
    return transactions


def push_url(account):
    connection = account.connection
    return (f"/api/companies/{connection.company_id}/connections/{connection.id}/push/bankAccounts/"
            f"{account.account_id}/bankTransactions")




def add_fault(base_url, **fault):
    response = requests.post(f"{base_url}/xero-sandbox/_faults", json=fault, timeout=10)
    assert response.status_code == 201, response.text


def read_operation(partner, account, key):
    """The partner reads a push operation (which asks Xero about a Pending statement)."""
    response = partner.get(f"/api/companies/{account.connection.company_id}/push/{key}")
    assert response.status_code == 200, response.content
    return response.json()

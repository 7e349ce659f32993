"""Domain signals of partners' companies, for the apps above tenants to act on without
tenants importing them. Sent by the company use cases inside the database transaction of
the change (the webhooks outbox writes its row there)."""

from django.dispatch import Signal

# company: just created
company_created = Signal()
# Sent with `company` before its rows are deleted; a receiver that raises stops the
# delete (the connections app revokes the company's Xero access here).
company_deleting = Signal()
# company: its rows are being deleted in this transaction (still readable)
company_deleted = Signal()

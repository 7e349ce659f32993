"""Domain signals of partners' companies, for the apps above tenants to act on without
tenants importing them."""

from django.dispatch import Signal

# Sent with `company` before its rows are deleted; a receiver that raises stops the
# delete (the connections app revokes the company's Xero access here).
company_deleting = Signal()

"""Domain signals of Xero connections, sent by XeroConnection's state changes, for the
apps above to act on (the webhooks outbox) without xero_auth importing them."""

from django.dispatch import Signal

# connection, relinked (true when it had been linked before)
connection_linked = Signal()
# connection: now Unlinked or Deauthorized
connection_lost = Signal()

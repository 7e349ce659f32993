"""Domain signals of Xero connections, sent by XeroConnection's state changes and the
connection use cases, inside the database transaction of the change, for the apps above to
act on (the webhooks outbox, the feeds of a lost connection) without xero_auth importing
them."""

from django.dispatch import Signal

# connection: a new PendingAuth connection
connection_created = Signal()
# connection, relinked (true when it had been linked before), previous_status
connection_linked = Signal()
# connection: now Unlinked or Deauthorized
connection_lost = Signal()
# connection: about to be deleted with everything under it
connection_deleted = Signal()

"""Domain signals of source accounts and pushes, sent by the models' state changes, for
the apps above to act on (the webhooks outbox) without feeds importing them."""

from django.dispatch import Signal

# source_account: Xero confirmed its feed
source_account_connected = Signal()
# source_account: its feed was stopped
source_account_disconnected = Signal()
# operation: reached a final status (Success, Failed or TimedOut)
push_settled = Signal()

"""Celery's one job: token upkeep. The beat starts a pass every five minutes; the pass
fans out as one task per batch of connections, so several workers share it."""

from datetime import UTC, datetime

from celery import shared_task

from . import tokens


@shared_task
def token_upkeep() -> int:
    """Beat task: select the connections whose refresh token needs using and queue them in
    batches, each batch dropped unstarted at the pass's deadline. Returns how many."""
    return tokens.upkeep_pass(dispatch=_queue_batch)


def _queue_batch(connection_ids, deadline):
    token_upkeep_batch.apply_async((connection_ids, deadline), expires=datetime.fromtimestamp(deadline, UTC))


@shared_task
def token_upkeep_batch(connection_ids: list[str], deadline: float) -> int:
    """Keep these connections' refresh tokens alive, until the pass's deadline."""
    return tokens.tokens_keep_alive(connection_ids=connection_ids, deadline=deadline)

from celery import shared_task

from . import tokens


@shared_task
def refresh_expiring_tokens() -> int:
    """Beat task, every 5 minutes: refresh tokens before they expire."""
    return tokens.refresh_expiring_tokens()

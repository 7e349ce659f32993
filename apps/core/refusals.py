"""Refused: how a use case says no. Services raise it (or a subclass) with a message for
people, the HTTP-style status that fits, and itemised problems; the partner API turns it
into Codat's ErrorMessage and the portal into a sentence. Nothing here knows either."""


def item(message, *, item_id=None, validator=None) -> dict:
    """One itemised problem (Codat's validation item: itemId, message, validatorName)."""
    return {"itemId": item_id, "message": str(message), "validatorName": validator}


class Refused(Exception):
    """A request the use case declined. `status` is 400 unless a subclass or the caller
    says otherwise; `can_be_retried` defaults to true for 409, 429 and 5xx."""

    status = 400

    def __init__(self, message, *, errors=None, warnings=None, status=None, can_be_retried=None,
                 retry_after: int | None = None, correlation_id: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.errors = list(errors or [])
        self.warnings = list(warnings or [])
        if status is not None:
            self.status = status
        self.can_be_retried = can_be_retried
        self.retry_after = retry_after
        self.correlation_id = correlation_id

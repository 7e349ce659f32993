"""Money as the apps store it: decimal(19,4), below 10^15 in size."""

import re
from decimal import Decimal, InvalidOperation

# Model field arguments for every amount and balance.
MONEY_FIELD = {"max_digits": 19, "decimal_places": 4}
FOUR_PLACES = Decimal("0.0001")
# Checked before any arithmetic: quantizing a larger number overflows Decimal's context.
MONEY_LIMIT = Decimal("1e15")
# A numeric string as JSON would write the number: ASCII digits, no "1_000", no "١".
_NUMBER = re.compile(r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


def as_decimal(value) -> Decimal | None:
    """A JSON number or numeric string as a finite Decimal, else None (booleans, objects,
    NaN, Infinity and numbers in other notations are not amounts)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, str) and not _NUMBER.match(value.strip()):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None

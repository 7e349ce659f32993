"""Money as the apps store it: decimal(19,4), below 10^15 in size (Xero's decimal(19,4))."""

import re
from decimal import Decimal, InvalidOperation

# Model field arguments for every amount and balance.
MONEY_FIELD = {"max_digits": 19, "decimal_places": 4}
FOUR_PLACES = Decimal("0.0001")
# Checked before any arithmetic (see beyond_money_limit).
MONEY_LIMIT = Decimal("1e15")
# A numeric string exactly as JSON writes a number (RFC 8259): ASCII digits, no sign but a
# leading minus, no "1_000", no "١", no "1.", no surrounding spaces.
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def as_decimal(value) -> Decimal | None:
    """A JSON number (parsed as an int, a Decimal or a float) or a numeric string in JSON's
    notation as a finite Decimal, else None (booleans, objects, NaN, Infinity and numbers
    in other notations are not amounts)."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, str) and not JSON_NUMBER.fullmatch(value):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def beyond_money_limit(number: Decimal) -> bool:
    """Whether |number| is 10^15 or more, decided by comparisons alone: arithmetic on a
    number with a huge exponent (1e99999999, say), even abs() or quantize(), overflows
    Decimal's context."""
    return not -MONEY_LIMIT < number < MONEY_LIMIT

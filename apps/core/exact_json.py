"""JSON text with amounts exact: orjson, a Decimal written as the number it is (a float
keeps 15 to 17 significant digits; an amount of decimal(19,4) has up to 19)."""

from decimal import Decimal

import orjson


def dumps(data, *, default=None, option: int = 0) -> bytes:
    """`data` as compact UTF-8 JSON; Decimals exact, anything else orjson cannot write goes
    to `default`."""

    def write(value):
        if isinstance(value, Decimal):
            return orjson.Fragment(str(value))  # finite: NaN and Infinity are refused on the way in
        if default is None:
            raise TypeError(f"{type(value).__name__} is not JSON")
        return default(value)

    return orjson.dumps(data, default=write, option=option)

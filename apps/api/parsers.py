"""The partner API's JSON parser: JSON, minus the NUL character.

PostgreSQL text cannot hold NUL (U+0000), so a body carrying one (escaped as \\u0000)
would reach the database and fail there as a 500. It is refused here as a parse error,
which the exception handler answers as a 400 ErrorMessage.

The body is decoded by orjson (a 1000-transaction push is ~250 kB): strict JSON as DRF's
parser is (no NaN or Infinity), and stricter on text that is not UTF-8 or holds a lone
surrogate escape, which it refuses as well."""

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL = "\x00"


def contains_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(v) for v in value)
    return False


class CodatJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}")
        # A NUL can only arrive escaped (JSON refuses a raw control character in a
        # string), so the walk through every string runs only when the escape is there.
        if (b"\\u0000" in raw or b"\x00" in raw) and contains_nul(data):
            raise ParseError("text may not contain the NUL character (\\u0000).")
        return data

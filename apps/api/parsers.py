"""The partner API's JSON parser: strict JSON, numbers exact, and only text the database
can store. Three steps, each its own function, so a faster decoder can replace the
middle one without the checks around it changing:

1. nesting_problem: the body may nest at most MAX_DEPTH levels, judged on the raw bytes
   before any decoder recurses into them;
2. decode: UTF-8 JSON, numbers with a fraction or an exponent as exact Decimals (Xero
   keeps 4 decimal places of 15-digit amounts, which a float cannot hold), no NaN or
   Infinity;
3. text_problem: no NUL (U+0000) and no lone UTF-16 surrogate (an escaped \\ud800 without
   its pair) in any key or string: PostgreSQL text cannot hold the first, UTF-8 (so
   psycopg) cannot encode the second.

Each problem is a ParseError, which the exception handler answers as a 400 ErrorMessage."""

import decimal
import json
import re
from decimal import Decimal, InvalidOperation

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL = "\x00"
# Our deepest body is a push (an object holding an array of objects): 3 levels.
MAX_DEPTH = 32
TOO_DEEP = f"JSON may nest objects and arrays at most {MAX_DEPTH} levels deep."
HAS_NUL = "text may not contain the NUL character (\\u0000)."
HAS_SURROGATE = "text may not contain a lone UTF-16 surrogate (\\ud800 to \\udfff without its pair)."

_NOT_MARKS = bytes(b for b in range(256) if b not in b'[]{}"')
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")
# Only an escape can put NUL or a surrogate into a decoded string (raw control bytes and
# encoded surrogates are not valid JSON or UTF-8), so text is walked only when one is there.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _brackets_outside_strings(raw: bytes) -> bytes:
    """The brackets of `raw` that are not inside a JSON string, in order, as a decoder
    reads them. Without escaped backslashes and quotes, the quotes left delimit strings;
    strings without brackets are the empty pairs of quotes among brackets and quotes."""
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = raw.translate(None, _NOT_MARKS)
    outside = marks.replace(b'""', b"")
    if b'"' in outside:  # some string holds brackets: keep every other run between quotes
        outside = b"".join(marks.split(b'"')[::2])
    return outside


def nesting_problem(raw: bytes) -> str | None:
    """TOO_DEEP when objects and arrays nest deeper than MAX_DEPTH outside strings, counting
    those left open. Each round removes the innermost pairs, so the rounds count the depth
    of what is closed; what is left has no pair (a decoder refuses it), and only its opening
    brackets could take a decoder deeper."""
    brackets = _brackets_outside_strings(raw)
    depth = 0
    while brackets:
        if depth == MAX_DEPTH:
            return TOO_DEEP
        brackets, removed = _INNERMOST_PAIR.subn(b"", brackets)
        if not removed:
            return TOO_DEEP if depth + brackets.count(b"[") + brackets.count(b"{") > MAX_DEPTH else None
        depth += 1
    return None


def _constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _decimal(text):
    try:
        number = Decimal(text)
    except InvalidOperation:  # an exponent past what Decimal holds
        number = None
    # What no binary64 JSON reader could hold either (Codat's SDK, orjson): out of range.
    if number is None or (number and not -325 < number.adjusted() < 309):
        raise ValueError(f"the number {text[:40]} is out of range")
    return number


# The range _decimal allows, as a context's limits: its create_decimal is called by the
# decoder without a Python frame (0.3 µs a number), and raises past them. Precision is
# unlimited, so nothing is rounded.
_IN_RANGE = decimal.Context(prec=decimal.MAX_PREC, Emax=308, Emin=-324,
                            traps=[decimal.InvalidOperation, decimal.Overflow, decimal.Subnormal])


def decode(raw: bytes):
    """The JSON value of a UTF-8 body; ValueError when it is not JSON. The standard
    library's C decoder, not orjson: orjson reads every fraction as a float, and a float
    cannot hold a 19-digit amount (this costs ~0.6 ms on a 1000-line push). A number out
    of range is decoded again by _decimal, which names it."""
    text = raw.decode("utf-8")
    try:
        return json.loads(text, parse_float=_IN_RANGE.create_decimal, parse_constant=_constant)
    except decimal.DecimalException:
        return json.loads(text, parse_float=_decimal, parse_constant=_constant)


def text_problem(data, raw: bytes) -> str | None:
    """HAS_NUL or HAS_SURROGATE when a key or string of `data` holds one."""
    if not _SUSPECT_ESCAPE.search(raw):
        return None
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            if NUL in value:
                return HAS_NUL
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return HAS_SURROGATE
    return None


class CodatJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        problem = nesting_problem(raw)
        if problem:
            raise ParseError(problem)
        try:
            data = decode(raw)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(f"JSON parse error - {exc}")
        problem = text_problem(data, raw)
        if problem:
            raise ParseError(problem)
        return data

"""The partner API's JSON renderer: DRF's JSON, written by orjson, amounts exact.

A push answers with up to 1000 transactions; DRF's JSONRenderer (the standard library's
encoder with DRF's `default`) spends several milliseconds on that where orjson takes a
fraction. The bytes are DRF's (compact, UTF-8, U+2028/U+2029 escaped, datetimes and lazy
strings through DRF's encoder) but for one thing: a Decimal is written as the number it is.
DRF writes it through float, which keeps 15 to 17 significant digits, and Xero's amounts
have up to 19 (decimal(19,4)): 9876543210987.6543 would be answered as 9876543210987.654.
A client asking for `indent=` gets DRF's own renderer."""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from apps.core import exact_json

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


class Prerendered:
    """A part of an answer written out ahead of the rest, while the request waited on
    something else (a push's pushed transactions, while Xero reads the statement). The
    renderer embeds the bytes as they are; DRF's renderer, asked to indent, writes the value."""

    __slots__ = ("value", "fragment")

    def __init__(self, value):
        self.value = value
        self.fragment = orjson.Fragment(_write(value))


class _Encoder(JSONEncoder):
    def default(self, obj):
        return obj.value if isinstance(obj, Prerendered) else super().default(obj)


_drf = _Encoder()


def _default(value):
    return value.fragment if isinstance(value, Prerendered) else _drf.default(value)


def _write(data) -> bytes:
    out = exact_json.dumps(data, default=_default, option=_OPTIONS)
    # As DRF does: JSON that is also a strict subset of JavaScript.
    if b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out:
        out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return out


class CodatJSONRenderer(JSONRenderer):
    encoder_class = _Encoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        return _write(data)

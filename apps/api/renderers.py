"""The partner API's JSON renderer: DRF's, with amounts written exactly.

DRF's renderer writes a Decimal through float, which keeps 15 to 17 significant digits:
Xero's amounts have up to 19 (decimal(19,4)), so 9876543210987.6543 would be answered as
9876543210987.654. simplejson writes a Decimal as the number it is."""

import simplejson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# DRF's conversions for everything else (dates, UUIDs, lazy strings…); never reached for
# a Decimal, which simplejson writes itself.
_default = JSONEncoder().default


def dumps(data) -> str:
    """`data` as compact JSON text, Decimals as exact numbers."""
    return simplejson.dumps(data, use_decimal=True, default=_default, ensure_ascii=False, allow_nan=False,
                            separators=(",", ":"), namedtuple_as_object=False)


class CodatJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        # As DRF does: U+2028 and U+2029 escaped, so the output is also valid JavaScript.
        return dumps(data).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()

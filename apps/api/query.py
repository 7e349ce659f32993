"""Codat's query language for list operations (`query`, `orderBy`, and companies' `tags`).

    query=name~bank && {created>2024-01-01 || description=vip}

Comparisons: `=`, `!=`, `~` (contains), `>`, `<`, `>=`, `<=`; `&&` binds tighter than
`||`; `{ }` groups, at most MAX_GROUP_DEPTH deep. Strings compare case-insensitively, as
Codat's do. Each list operation declares which properties it can filter and order by;
anything else is a 400 naming the property, never a silent no-op. Values are read as
strictly as the column they meet: a number in JSON's notation and below 10^15 (before
any arithmetic: `1e999999` would cost seconds of CPU as an integer), a real calendar
date or date-time with an offset the world uses (-12:00 to +14:00).
"""

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter

from apps.core.money import JSON_NUMBER, beyond_money_limit
from apps.core.refusals import Refused

QUERY_PARAMETERS = [
    OpenApiParameter("query", str, description="Codat query string, e.g. `name~bank && created>2024-01-01`."),
    OpenApiParameter("orderBy", str, description="Property to order by; prefix `-` for descending."),
]
OPERATORS = ("!=", ">=", "<=", "=", ">", "<", "~")
_TOKEN = re.compile(r"\s*(&&|\|\||\{|\}|[^&|{}]+)")
_COMPARISON = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(!=|>=|<=|=|>|<|~)\s*(.*?)\s*$", re.S)
MAX_GROUP_DEPTH = 10
# UTC offsets in use run from -12:00 to +14:00.
_OFFSETS = (timedelta(hours=-12), timedelta(hours=14))


@dataclass(frozen=True)
class Field:
    """A queryable property: its ORM path and how to read a value for it."""

    path: str
    kind: str = "str"  # str | datetime | decimal | choice | bool

    def value(self, raw, name):
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            raw = raw[1:-1]
        elif not raw:
            raise _malformed(f"{name} has no value to compare with")
        if self.kind == "datetime":
            return _moment(raw, name)
        if self.kind == "decimal":
            # NaN and Infinity cannot be compared with a column; 1_000 and ١ are not numbers here.
            if not JSON_NUMBER.fullmatch(raw):
                raise _malformed(f"{raw!r} is not a number for {name}")
            try:
                number = Decimal(raw)
            except InvalidOperation:  # an exponent past Decimal's own limits
                number = None
            if number is None or beyond_money_limit(number):
                raise _malformed(f"{raw!r} is out of range for {name}")
            return number
        if self.kind == "bool":
            if raw.lower() not in ("true", "false"):
                raise _malformed(f"{raw!r} is not true or false for {name}")
            return raw.lower() == "true"
        return raw


def _malformed(reason):
    return Refused(f"Error parsing query - Malformed query. {reason}.")


def _moment(raw, name):
    """A date or date-time value, in UTC when it says no offset (a date is its midnight);
    well formed but off the calendar (2024-02-30, T25:00) or with an offset no place has
    is malformed."""
    try:
        parsed = parse_datetime(raw) or parse_date(raw)
    except ValueError:
        parsed = None
    if parsed is None:
        raise _malformed(f"{raw!r} is not a date or date-time for {name}")
    if not isinstance(parsed, datetime):
        return datetime.combine(parsed, time.min, tzinfo=UTC)
    offset = parsed.utcoffset()
    if offset is None:
        return parsed.replace(tzinfo=UTC)
    if not _OFFSETS[0] <= offset <= _OFFSETS[1]:
        raise _malformed(f"{raw!r} has a UTC offset outside -12:00 to +14:00 for {name}")
    return parsed


def _comparison(text, fields, entity):
    match = _COMPARISON.match(text)
    if not match:
        raise _malformed(f"could not read {text.strip()!r}")
    name, op, raw = match.groups()
    field = fields.get(name)
    if field is None:
        raise Refused(f"Error parsing query - Could not resolve property {name} on {entity}")
    value = field.value(raw, name)
    text_like = field.kind in ("str", "choice")
    if op == "~":
        if not text_like:
            raise _malformed(f"~ (contains) applies to text properties, not {name}")
        return Q(**{f"{field.path}__icontains": value})
    if op in ("=", "!="):
        lookup = "iexact" if text_like else "exact"
        q = Q(**{f"{field.path}__{lookup}": value})
        return ~q if op == "!=" else q
    lookup = {">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}[op]
    return Q(**{f"{field.path}__{lookup}": value})


def _parse(tokens, pos, fields, entity):
    """expr := term ('||' term)* ; term := factor ('&&' factor)* ; factor := '{' expr '}' | comparison"""

    def factor(pos, depth):
        if pos >= len(tokens):
            raise _malformed("the query ends too early")
        token = tokens[pos]
        if token == "{":
            if depth == MAX_GROUP_DEPTH:
                raise _malformed(f"groups may nest at most {MAX_GROUP_DEPTH} deep")
            q, pos = expr(pos + 1, depth + 1)
            if pos >= len(tokens) or tokens[pos] != "}":
                raise _malformed("a { has no matching }")
            return q, pos + 1
        if token in ("&&", "||", "}"):
            raise _malformed(f"unexpected {token}")
        return _comparison(token, fields, entity), pos + 1

    def term(pos, depth):
        q, pos = factor(pos, depth)
        while pos < len(tokens) and tokens[pos] == "&&":
            right, pos = factor(pos + 1, depth)
            q &= right
        return q, pos

    def expr(pos, depth):
        q, pos = term(pos, depth)
        while pos < len(tokens) and tokens[pos] == "||":
            right, pos = term(pos + 1, depth)
            q |= right
        return q, pos

    return expr(pos, 0)


def query_to_q(query: str, fields: dict[str, Field], entity: str) -> Q:
    """Parse a Codat query into a Q object over the declared fields."""
    tokens = [t.strip() for t in _TOKEN.findall(query) if t.strip()]
    if not tokens:
        return Q()
    if "".join(tokens).replace(" ", "") != re.sub(r"\s", "", query):
        raise _malformed("stray & or | (use && and ||)")
    q, pos = _parse(tokens, 0, fields, entity)
    if pos != len(tokens):
        raise _malformed(f"unexpected {tokens[pos]}")
    return q


def tags_to_q(query: str, path: str = "tags") -> Q:
    """Companies' `tags` filter: the same language over the keys of a JSON object."""
    tokens = [t.strip() for t in _TOKEN.findall(query) if t.strip()]
    if not tokens:
        return Q()

    class AnyKey(dict):
        def get(self, key, default=None):
            return Field(f"{path}__{key}")

    q, pos = _parse(tokens, 0, AnyKey(), "tags")
    if pos != len(tokens):
        raise _malformed(f"unexpected {tokens[pos]}")
    return q


def _through_relations(model, fields: dict[str, Field]) -> dict[str, Field]:
    """A field declared by a foreign key's column (`connection_id`) as the related primary
    key (`connection__pk`): text lookups such as iexact exist on the key, not on the join."""
    resolved = {}
    for name, field in fields.items():
        try:
            model_field = model._meta.get_field(field.path)
        except FieldDoesNotExist:
            model_field = None
        if model_field is not None and model_field.is_relation and field.path == model_field.attname:
            field = replace(field, path=f"{model_field.name}__pk")
        resolved[name] = field
    return resolved


def apply_query(queryset, request, fields: dict[str, Field], entity: str, default_order: str):
    """Filter by `query` and order by `orderBy` (comma-separated, `-` for descending)."""
    fields = _through_relations(queryset.model, fields)
    query = request.query_params.get("query")
    if query:
        queryset = queryset.filter(query_to_q(query, fields, entity))
    order = []
    for part in filter(None, (p.strip() for p in request.query_params.get("orderBy", "").split(","))):
        name = part.lstrip("-")
        field = fields.get(name)
        if field is None:
            raise Refused(f"Error parsing orderBy - Could not resolve property {name} on {entity}")
        order.append(("-" if part.startswith("-") else "") + field.path)
    # A stable tie-breaker keeps paging deterministic.
    return queryset.order_by(*(order or [default_order]), "pk")

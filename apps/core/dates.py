"""The "within the last year" window: Xero takes statements and feed start dates no
older than a year and not in the future. One function, used by the push rules, the
mapping use case and the portal's form."""

from datetime import date
from functools import lru_cache


@lru_cache(maxsize=16)  # a push asks it for every line, always of the same few days
def one_year_before(day: date) -> date:
    """The same calendar day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def within_last_year(day: date, *, today: date) -> bool:
    """True when `day` is between a year before `today` and `today`, both included."""
    return one_year_before(today) <= day <= today

"""Bounds on request values that the database or the calendar cannot hold. A value outside them is bad input,
refused with a 422 naming the field, not a server error (an id past 64 bits overflows the database driver, a
date at the calendar's ends overflows when shifted to UTC or to the next day).

No HTTP here: the API's schemas and routes use these, and so may the services they share them with.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from claimwatch.errors import Invalid

# The largest id a 64-bit signed integer column holds (SQLite INTEGER, PostgreSQL BIGINT).
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID, description="a record id")]
# Counts and amounts that fit a 64-bit column with room to spare.
MAX_COUNT = 10**15

# Dates a query or a filter may name: anything outside is a typing error, and far from the calendar's ends.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999
EARLIEST_INSTANT = dt.datetime(EARLIEST_YEAR, 1, 1, tzinfo=dt.UTC)
END_OF_INSTANTS = dt.datetime(LATEST_YEAR + 1, 1, 1, tzinfo=dt.UTC)


def checked_instant(field: str, value: dt.datetime | None) -> dt.datetime | None:
    """``value`` if it has a time zone offset and lies in the years the application handles; else
    :class:`Invalid` (422) naming ``field``."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(field, "give a time zone offset, e.g. +08:00")
    if not EARLIEST_INSTANT <= value < END_OF_INSTANTS:
        raise Invalid(field, f"a time in the years {EARLIEST_YEAR}–{LATEST_YEAR}")
    return value


def checked_date(field: str, value: dt.date) -> dt.date:
    """``value`` if it lies in the years the application handles; else :class:`Invalid` (422) naming ``field``."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise Invalid(field, f"a date in the years {EARLIEST_YEAR}–{LATEST_YEAR}")
    return value

"""Bounds on request values that the database or the calendar cannot hold. A value outside them is bad input,
refused with a 422 naming the field, not a server error (an id past 64 bits overflows the database driver, a
date at the calendar's ends overflows when shifted to UTC or to the next day).

No HTTP here: the API's schemas and routes use these, and so may the services they share them with.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from claimwatch.db import utc_now
from claimwatch.errors import Invalid
from claimwatch.privacy import scrub_text

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


# -- times and texts a service records ---------------------------------------------------------------------
# What the write services of several domains (actions, rectification) check the same way.

MAX_TEXT = 4000
FUTURE_SLACK = dt.timedelta(minutes=5)  # a clock a little ahead of the server's is not "the future"


def event_time(
    at: dt.datetime | None, floor: dt.datetime | None = None, *, field: str = "at", floor_event: str = "it began"
) -> dt.datetime:
    """When a recorded event happened, as UTC: ``at`` (a backdated event: with an offset, not in the future,
    not before ``floor``, the record's start, which ``floor_event`` names in the message) or now (not before
    ``floor``). Else :class:`Invalid` naming ``field``."""
    now = utc_now()
    if at is None:
        return now if floor is None else max(now, floor)
    if at.tzinfo is None:
        raise Invalid(field, "give the time with a UTC offset")
    if at > now + FUTURE_SLACK:
        raise Invalid(field, f"{field} {at.isoformat()} is in the future")
    if floor is not None and at < floor:
        raise Invalid(field, f"{field} {at.isoformat()} is before {floor_event}")
    return at.astimezone(dt.UTC)


def clean_text(value: str | None, field: str, required: bool, limit: int = MAX_TEXT) -> str | None:
    """A text as stored: stripped, personal data scrubbed, at most ``limit`` characters; None when empty
    and not ``required``. Else :class:`Invalid` naming ``field``."""
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise Invalid(field, f"{field} must be text")
    if not text:
        if required:
            raise Invalid(field, f"{field} is required")
        return None
    if len(text) > limit:
        raise Invalid(field, f"{field} is longer than {limit} characters")
    return scrub_text(text)


# -- phone and ID numbers ----------------------------------------------------------------------------------
# The one place these are checked: the API schemas (complaints, claim reports) and every form use them, so a
# number one accepts the other does too. Pydantic schemas use the ``*Field`` types below; their errors carry
# the types ``phone_format``, ``id_number_format``, ``id_number_check_digit`` and ``id_number_birth_date``,
# which the pages translate (``claimwatch.web.forms``).

_SEPARATORS = re.compile(r"[\s\-()（）]")
MOBILE = re.compile(r"1[3-9]\d{9}")
# A mainland landline: area code (010, 02x, or 0 + 3 digits from 03xx), then 7–8 digits.
LANDLINE = re.compile(r"(?:010|02\d|0[3-9]\d{2})\d{7,8}")
# Elsewhere (e.g. +852 Hong Kong): a country code other than 86 and 6–14 more digits.
INTERNATIONAL = re.compile(r"\+(?!86)[1-9]\d{6,14}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
RESIDENT_ID = re.compile(r"\d{17}[\dX]")
# The standard's own example (440524188001010014) was born in 1880: earlier is a typing error.
ID_EARLIEST_BIRTH_YEAR = 1850
# Other documents (passport, Hong Kong/Macao/Taiwan permits): letters and digits.
OTHER_DOCUMENT = re.compile(r"[0-9A-Z]{6,32}")


class NumberProblem(ValueError):
    """A phone or ID number refused: ``code`` says why (the pages translate it), the text is English."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def normalise_phone(value: str) -> str:
    """A phone number as stored: spaces, dashes and brackets dropped, a mainland mobile without its +86/86
    prefix (``+86 138-1234-5678`` → ``13812345678``), a landline as ``area-number`` (``010-12345678``), a
    number abroad with its ``+`` country code. :class:`NumberProblem` (``phone_format``) otherwise."""
    raw = value.strip()
    extension = ""
    for mark in ("转", "ext.", "ext", "#"):
        if mark in raw.lower():
            raw, _, extension = raw.lower().partition(mark)
            extension = _SEPARATORS.sub("", extension)
            break
    digits = _SEPARATORS.sub("", raw)
    if extension and not extension.isdigit():
        extension = "x"  # refused below
    for prefix in ("+86", "0086", "86"):
        rest = digits[len(prefix) :]
        if not digits.startswith(prefix) or (prefix == "86" and not MOBILE.fullmatch(rest)):
            continue
        # +86 10 1234 5678: a landline written from abroad drops its leading 0.
        digits = rest if MOBILE.fullmatch(rest) or rest.startswith("0") else "0" + rest
        break
    if MOBILE.fullmatch(digits) and not extension:
        return digits
    if LANDLINE.fullmatch(digits) and len(extension) <= 6 and extension != "x":
        area = 3 if digits[1] in "12" else 4  # 010, 020–029: three digits; the rest four
        number = f"{digits[:area]}-{digits[area:]}"
        return f"{number}-{extension}" if extension else number
    if INTERNATIONAL.fullmatch(digits) and not extension:
        return digits
    raise NumberProblem(
        "phone_format", "a mainland mobile (11 digits, 1[3-9]…), a landline with its area code, or +country code"
    )


def is_mobile(value: str) -> bool:
    """Whether ``value`` is a mainland mobile number (after normalising): what an SMS can reach."""
    try:
        return MOBILE.fullmatch(normalise_phone(value)) is not None
    except NumberProblem:
        return False


def id_check_digit(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of an ID number's first 17 digits."""
    return _ID_CHECK[sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalise_id_number(value: str, today: dt.date | None = None, *, check: bool = True) -> str:
    """An ID document number as stored (upper case, spaces dropped). An 18-character resident ID number
    (17 digits and a digit or X) must have the right check digit and a real date of birth, not in the future
    and not before 1850; other documents are 6–32 letters and digits. :class:`NumberProblem` otherwise
    (``id_number_format``, ``id_number_check_digit``, ``id_number_birth_date``). ``check=False``: the shape
    only (what a feed from another system must meet; see :data:`CHECK_DIGITS`)."""
    text = re.sub(r"\s", "", value).upper()
    if RESIDENT_ID.fullmatch(text) or (len(text) == 18 and text[:14].isdigit()):  # meant as one
        if not RESIDENT_ID.fullmatch(text):
            raise NumberProblem("id_number_format", "a resident ID number is 17 digits and a digit or X")
        if not check:
            return text
        try:
            born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
        except ValueError:
            raise NumberProblem("id_number_birth_date", "the date of birth in the ID number is not a date") from None
        latest = today or dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
        if born.year < ID_EARLIEST_BIRTH_YEAR or born > latest:
            raise NumberProblem("id_number_birth_date", "the date of birth in the ID number is out of range")
        if id_check_digit(text[:17]) != text[17]:
            raise NumberProblem("id_number_check_digit", "the ID number's check digit does not match")
        return text
    if text.isdigit() and len(text) == 17:
        raise NumberProblem("id_number_format", "a resident ID number has 18 characters")
    if not OTHER_DOCUMENT.fullmatch(text):
        raise NumberProblem("id_number_format", "a resident ID number or another document's 6–32 letters and digits")
    return text


# The validation context key a form sets (``model_validate(data, context={CHECK_DIGITS: True})``): a person
# typing at a page is told of a wrong check digit at once; a feed from another system (the event and
# complaint APIs, the CSV imports) is not refused for it, since that would lose a case with a legal
# deadline over a typo the other system already holds.
CHECK_DIGITS = "check_id_digits"


def _phone(value: str) -> str:
    try:
        return normalise_phone(value)
    except NumberProblem as exc:
        raise PydanticCustomError(exc.code, str(exc)) from None


def _id_number(value: str, info: ValidationInfo) -> str:
    strict = bool(info.context and info.context.get(CHECK_DIGITS))
    try:
        return normalise_id_number(value) if strict else normalise_id_number(value, check=False)
    except NumberProblem as exc:
        raise PydanticCustomError(exc.code, str(exc)) from None


PhoneField = Annotated[str, Field(max_length=40), AfterValidator(_phone)]
IdNumberField = Annotated[str, Field(max_length=40), AfterValidator(_id_number)]


# -- date ranges -------------------------------------------------------------------------------------------


def checked_range(
    start_field: str, start: dt.date | None, end_field: str, end: dt.date | None
) -> tuple[dt.date | None, dt.date | None]:
    """A from–to pair (dates or instants) both within the years the application handles and not reversed;
    else :class:`Invalid` (422) naming the field (the end when reversed). Either may be open (``None``)."""
    for name, value in ((start_field, start), (end_field, end)):
        if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise Invalid(name, f"a date in the years {EARLIEST_YEAR}–{LATEST_YEAR}")
    if start is not None and end is not None and end < start:
        raise Invalid(end_field, f"{end_field} is before {start_field}")
    return start, end

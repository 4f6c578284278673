"""The one translation path for what a form refuses: a Pydantic error or a service's ``Problem`` becomes, per
field, a message in the page's language (``N_`` msgids, translated here), never the validator's own text.

Every page that shows form errors builds them here (:func:`validation_problems`, :func:`problem_for`), so
Chinese pages carry no English and the same mistake reads the same on every form. The checks themselves
(phone and ID numbers, date ranges) live in :mod:`claimwatch.params`; their error codes are mapped below.

A problem is a dict the templates read: ``field``, ``message`` (translated), ``detail`` (the service's own
English explanation, kept on English pages only, where it adds the specifics: which status, which deadline),
``code`` and ``hint`` (always ``None`` now; kept for templates that still look for it).
JSON API errors are not translated: they stay English with field names, for the programs that read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from claimwatch.errors import Problem
from claimwatch.params import EARLIEST_YEAR, LATEST_YEAR
from claimwatch.web.i18n import N_, translate

REQUIRED = N_("This field is required.")
CHECK_VALUE = N_("Check this value.")
TOO_LONG = N_("This is too long: at most %(max)s characters.")
TOO_MANY = N_("Too many chosen: at most %(max)s.")
CHOOSE = N_("Choose one of the options.")
NUMBER = N_("Enter a number in the allowed range.")
AMOUNT = N_("Enter an amount in yuan, such as 1200.50.")
DATE_TIME = N_("Enter a date and time, not in the future.")
DATE = N_("Enter a date as YYYY-MM-DD.")
MONTH = N_("Enter a month as YYYY-MM.")
YEARS = N_("Enter a date in the years %(first)s–%(last)s.")
RANGE = N_("The end of the period is before its start.")
NOT_EXPECTED = N_("This field is not expected.")
PHONE = N_("Enter a mobile number (11 digits starting with 13–19) or a landline with its area code, e.g. 010-12345678.")
ID_FORMAT = N_(
    "Enter an 18-character resident ID number (the last may be X), or another document's 6 to 32 letters and digits."
)
ID_CHECK_DIGIT = N_(
    "The last character of this ID number (the check digit) does not match the others: check the number."
)
ID_BIRTH_DATE = N_("The date of birth inside this ID number is not a real date.")
EMAIL = N_("Enter an e-mail address such as name@example.com.")

# By the Pydantic error type (or a code of claimwatch.params).
TYPE_MESSAGES: dict[str, str] = {
    "missing": REQUIRED,
    "string_too_short": REQUIRED,
    "too_short": REQUIRED,
    "string_too_long": TOO_LONG,
    "too_long": TOO_MANY,
    "literal_error": CHOOSE,
    "enum": CHOOSE,
    "extra_forbidden": NOT_EXPECTED,
    "phone_format": PHONE,
    "id_number_format": ID_FORMAT,
    "id_number_check_digit": ID_CHECK_DIGIT,
    "id_number_birth_date": ID_BIRTH_DATE,
    "datetime_parsing": DATE_TIME,
    "datetime_from_date_parsing": DATE_TIME,
    "datetime_type": DATE_TIME,
    "timezone_aware": DATE_TIME,
    "date_parsing": DATE,
    "date_from_datetime_parsing": DATE,
    "date_type": DATE,
    "int_parsing": NUMBER,
    "int_type": NUMBER,
    "greater_than": NUMBER,
    "greater_than_equal": NUMBER,
    "less_than": NUMBER,
    "less_than_equal": NUMBER,
}
# By the field, when the type says nothing useful (a pattern, a value error) or a service refused it.
FIELD_MESSAGES: dict[str, str] = {
    "phone": PHONE,
    "claimant_phone": PHONE,
    "id_number": ID_FORMAT,
    "email": EMAIL,
    "compensation": AMOUNT,
    "premium": AMOUNT,
    "received_at": N_("Enter a date and time, not in the future and not before the complaint was received."),
    "regulator_received_at": N_("Only for a regulator transfer: when the regulator received it, not after we did."),
    "at": N_("Enter a date and time, not in the future and not before the complaint was received."),
    "channel": N_("Choose a channel from the list."),
    "category": N_("Choose a category from the list."),
    "sub_cause": N_("Choose a sub-cause of the chosen category."),
    "claim_number": N_("No claim with this number is known at your company."),
    "region_code": N_("Choose a region from the list."),
    "region": N_("Choose a region from the list."),
    "org_code": N_("Choose an org unit of your company."),
    "line": N_("Choose a line of business from the list."),
    "complainant": N_("Give the complainant's phone, ID number or e-mail, or the claim number."),
    "complex_reason": N_("Say why the complaint is complex."),
    "major_reasons": N_("Choose at least one reason that is not already recorded."),
    "outcome": CHOOSE,
    "status": N_("This action does not fit the complaint's current status."),
    "complex": N_("Not possible: mark the complaint complex first, and only once per cycle."),
    "appraisal": N_("Not possible while the appraisal is in this state."),
    "deadline": N_("The deadline cannot be worked out for this date (the holiday calendar is missing)."),
    "contact": N_("The complainant has no phone, e-mail or postal address for the notice the law requires."),
    "approver": N_("Your role may not approve this."),
    "role": N_("Your role may not do this."),
    "tenant": N_("Choose an insurer you may see."),
    "number": N_("No such complaint."),
    "external_ref": N_("This sender's reference is already recorded."),
    "period_from": MONTH,
    "period_to": MONTH,
    "from": DATE,
    "to": DATE,
    "since": DATE,
    "until": DATE,
    "top": NUMBER,
    "by": CHOOSE,
    "type": CHOOSE,
    "drill": CHOOSE,
    "file": N_("Choose a CSV file to import."),
}
# The fields a date range's end goes by: a reversed or too long range is refused on these.
RANGE_ENDS = frozenset({"to", "until", "period_to", "date_to"})
LONG_PERIOD = N_("The period is too long: choose fewer months.")
# Service messages that say more than the field's default: (only on these fields, or any; words in it).
_SERVICE_MESSAGES: tuple[tuple[frozenset[str] | None, str, str], ...] = (
    (None, "in the years", YEARS),
    (RANGE_ENDS, " is before ", RANGE),
    (RANGE_ENDS, "at most", LONG_PERIOD),
)


def _format(locale: str, msgid: str, **values: Any) -> str:
    text = translate(locale, msgid)
    return text % values if values else text


def message_for(locale: str, field: str, code: str | None = None, context: Mapping[str, Any] | None = None) -> str:
    """The message, in ``locale``, for ``field`` refused with ``code`` (a Pydantic error type or a code of
    :mod:`claimwatch.params`)."""
    values = dict(context or {})
    msgid = TYPE_MESSAGES.get(code or "")
    if msgid in (TOO_LONG, TOO_MANY):
        return _format(locale, msgid, max=values.get("max_length", "?"))
    if msgid is None or msgid == CHECK_VALUE:
        msgid = FIELD_MESSAGES.get(field, CHECK_VALUE)
    return _format(locale, msgid)


def _problem(field: str, message: str, detail: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"field": field, "message": message, "detail": detail, "code": code, "hint": None}


def validation_problems(
    error: ValidationError, locale: str, skip: Iterable[str] = ("body",), aliases: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Pydantic's errors by form field, translated; the first error of each field. ``skip``: location parts
    that are not the form's (``body``, a nested model's name such as ``complainant``); ``aliases``: a schema
    field's form name where they differ."""
    skipped = set(skip)
    found: dict[str, dict[str, Any]] = {}
    for item in error.errors():
        parts = [str(part) for part in item["loc"] if part not in skipped and not isinstance(part, int)]
        name = parts[0] if parts else "form"
        name = (aliases or {}).get(name, name)
        code = str(item["type"])
        if code == "value_error" and "years" in str(item.get("msg", "")):
            message = _format(locale, YEARS, first=EARLIEST_YEAR, last=LATEST_YEAR)
        else:
            message = message_for(locale, name, code, item.get("ctx"))
        found.setdefault(name, _problem(name, message, code=code))
    return found


def problem_for(locale: str, exc: Problem, field: str | None = None) -> dict[str, Any]:
    """A service's refusal of ``exc.field`` (or ``field``) as the page shows it: the field's message in the
    page's language; on English pages the service's own explanation as the detail."""
    name = field or exc.field
    msgid = next(
        (
            found
            for fields, words, found in _SERVICE_MESSAGES
            if (fields is None or name in fields) and words in exc.message
        ),
        None,
    )
    if msgid == YEARS:
        message = _format(locale, YEARS, first=EARLIEST_YEAR, last=LATEST_YEAR)
    else:
        message = _format(locale, msgid) if msgid else message_for(locale, name)
    detail = exc.message if locale == "en" and exc.message else None
    return _problem(name, message, detail=detail, code=getattr(exc, "code", None))


def field_problem(locale: str, field: str, code: str | None = None) -> dict[str, Any]:
    """A refusal the page itself makes (a required field left empty: ``code="missing"``)."""
    return _problem(field, message_for(locale, field, code), code=code)


def range_problem(locale: str, field: str) -> dict[str, Any]:
    """A reversed date range, refused on its end ``field``."""
    return _problem(field, _format(locale, RANGE), code="date_range")


async def _posted_form(request: Request) -> FormData:
    return await request.form()


# The posted form, read before the route runs: a route that writes should be a plain function (run in the thread
# pool) taking this, so a write waiting for SQLite's lock never blocks the event loop another request's commit needs.
PostedForm = Annotated[FormData, Depends(_posted_form)]

"""The decision letter (处理决定书), rendered from a Jinja template in defaults/complaints/letters.

The letter states the facts verified, the basis and reasons, the outcome and any compensation, and the
remedies (review within 30 days, mediation, arbitration, court).

Two forms of one text:

- the **stored copy** (:func:`render_decision`) kept on the complaint and sent through the outbox: it shows in
  staff lists (messages, the complaint page), so it names the complainant masked and passes ``scrub_text``;
- the **letter itself** (:func:`letter_document`), printed or downloaded as PDF for the complainant: the same
  text addressed to the complainant by full name (it is their own letter).

A letter never carries a blank date: rendering refuses (:class:`LetterRefused`, 409) when the review deadline,
the decision date or the receipt date is missing — e.g. the review deadline falls in a year beyond the
working-day calendar — and so does printing a stored copy that lacks one. A review deadline computed on a
provisional calendar (the year's official holiday arrangement not loaded yet) is printed marked 暂定.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from claimwatch.config import PACKAGE_DIR
from claimwatch.errors import Conflict
from claimwatch.privacy import mask_name, scrub_text

LETTER_DIR = PACKAGE_DIR / "defaults" / "complaints" / "letters"


# Dates written to a complainant (letters, notices, numbers) are in the insurer's zone
# (``tenancy.service.tenant_zone``), the zone its deadlines are counted in.


def local_time(value: dt.datetime, zone: dt.tzinfo, with_time: bool = True) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def local_date(value: dt.datetime | None, zone: dt.tzinfo) -> str | None:
    return local_time(value, zone, with_time=False) if value is not None else None


def due_date(value: dt.datetime | None, zone: dt.tzinfo) -> str | None:
    """The last day of a deadline as people say it: a whole-day deadline ends at the local midnight that
    closes its last day, so 'by 2026-11-17' is the instant 2026-11-18 00:00."""
    return local_date(value - dt.timedelta(microseconds=1), zone) if value is not None else None


@dataclass(frozen=True)
class LetterFacts:
    number: str
    name: str | None
    received_date: str
    channel_label: str
    category_label: str
    sub_cause_label: str | None
    claim_number: str | None
    facts: str
    basis: str
    outcome_label: str
    remedy: str | None
    compensation: Decimal | None
    review_deadline: str
    insurer: str
    decided_date: str
    # The review deadline was computed on a provisional year (statutory holidays only, 暂定).
    review_deadline_provisional: bool = False


class LetterRefused(Conflict):
    """A letter that would print a blank or malformed date is not written (409, naming the field)."""


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATES = (
    ("received_date", "the date the complaint was received"),
    ("review_deadline", "the review deadline (30 days from the decision)"),
    ("decided_date", "the decision date"),
)


def _check_dates(facts: LetterFacts) -> None:
    for field, what in _DATES:
        value = getattr(facts, field)
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            reason = (
                " (is the working-day calendar of that year loaded? see `claimwatch calendar years`)"
                if field == "review_deadline"
                else ""
            )
            raise LetterRefused(field, f"the decision letter cannot be written without {what}{reason}")


def salutation_name(name: str | None, locale: str) -> str:
    """The stored copy's form of address: the masked name, or a neutral one when the name is unknown."""
    return mask_name(name) or ("complainant" if locale == "en" else "投诉人")


@lru_cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(LETTER_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # plain text: stored, sent by SMS/email, printed
        keep_trailing_newline=False,
    )


def render_decision(facts: LetterFacts, locale: str = "zh") -> str:
    """The stored copy (masked name); raises :class:`LetterRefused` rather than print a blank date."""
    _check_dates(facts)
    template = _environment().get_template(f"decision.{'en' if locale == 'en' else 'zh'}.txt")
    text = template.render(
        number=facts.number,
        name=salutation_name(facts.name, locale),
        received_date=facts.received_date,
        channel_label=facts.channel_label,
        category_label=facts.category_label,
        sub_cause_label=facts.sub_cause_label,
        claim_number=facts.claim_number,
        facts=facts.facts.strip(),
        basis=facts.basis.strip(),
        outcome_label=facts.outcome_label,
        remedy=facts.remedy.strip() if facts.remedy else None,
        compensation=f"{facts.compensation:,.2f}" if facts.compensation else None,
        review_deadline=facts.review_deadline,
        review_deadline_provisional=facts.review_deadline_provisional,
        insurer=facts.insurer,
        decided_date=facts.decided_date,
    )
    return scrub_text(text.strip())


# -- the letter itself: printed and downloaded ------------------------------------------------------

_REVIEW_DEADLINE = {"zh": re.compile(r"即 (\d{4}-\d{2}-\d{2}) 前"), "en": re.compile(r"\(by (\d{4}-\d{2}-\d{2})")}
_SALUTATION = {"zh": re.compile(r"^(?P<name>[^：\s][^：]*)：$"), "en": re.compile(r"^Dear (?P<name>.+),$")}
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|\d+\. [A-Z])")
# The templates' words for a provisional review deadline (decision.*.txt).
_PROVISIONAL = ("按法定节假日暂定", "provisional: that year's public holiday arrangement")


@dataclass(frozen=True)
class LetterBlock:
    heading: str | None
    lines: list[str]


@dataclass(frozen=True)
class LetterDocument:
    """A stored letter laid out for print: title, reference, salutation (full name), body blocks, signature."""

    locale: str
    number: str
    title: str
    reference: str
    salutation: str
    blocks: list[LetterBlock]
    insurer: str
    date: str
    review_deadline: str
    provisional: bool

    @property
    def filename(self) -> str:
        return f"{self.title}-{self.number}.pdf"


def letter_locale(text: str) -> str:
    return "zh" if "投诉处理决定书" in text.split("\n", 1)[0] else "en"


def letter_document(text: str | None, number: str, full_name: str | None) -> LetterDocument:
    """The stored copy of complaint ``number``'s letter as the letter itself: addressed by ``full_name``.

    Refuses (:class:`LetterRefused`) a missing letter and a stored copy whose review deadline or date is
    blank (a letter written before blank dates were refused): such a letter is not printed."""
    if not text or not text.strip():
        raise LetterRefused("letter", f"complaint {number} has no decision letter yet")
    locale = letter_locale(text)
    lines = [line.rstrip() for line in text.strip().split("\n")]
    deadline = _REVIEW_DEADLINE[locale].search(text)
    if deadline is None:
        raise LetterRefused(
            "review_deadline",
            f"the letter of complaint {number} has no review deadline: it cannot be printed; "
            "decide again or write the letter by hand with the deadline",
        )
    date = lines[-1].strip()
    if not ISO_DATE.fullmatch(date):
        raise LetterRefused(
            "decided_date", f"the letter of complaint {number} has no decision date: it cannot be printed"
        )
    if len(lines) < 6:
        raise LetterRefused("letter", f"the letter of complaint {number} is not a decision letter")
    salutation_at = next((i for i, line in enumerate(lines[2:6], start=2) if _SALUTATION[locale].match(line)), None)
    if salutation_at is None:
        raise LetterRefused("letter", f"the letter of complaint {number} has no form of address")
    addressee = (full_name or "").strip() or salutation_name(None, locale)
    salutation = f"Dear {addressee}," if locale == "en" else f"{addressee}："
    blocks: list[LetterBlock] = []
    current: list[str] = []
    for line in [*lines[salutation_at + 1 : -2], ""]:
        if line.strip():
            current.append(line)
            continue
        if current:
            heading = current[0] if _HEADING.match(current[0]) else None
            blocks.append(LetterBlock(heading, current[1:] if heading else current))
            current = []
    return LetterDocument(
        locale=locale,
        number=number,
        title=lines[0].strip(),
        reference=lines[1].strip(),
        salutation=salutation,
        blocks=blocks,
        insurer=lines[-2].strip(),
        date=date,
        review_deadline=deadline.group(1),
        provisional=any(word in text for word in _PROVISIONAL),
    )

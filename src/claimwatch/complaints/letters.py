"""The decision letter (处理决定书), rendered from a Jinja template in defaults/complaints/letters.

The letter states the facts verified, the basis and reasons, the outcome and any compensation, and the
remedies (review within 30 days, mediation, arbitration, court). It names the complainant masked and passes
``scrub_text``: it is stored on the complaint and sent through the outbox, so it never carries an ID or
phone number in clear.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from claimwatch.config import PACKAGE_DIR
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


@lru_cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(LETTER_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # plain text: stored, sent by SMS/email, printed
        keep_trailing_newline=False,
    )


def render_decision(facts: LetterFacts, locale: str = "zh") -> str:
    template = _environment().get_template(f"decision.{'en' if locale == 'en' else 'zh'}.txt")
    text = template.render(
        number=facts.number,
        name=mask_name(facts.name) or ("投诉人" if locale != "en" else "complainant"),
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
        insurer=facts.insurer,
        decided_date=facts.decided_date,
    )
    return scrub_text(text.strip())

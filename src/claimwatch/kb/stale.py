"""The stale-article report: published articles not reviewed (approved) for ``months`` months (default 12), and
articles handlers find unhelpful — a helpful share below ``min_share`` with at least ``min_answers`` answers.
Oldest review first. The knowledge-base pages show it with a CSV export; the API answers it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from claimwatch.db import utc_now
from claimwatch.errors import Invalid
from claimwatch.kb import repository
from claimwatch.kb.models import KbArticle

DEFAULT_MONTHS = 12
DEFAULT_MIN_SHARE = 0.5
DEFAULT_MIN_ANSWERS = 5
NOT_REVIEWED = "not_reviewed"
UNHELPFUL = "unhelpful"


@dataclass(frozen=True)
class StaleRule:
    months: int = DEFAULT_MONTHS
    min_share: float = DEFAULT_MIN_SHARE
    min_answers: int = DEFAULT_MIN_ANSWERS

    def checked(self) -> StaleRule:
        if not 1 <= self.months <= 120:
            raise Invalid("months", "months is 1–120")
        if not 0 <= self.min_share <= 1:
            raise Invalid("min_share", "min_share is a share between 0 and 1")
        if not 1 <= self.min_answers <= 10_000:
            raise Invalid("min_answers", "min_answers is 1–10000")
        return self


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day ``months`` earlier (the month's last day when it has fewer days)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def report(
    session: Session,
    on: dt.date | None = None,
    *,
    months: int = DEFAULT_MONTHS,
    min_share: float = DEFAULT_MIN_SHARE,
    min_answers: int = DEFAULT_MIN_ANSWERS,
) -> list[dict[str, Any]]:
    """The stale published articles as of ``on`` (default today): reasons ``not_reviewed`` and/or
    ``unhelpful``. Bad bounds are :class:`Invalid` naming the parameter."""
    rule = StaleRule(months, min_share, min_answers).checked()
    day = on or utc_now().date()
    cutoff = months_before(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC), rule.months)
    answers = KbArticle.helpful_yes + KbArticle.helpful_no
    rows = session.execute(
        select(KbArticle)
        .where(KbArticle.status == "published")
        .where(
            or_(
                KbArticle.reviewed_at.is_(None),
                KbArticle.reviewed_at < cutoff,
                (answers >= rule.min_answers) & (KbArticle.helpful_yes < rule.min_share * answers),
            )
        )
        .order_by(KbArticle.reviewed_at, KbArticle.code)
    ).scalars()
    articles = list(rows)
    owners = repository.usernames(session, [a.owner_id for a in articles if a.owner_id is not None])
    found = []
    for article in articles:
        total = article.helpful_yes + article.helpful_no
        share = article.helpful_yes / total if total else None
        reasons = []
        if article.reviewed_at is None or article.reviewed_at < cutoff:
            reasons.append(NOT_REVIEWED)
        if total >= rule.min_answers and share is not None and share < rule.min_share:
            reasons.append(UNHELPFUL)
        found.append(
            {
                "code": article.code,
                "title": article.title,
                "category": article.category,
                "owner": owners.get(article.owner_id) if article.owner_id is not None else None,
                "reviewed_at": article.reviewed_at,
                "helpful_yes": article.helpful_yes,
                "helpful_no": article.helpful_no,
                "helpful_share": round(share, 4) if share is not None else None,
                "reasons": reasons,
            }
        )
    return found

"""What satisfaction surveys put in an inspector's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`):
the low scores (overall 0–6, the detractors) of the last :data:`LOW_SCORE_DAYS` days, newest first, each
opening the claim or complaint it was about. An inspector's own inspections join this home when the
inspection domain registers its section."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.surveys.models import Survey, SurveyResponse
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

LOW_SCORE = 6  # 0–6: a detractor
LOW_SCORE_DAYS = 30


def low_scores(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    where = [
        SurveyResponse.overall <= LOW_SCORE,
        SurveyResponse.submitted_at >= now - dt.timedelta(days=LOW_SCORE_DAYS),
    ]
    count = session.execute(select(func.count()).select_from(SurveyResponse).where(*where)).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    rows = session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.overall,
            SurveyResponse.submitted_at,
            Survey.subject_type,
            Survey.reference,
        )
        .join(Survey, Survey.id == SurveyResponse.survey_id)
        .where(*where)
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = []
    for response_id, overall, submitted_at, subject_type, reference in rows:
        path = "/complaints/" if subject_type == "complaint" else "/claims/"
        kind = N_("Complaint") if subject_type == "complaint" else N_("Claim")
        items.append(
            Item(
                title=f"{translate(locale, kind)} {reference}",
                url=path + reference,
                detail=translate(locale, N_("Overall score %(score)s / 10")) % {"score": overall},
                due_at=submitted_at,
                light="red" if overall <= 3 else "yellow",
                key=str(response_id),
            )
        )
    return Page(count, items)


registry.register(
    Source(
        key="low-scores",
        label=N_("Low satisfaction scores, last 30 days"),
        permission=Permission.INBOX_SURVEY_FOLLOW_UP,
        fetch=low_scores,
        order=30,
        empty=N_("No low score in the last 30 days."),
        links=((N_("Satisfaction surveys"), "/surveys/results"), (N_("Claims"), "/claims")),
    )
)

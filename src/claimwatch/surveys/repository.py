"""Survey queries. ORM statements are tenant-filtered by :mod:`claimwatch.db`; the statements that run
before the tenant is known (a public token) say so."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, update
from sqlalchemy.orm import Session

from claimwatch.db import bulk_insert_ignore
from claimwatch.surveys.models import Survey, SurveyResponse

_CHUNK = 900

SURVEY_COLUMNS = (
    "tenant_id",
    "subject_key",
    "subject_type",
    "claim_id",
    "complaint_id",
    "reference",
    "org_unit_id",
    "region_code",
    "line",
    "handler_id",
    "outcome",
    "token_hash",
    "status",
    "closed_at",
    "sent_at",
    "expires_at",
    "responded_at",
    "created_at",
)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def keys_sent_since(session: Session, since: dt.datetime) -> set[str]:
    """Subject keys of the tenant's surveys sent since ``since`` (the ix_surveys_tenant_sent range):
    a survey for a closure in the window was sent after that closure, so no older one can match."""
    return set(session.execute(select(Survey.subject_key).where(Survey.sent_at >= since)).scalars())


def insert_ignore(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows of :data:`SURVEY_COLUMNS`; a subject that already has a survey (another worker's) is skipped."""
    bulk_insert_ignore(session, Survey, SURVEY_COLUMNS, rows)


def by_token_hashes(session: Session, token_hashes: Sequence[str]) -> list[Survey]:
    found: list[Survey] = []
    for chunk in _chunks(token_hashes):
        found.extend(session.execute(select(Survey).where(Survey.token_hash.in_(chunk))).scalars())
    return found


def expire(session: Session, now: dt.datetime) -> int:
    """Unanswered surveys past their expiry become ``expired``; returns how many."""
    result = session.execute(
        update(Survey)
        .where(Survey.status.in_(("sent", "unreachable")), Survey.expires_at <= now)
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def tenant_of_token(session: Session, token_hash: str) -> int | None:
    """The tenant of a survey link, before any tenant is known (token hashes are unique across tenants).
    Run in the system context: the one cross-tenant read of the public path, a single indexed row."""
    return session.execute(
        select(Survey.tenant_id).where(Survey.token_hash == token_hash),
        execution_options={"include_all_tenants": True},
    ).scalar_one_or_none()


def survey_by_token(session: Session, token_hash: str, for_update: bool = False) -> Survey | None:
    statement = select(Survey).where(Survey.token_hash == token_hash)
    if for_update:
        # populate_existing: the locked row's current values, not the ones loaded before the lock.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return session.execute(statement).scalar_one_or_none()


def add_response(session: Session, response: SurveyResponse) -> SurveyResponse:
    session.add(response)
    session.flush()
    return response


# --- results ------------------------------------------------------------------------------------------


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def sent_counts(
    session: Session,
    key: ColumnElement[Any],
    start: dt.datetime,
    end: dt.datetime,
    subject_type: str | None,
    tenant_id: int | None,
) -> list[Any]:
    """(tenant_id, key, sent, unreachable, responded) of the surveys sent in [start, end)."""
    statement = select(
        Survey.tenant_id,
        key.label("key"),
        _sum(Survey.status != "unreachable"),
        _sum(Survey.status == "unreachable"),
        _sum(and_(Survey.status != "unreachable", Survey.responded_at.is_not(None))),
    ).where(Survey.sent_at >= start, Survey.sent_at < end)
    statement = _narrow(statement, subject_type, tenant_id)
    return list(session.execute(statement.group_by(Survey.tenant_id, key)).all())


def answer_sums(
    session: Session,
    key: ColumnElement[Any],
    start: dt.datetime,
    end: dt.datetime,
    subject_type: str | None,
    tenant_id: int | None,
) -> list[Any]:
    """Per (tenant_id, key) of the answers submitted in [start, end): count, then sum and count of each
    score (a skipped dimension counts nowhere), then answers with overall 9–10 and 0–6."""
    answer = SurveyResponse
    columns: list[Any] = [Survey.tenant_id, key.label("key"), func.count(answer.id)]
    for name in ("overall", "timeliness", "transparency", "attitude"):
        column = getattr(answer, name)
        columns += [func.coalesce(func.sum(column), 0), func.count(column)]
    columns += [_sum(answer.overall >= 9), _sum(answer.overall <= 6)]
    statement = (
        select(*columns)
        .join(Survey, Survey.id == answer.survey_id)
        .where(answer.submitted_at >= start, answer.submitted_at < end)
    )
    statement = _narrow(statement, subject_type, tenant_id)
    return list(session.execute(statement.group_by(Survey.tenant_id, key)).all())


def comments(
    session: Session,
    key: ColumnElement[Any],
    start: dt.datetime,
    end: dt.datetime,
    subject_type: str | None,
    tenant_id: int | None,
    limit: int,
    only: ColumnElement[bool] | None = None,
) -> list[Any]:
    """The answers with a comment submitted in [start, end) (and matching ``only``), newest first:
    (tenant_id, key, submitted_at, subject_type, reference, handler_id, org_unit_id, overall, comment)."""
    statement = (
        select(
            Survey.tenant_id,
            key.label("key"),
            SurveyResponse.submitted_at,
            Survey.subject_type,
            Survey.reference,
            Survey.handler_id,
            Survey.org_unit_id,
            SurveyResponse.overall,
            SurveyResponse.comment,
        )
        .join(Survey, Survey.id == SurveyResponse.survey_id)
        .where(
            SurveyResponse.submitted_at >= start,
            SurveyResponse.submitted_at < end,
            SurveyResponse.comment.is_not(None),
            SurveyResponse.comment != "",
        )
    )
    statement = _narrow(statement, subject_type, tenant_id)
    if only is not None:
        statement = statement.where(only)
    statement = statement.order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc()).limit(limit)
    return list(session.execute(statement).all())


def _narrow(statement: Any, subject_type: str | None, tenant_id: int | None) -> Any:
    if subject_type:
        statement = statement.where(Survey.subject_type == subject_type)
    if tenant_id is not None:
        statement = statement.where(Survey.tenant_id == tenant_id)
    return statement

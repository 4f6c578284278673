"""The survey API's bodies and answers: the public questionnaire and the staff results."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

MAX_COMMENT = 1000


class AnswerIn(BaseModel):
    """A claimant's answer: overall 0–10 required, the three dimensions optional, free text ≤ 1000."""

    model_config = ConfigDict(extra="forbid")

    # Strict: a score is a JSON number, whole; true or "7" is refused, not read as 1 or 7.
    overall: int = Field(strict=True, ge=0, le=10, description="0 = very dissatisfied … 10 = very satisfied")
    timeliness: int | None = Field(None, strict=True, ge=0, le=10)
    transparency: int | None = Field(None, strict=True, ge=0, le=10)
    attitude: int | None = Field(None, strict=True, ge=0, le=10)
    comment: str | None = Field(None, max_length=MAX_COMMENT)


class Question(BaseModel):
    field: str
    label: str
    required: bool


class SurveyOut(BaseModel):
    status: str = Field(description="open: it can be answered")
    insurer: str
    subject_type: str = Field(description="claim or complaint")
    reference: str = Field(description="the case number, masked")
    closed_at: dt.datetime
    expires_at: dt.datetime
    questions: list[Question]
    comment_max_length: int = MAX_COMMENT


class AnswerOut(BaseModel):
    status: str
    submitted_at: dt.datetime


class ResultRow(BaseModel):
    tenant: str | None = Field(None, description="the insurer's code (regulators' cross-tenant view)")
    key: str
    label: str
    sent: int = Field(description="surveys sent in the period, not counting those with no reachable contact")
    unreachable: int
    responded: int = Field(description="of those sent in the period, answered (by now)")
    response_rate: float | None = Field(description="responded / sent, 0–1")
    answers: int = Field(description="answers received in the period (what the means are over)")
    mean_overall: float | None
    mean_timeliness: float | None
    mean_transparency: float | None
    mean_attitude: float | None
    promoters: float | None = Field(description="share of answers with overall 9–10, 0–1")
    detractors: float | None = Field(description="share of answers with overall 0–6, 0–1")


class Comment(BaseModel):
    tenant: str | None = None
    key: str = Field(description="the group the answer belongs to")
    submitted_at: dt.datetime
    subject_type: str
    reference: str
    handler: str | None
    org_unit: str | None
    overall: int
    comment: str = Field(description="free text, phone/ID/card numbers masked")


class ResultsOut(BaseModel):
    period_from: dt.date
    period_to: dt.date
    group_by: str
    subject_type: str | None
    total: ResultRow
    rows: list[ResultRow]
    comments: list[Comment]

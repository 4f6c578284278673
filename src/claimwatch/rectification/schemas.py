"""Request and response bodies of the rectification API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanIn(_Body):
    plan: str = Field(min_length=1, max_length=4000, description="the rectification plan (整改方案)")


class NoteIn(_Body):
    note: str = Field(min_length=1, max_length=4000, description="what was done")


class OptionalNoteIn(_Body):
    note: str | None = Field(default=None, max_length=4000)


class ReasonIn(_Body):
    reason: str = Field(min_length=1, max_length=4000, description="why it is sent back")


class SourceOut(BaseModel):
    kind: str
    kind_label: str
    id: int
    label: str
    url: str


class ClockOut(BaseModel):
    policy: str
    label: str
    basis: str
    state: str
    light: str
    outcome: str | None
    target: float
    unit: str
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    due_at: dt.datetime | None
    red_due_at: dt.datetime | None
    missed_by: float | None
    provisional: bool
    red_provisional: bool
    reminders: int


class EventOut(BaseModel):
    kind: str
    label: str
    at: dt.datetime
    actor: str
    from_status: str | None
    to_status: str | None
    note: str | None


class EvidenceOut(BaseModel):
    id: int
    step: str
    step_label: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    note: str | None
    uploaded_at: dt.datetime
    uploaded_by: str
    url: str


class EvidenceAck(EvidenceOut):
    status: str  # stored | duplicate


class RectificationOut(BaseModel):
    id: int
    number: str
    title: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    source: SourceOut
    owner_user_id: int | None
    owner: str | None
    owner_org_unit_id: int | None
    owner_unit: str | None
    plan: str | None
    opened_at: dt.datetime
    plan_due_at: dt.datetime | None
    acceptance_due_at: dt.datetime | None
    plan_submitted_at: dt.datetime | None
    plan_outcome: str | None
    submitted_at: dt.datetime | None
    sent_back_count: int
    accepted_at: dt.datetime | None
    acceptance_outcome: str | None
    closed_at: dt.datetime | None
    clocks: list[ClockOut]
    history: list[EventOut]
    evidence: list[EvidenceOut]
    actions: list[str]


class BoardItemOut(BaseModel):
    id: int
    number: str
    title: str
    severity: str
    status: str
    status_label: str
    source_kind: str
    source_label: str
    source_url: str
    owner: str | None
    owner_unit: str | None
    opened_at: dt.datetime
    due_at: dt.datetime | None
    light: str | None
    overdue: bool
    url: str

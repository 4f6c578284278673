from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, Field


class SuspendIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why the time is excluded (legal basis)")
    at: AwareDatetime | None = Field(None, description="when the suspension began; default now")


class ExtendIn(BaseModel):
    amount: float = Field(strict=True, gt=0, le=365, description="in the policy's unit (e.g. calendar days)")
    reason: str = Field(min_length=1, max_length=500, description="the recorded reason and approval")


class AcknowledgeIn(BaseModel):
    note: str | None = Field(None, max_length=1000)


class Period(BaseModel):
    kind: str
    start: dt.datetime
    end: dt.datetime | None
    reason: str | None


class ClockOut(BaseModel):
    policy: str
    label: str
    basis: str
    cycle: int
    unit: str
    state: str
    light: str
    outcome: str | None
    yellow_budget: float
    red_budget: float
    extended: float
    consumed: float
    remaining: float
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    yellow_due_at: dt.datetime | None
    red_due_at: dt.datetime | None
    breached_at: dt.datetime | None
    missed_by: float | None
    calendar_gap: int | None
    provisional: bool = Field(
        False,
        description="the target was computed on a year whose official holiday arrangement is not loaded "
        "(statutory holidays and weekends only, 暂定); it moves and loses the mark when the year is loaded",
    )
    red_provisional: bool = Field(
        False, description="the red deadline is provisional; red (and the regulator filing) waits for the official year"
    )
    periods: list[Period]


class QueueItem(BaseModel):
    id: int
    level: str
    light: str
    status: str
    claim_number: str
    claim_status: str
    line: str
    policy: str
    policy_label: str
    due_at: dt.datetime | None
    fired_at: dt.datetime
    org_unit: str | None
    assignee: str | None
    acknowledged_by: str | None
    note: str | None

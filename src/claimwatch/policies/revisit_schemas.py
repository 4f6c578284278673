"""The revisit API's bodies and answers."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.policies.revisits import MAX_NOTES


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutcomeIn(_In):
    outcome: str = Field(max_length=16, description="understood | misled | unreachable")
    notes: str | None = Field(default=None, max_length=MAX_NOTES, description="required for misled")


class AttemptIn(_In):
    notes: str | None = Field(default=None, max_length=MAX_NOTES)


class ReplyIn(_In):
    reply_code: str = Field(min_length=3, max_length=32, description="the code quoted in the customer's reply")
    answer: str = Field(min_length=1, max_length=4, description="1 understood | 2 not as explained")


class RevisitOut(BaseModel):
    id: int
    policy_number: str
    product_name: str
    line: str
    customer: str
    signed_on: dt.date
    cooling_off_until: dt.date
    agent_code: str | None
    agent_name: str | None
    org_code: str | None
    channel: str
    channel_label: str
    due_on: dt.date
    status: str
    status_label: str
    attempts: int
    outcome: str | None
    outcome_label: str | None
    assignee: str | None
    notes: str | None
    finding_number: str | None
    completed_by: str | None
    completed_at: dt.datetime | None
    light: str | None


class RevisitPageOut(BaseModel):
    total: int
    page: int
    items: list[RevisitOut]


class RateOut(BaseModel):
    key: str
    label: str
    reached: int
    misled: int
    rate: float | None


class KpisOut(BaseModel):
    due_from: dt.date
    due_to: dt.date
    total: int
    done: int
    within_cooling_off: int
    completion_rate: float | None = Field(description="% of the revisits due that were completed within cooling-off")
    misled_rate: float | None = Field(description="% misled of the customers reached (understood + misled)")
    outcomes: dict[str, int]
    by_agent: list[RateOut]
    by_org: list[RateOut]

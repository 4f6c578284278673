"""What integrations send and what the API returns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class EventType(StrEnum):
    REPORTED = "reported"  # 报案: creates the claim
    TRANSITION = "transition"  # a status change along the workflow
    ASSIGNED = "assigned"  # (re)assignment to a handler
    AMOUNTS = "amounts"  # assessed / paid amount updated


class Claimant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, pattern=r"^\+?[\d\- ]{5,20}$")
    id_number: str | None = Field(default=None, pattern=r"^[0-9A-Za-z]{6,32}$")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ClaimReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: str = Field(min_length=1, max_length=32)
    policy_number: str = Field(min_length=1, max_length=64)
    org_code: str | None = Field(default=None, max_length=32)
    region_code: str | None = Field(default=None, max_length=12)
    claimant: Claimant
    reported_amount: Money | None = None


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=100, description="The sender's id; a repeat is acknowledged once")
    claim_number: str = Field(min_length=1, max_length=64)
    type: EventType
    occurred_at: AwareDatetime = Field(description="When it happened, with a UTC offset")
    tenant: str | None = Field(default=None, description="Optional; must match the caller's tenant")
    actor: str | None = Field(default=None, max_length=100, description="Who did it in the source system")
    to_status: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=2000)
    claim: ClaimReport | None = None
    assignee: str | None = Field(default=None, max_length=64)
    assessed_amount: Money | None = None
    paid_amount: Money | None = None

    @field_validator("occurred_at")
    @classmethod
    def _not_in_future(cls, value: dt.datetime) -> dt.datetime:
        # A few minutes of clock skew between systems is normal; an hour is a data error.
        if value > dt.datetime.now(dt.UTC) + dt.timedelta(hours=1):
            raise ValueError("occurred_at is in the future")
        return value


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1)


class EventAck(BaseModel):
    event_id: str
    claim_number: str
    status: str = Field(description="'applied' the first time, 'duplicate' for a repeat")
    audit_seq: int


class BatchAck(BaseModel):
    applied: int
    duplicates: int
    results: list[EventAck]


class ClaimSummary(BaseModel):
    number: str
    line: str
    line_label: str
    status: str
    status_label: str
    org_unit: str | None
    region_code: str | None
    policy_number: str
    claimant_name: str
    claimant_phone: str
    reported_amount: Decimal | None
    assessed_amount: Decimal | None
    paid_amount: Decimal | None
    assignee: str | None
    reported_at: dt.datetime
    status_changed_at: dt.datetime
    closed_at: dt.datetime | None


class ClaimDetail(ClaimSummary):
    claimant_id_number: str
    reopen_count: int


class TimelineEntry(BaseModel):
    event_id: str
    type: str
    from_status: str | None
    to_status: str | None
    from_label: str | None
    to_label: str | None
    occurred_at: dt.datetime
    received_at: dt.datetime
    actor: str
    reason: str | None
    audit_seq: int


class ClaimPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[ClaimSummary]

"""What the service-request API, the staff form, the import and the public page accept, and what the API answers.

Category, priority and channel are checked by the service against the categories file (so every channel names the
known values the same way); here only shapes and lengths. The customer's phone and ID number come in and never go
out in clear: the request keeps them encrypted with their keyed hashes, and answers show them masked."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from claimwatch.params import IdNumberField, PhoneField

MAX_TEXT = 4000
RequestNumber = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^SR-\d{4}-\d{6,}$")]


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    phone: PhoneField | None = Field(default=None, description="mainland mobile, landline with area code, or +country")
    id_number: IdNumberField | None = Field(default=None, description="resident ID number or another document's")


class ServiceRequestIn(BaseModel):
    """One request, whatever the channel it came in on."""

    model_config = ConfigDict(extra="forbid")

    channel: str | None = Field(
        default=None,
        max_length=16,
        description="phone, wechat, email, api, staff, import, public (default: how it came)",
    )
    external_ref: str | None = Field(default=None, max_length=64, description="the sender's number; idempotent")
    received_at: AwareDatetime | None = Field(default=None, description="when we received it (default: now)")
    category: str = Field(min_length=1, max_length=32, description="a code of the categories file")
    priority: str = Field(default="normal", max_length=16, description="normal | urgent | emergency")
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=20000)
    customer: CustomerIn = Field(default_factory=CustomerIn)
    policy_number: str | None = Field(default=None, max_length=64)
    claim_number: str | None = Field(default=None, max_length=64, description="a claim of this insurer")
    org_code: str | None = Field(default=None, max_length=32)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str | None = Field(default=None, max_length=32, description="a team of the categories file")
    username: str | None = Field(default=None, max_length=64, description="a handler of this insurer")


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)


class ReplyIn(TextIn):
    articles_used: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(default_factory=list, max_length=20)
    channels: list[str] | None = Field(default=None, max_length=2, description="sms | email (default: both known)")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=MAX_TEXT)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution_code: str = Field(min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=MAX_TEXT)
    first_contact_resolved: bool | None = Field(
        default=None, description="default: resolved with at most one reply, never waiting on the customer"
    )


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=24, description="a complaint category")
    sub_cause: str | None = Field(default=None, max_length=48)


class EventOut(BaseModel):
    kind: str
    actor: str
    at: dt.datetime
    text: str | None
    message_id: int | None
    detail: dict[str, Any]


class ClockOut(BaseModel):
    """A clock as ``servicedesk.clocks.clock_view`` shows it (target and miss in the clock's unit)."""

    policy: str
    cycle: int
    unit: str
    target: float
    state: str
    light: str | None
    outcome: str | None
    started_at: dt.datetime
    remind_at: dt.datetime | None
    due_at: dt.datetime | None
    stopped_at: dt.datetime | None
    missed_by: float | None
    provisional: bool


class RequestItemOut(BaseModel):
    number: str
    channel: str
    category: str
    priority: str
    subject: str
    status: str
    team: str | None
    handler: str | None
    received_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    peak: bool


class RequestPageOut(BaseModel):
    total: int
    page: int
    items: list[RequestItemOut]


class RequestOut(RequestItemOut):
    external_ref: str | None
    description: str
    keywords: list[str]
    customer_name: str | None
    customer_phone: str | None
    customer_id_number: str | None
    policy_number: str | None
    claim_number: str | None
    complaint_number: str | None
    org_code: str | None
    closed_at: dt.datetime | None
    resolution_code: str | None
    resolution_note: str | None
    first_contact_resolved: bool | None
    peak_period_id: int | None
    articles_used: list[int]
    clocks: list[ClockOut]
    events: list[EventOut]

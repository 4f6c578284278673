"""What the notification API takes and returns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.params import RowId


class MessageOut(BaseModel):
    id: int
    claim_number: str | None = None
    channel: str
    recipient: str = Field(description="masked phone or email; 'webhook' for the webhook channel")
    template: str
    locale: str
    about_status: str | None
    subject: str
    body: str = Field(description="the text as the claimant saw it (one-time codes masked)")
    status: str
    attempts: int
    last_error: str | None
    idempotency_key: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None


class ResendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[RowId, Field(strict=True)]] | None = Field(
        default=None, max_length=10_000, description="message ids; none: every failed and dead message"
    )


class ResendOut(BaseModel):
    requeued: int


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=3, max_length=254, description="the claimant's phone number or email address")
    channel: str = Field(default="*", description="sms, email, wechat, webhook, or * for every channel")
    reason: str | None = Field(default=None, max_length=200)


class OptOutOut(BaseModel):
    id: int
    channel: str
    created_at: dt.datetime


class ProactiveRate(BaseModel):
    tenant_id: int
    org_unit_id: int | None
    since: dt.datetime | None
    until: dt.datetime | None
    claims: int
    claims_fully_notified: int
    status_changes: int
    status_changes_notified: int
    rate: float | None

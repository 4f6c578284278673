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


# -- staff notices --------------------------------------------------------------------------------------


class StaffNoticeOut(BaseModel):
    id: int = Field(description="the inbox item's id (mark it read with it)")
    kind: str
    kind_label: str
    subject: str
    body: str
    claim_number: str | None
    link: str | None = Field(description="the page the notice is about (relative)")
    created_at: dt.datetime
    read_at: dt.datetime | None
    unread: bool


class UnreadCount(BaseModel):
    unread: int


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    read: bool = True


class ReadAllOut(BaseModel):
    marked: int


class KindPreference(BaseModel):
    kind: str
    label: str
    email: str = Field(description="instant, digest or off")
    default: bool


class PreferencesOut(BaseModel):
    kinds: list[KindPreference]
    locale: str
    email: str | None = Field(description="the address notices are e-mailed to, masked (an admin sets it)")


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: dict[Annotated[str, Field(max_length=32)], str] = Field(
        default_factory=dict, max_length=50, description="kind → instant, digest or off"
    )
    locale: str | None = Field(default=None, description="zh or en: the language of your notices")


class UserEmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=254, description="empty or null clears it")


class UserEmailOut(BaseModel):
    username: str
    email: str | None


class RobotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    provider: str = Field(description="wecom (企业微信) or dingtalk (钉钉)")
    url: str = Field(min_length=8, max_length=500, description="the robot's webhook URL (carries its token)")
    secret: str | None = Field(default=None, max_length=200, description="DingTalk 加签 secret (SEC…)")
    org: str | None = Field(default=None, max_length=32, description="only notices of this org unit's subtree")
    kinds: list[Annotated[str, Field(max_length=32)]] | None = Field(default=None, max_length=20)
    locale: str = "zh"


class RobotOut(BaseModel):
    id: int
    name: str
    provider: str
    url: str = Field(description="without its token")
    signed: bool
    org: str | None
    kinds: list[str]
    locale: str
    active: bool
    created_at: dt.datetime


class PostedIn(BaseModel):
    """A legal notice sent by post (保险法 art. 24 refusal notice)."""

    model_config = ConfigDict(extra="forbid")
    tracking_number: str = Field(min_length=4, max_length=64, description="The carrier's tracking number")
    posted_at: dt.datetime | None = Field(default=None, description="When it was posted (with offset); default now")
    carrier: str | None = Field(default=None, max_length=64, description="e.g. 中国邮政 EMS")
    template: str = Field(default="refusal_notice", max_length=48, description="The notice posted")


class PostedOut(BaseModel):
    id: int
    claim_number: str
    template: str
    posted_at: dt.datetime
    posted_by: str
    tracking_number: str
    carrier: str | None
    recorded_at: dt.datetime

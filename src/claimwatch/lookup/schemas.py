"""The lookup API's bodies and answers."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    insurer: str = Field(min_length=1, max_length=32, description="the insurer's code, e.g. PICC")
    claim_number: str = Field(min_length=1, max_length=64)
    phone_last4: str | None = Field(None, pattern=r"^\d{4}$", description="last 4 digits of the claimant's phone")
    code: str | None = Field(None, pattern=r"^\d{6}$", description="the one-time code sent by SMS")

    @model_validator(mode="after")
    def _one_factor(self) -> LookupIn:
        if (self.phone_last4 is None) == (self.code is None):
            raise ValueError("give exactly one of phone_last4 and code")
        return self


class OtpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    insurer: str = Field(min_length=1, max_length=32)
    claim_number: str = Field(min_length=1, max_length=64)


class FieldProblem(BaseModel):
    field: str
    message: str


class Message(BaseModel):
    """An acknowledgement, or an error in the one error body shape (``problems`` then names the input)."""

    detail: str
    problems: list[FieldProblem] = Field(default_factory=list)


class Item(BaseModel):
    code: str
    label: str


class Materials(BaseModel):
    checklist_set: bool
    missing: list[Item]
    optional_missing: list[Item]
    received: list[Item]


class Expected(BaseModel):
    policy: str
    state: str = Field(description="running, paused (waiting for the claimant's materials), suspended or stopped")
    due_at: dt.datetime | None = Field(description="expected completion (UTC); none while paused")
    overdue: bool
    calendar_gap: int | None = None


class TimelineEntry(BaseModel):
    at: dt.datetime
    status: str
    label: str
    reason: str | None = None


class Insurer(BaseModel):
    code: str
    name: str


class Claimant(BaseModel):
    name: str
    phone: str


class UploadLimits(BaseModel):
    accepted_types: list[str]
    max_bytes: int


class ClaimOut(BaseModel):
    insurer: Insurer
    claim_number: str
    line: str
    line_label: str
    status: str
    status_label: str
    closed: bool
    closed_at: dt.datetime | None
    reported_at: dt.datetime
    claimant: Claimant
    expected: Expected | None
    timeline: list[TimelineEntry]
    materials: Materials
    upload: UploadLimits


class LookupOut(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer <token>'; valid for this one claim only")
    token_type: str = "bearer"
    expires_at: dt.datetime
    claim: ClaimOut


class UploadOut(BaseModel):
    status: str = Field(description="stored, or duplicate (the same content was already received)")
    item_code: str
    item_label: str
    uploaded_at: dt.datetime
    size_bytes: int
    sha256: str
    missing: list[Item]

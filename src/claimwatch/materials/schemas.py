"""What the materials API accepts and returns."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

_CODE = r"^[a-z][a-z0-9_]{0,63}$"


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim_type: str = Field(pattern=_CODE, description="a claim type of the line's checklist, e.g. vehicle_damage")
    facts: list[str] = Field(default_factory=list, max_length=64, description="facts of the claim, e.g. ['injury']")


class NoticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issued_at: AwareDatetime | None = Field(default=None, description="when it was sent (default: now)")
    items: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="what a core system actually requested; omit to list every missing item (the one-time notice)",
    )

    @field_validator("issued_at")
    @classmethod
    def _not_in_future(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value > dt.datetime.now(dt.UTC) + dt.timedelta(hours=1):
            raise ValueError("issued_at is in the future")
        return value


class Labelled(BaseModel):
    code: str
    label: str


class ProfileOut(BaseModel):
    claim_type: str
    claim_type_label: str
    facts: list[Labelled]
    updated_at: dt.datetime
    updated_by: str


class ItemOut(BaseModel):
    code: str
    label: str
    name_zh: str
    name_en: str
    requirement: str = Field(description="required, conditional or optional")
    condition: list[str] = Field(description="the facts a conditional item depends on")
    applicable: bool
    received: bool
    missing: bool
    electronic: bool = Field(description="can be given electronically; false: paper or physical only")
    waived: bool = Field(description="not asked of this fast-tracked claim (三免: electronic materials only)")


class NoticeItemOut(BaseModel):
    code: str
    label: str
    basis: str = Field(description="first, repeat (reminder), new_fact, or knowable (one-time rule violated)")
    received: bool


class NoticeOut(BaseModel):
    round: int
    kind: str = Field(description="one_time (round 1) or supplement (补交)")
    issued_at: dt.datetime
    issued_by: str
    claim_type: str
    facts: list[str]
    items: list[NoticeItemOut]
    omitted_items: list[str] = Field(description="missing when issued but not requested")
    violation: bool
    violation_items: list[str]
    completed_at: dt.datetime | None
    audit_seq: int


class DocumentOut(BaseModel):
    id: int
    item_code: str
    item_label: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: dt.datetime
    uploaded_by: str
    audit_seq: int


class MaterialsOut(BaseModel):
    claim_number: str
    line: str
    checklist_available: bool
    claim_types: list[Labelled]
    available_facts: list[Labelled]
    profile: ProfileOut | None
    items: list[ItemOut]
    received: list[str] = Field(description="codes of the items with at least one document")
    missing: list[str]
    optional_missing: list[str]
    complete: bool
    documents: list[DocumentOut]
    notices: list[NoticeOut]
    notices_issued: int
    supplement_rounds: int
    violation_rounds: int
    awaiting_since: dt.datetime | None
    electronic_only: bool = Field(description="the claim is on the fast track (三免): only electronic items are needed")


class DocumentAck(DocumentOut):
    status: str = Field(description="'stored', or 'duplicate' when this content was already received for the item")

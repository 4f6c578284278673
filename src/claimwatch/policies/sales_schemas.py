"""Request bodies of the sales API (JSON); the CSV import and the staff form build the same models, so a
refusal reads the same everywhere. The customer's ID number and name come in clear and never leave the
service: only the keyed hash, the masked name and the age at signing are stored."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from claimwatch.cases.schemas import IDENTIFIER_PATTERN, Money
from claimwatch.params import IdNumberField, PhoneField

PolicyNumber = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class SaleIn(BaseModel):
    """A policy sold. ``agent``: the agent's code in the staff register (unknown: refused, naming ``agent``);
    ``org_unit``: the selling unit's code (default: the agent's); ``premium`` in CNY; ``disclosure_signed_on``:
    the day the 投保提示书 was acknowledged; ``recording_ref`` and ``recording_sha256`` (64 hex): the 双录
    recording in the recording store and its digest."""

    model_config = ConfigDict(extra="forbid")

    policy_number: PolicyNumber
    product_code: Code
    product_name: str = Field(min_length=1, max_length=200)
    line: str = Field(min_length=1, max_length=32)
    long_term: bool = False
    channel: str = Field(min_length=1, max_length=16)
    agent: Code
    org_unit: Code | None = None
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    customer_id_number: IdNumberField | None = None
    customer_name: str | None = Field(default=None, max_length=100)
    # Only for the revisit's text message (h6: kept encrypted in the outbox); never stored on the sale.
    customer_phone: PhoneField | None = None
    premium: Money
    signed_on: dt.date
    effective_on: dt.date | None = None
    cooling_off_days: int = Field(default=15, ge=0, le=90)
    disclosure_signed_on: dt.date | None = None
    recording_ref: str | None = Field(default=None, min_length=1, max_length=200)
    recording_sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)

    @field_validator("recording_sha256", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class CancelIn(BaseModel):
    """The policy was cancelled (退保) on this day; within the cooling-off period it is a 犹豫期 cancellation."""

    model_config = ConfigDict(extra="forbid")

    cancelled_on: dt.date


class FlagDecisionIn(BaseModel):
    """``clear`` (not a problem) or ``confirm`` (a problem, e.g. a finding was recorded), with the reason."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["clear", "confirm"]
    reason: str = Field(min_length=1, max_length=4000)
    finding_id: int | None = Field(default=None, ge=1)


class ComplaintLinkIn(BaseModel):
    """Link a complaint (by number) to the sale it is about: a mis-selling complaint against the agent."""

    model_config = ConfigDict(extra="forbid")

    complaint_number: str = Field(min_length=1, max_length=64)


class ImportOut(BaseModel):
    rows: int
    created: int
    existing: int
    flagged: int
    dry_run: bool

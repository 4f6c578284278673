"""What integrations send and what the API returns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from claimwatch.params import IdNumberField, PhoneField

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]

# Claim numbers, event ids and policy numbers travel in URLs, CSV reports and file names and are typed
# into search boxes: one character set (ASCII letters and digits, then also ``.``, ``_``, ``-``), so a
# NUL, a zero-width space, a trailing newline or ``/../`` can never be stored and then not be read back.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
TENANT_CODE_MAX = 32  # tenants.code is String(32)

# The earliest event time taken. Claims data before 2000 predates every system this serves; such a date
# is a placeholder (1900-01-01, 0001-01-01) or a typo, and would start a clock already years late.
EARLIEST_EVENT_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# A few minutes of clock skew between systems is normal; an hour is a data error.
FUTURE_SKEW = dt.timedelta(hours=1)
# The deepest page of a list: beyond it, filter (an unbounded page overflows the database's integers).
MAX_PAGE = 1_000_000

ClaimNumber = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
EventId = Annotated[str, Field(min_length=1, max_length=100, pattern=IDENTIFIER_PATTERN)]
PolicyNumber = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]


class EventType(StrEnum):
    REPORTED = "reported"  # 报案: creates the claim
    TRANSITION = "transition"  # a status change along the workflow
    ASSIGNED = "assigned"  # (re)assignment to a handler
    AMOUNTS = "amounts"  # assessed / paid amount updated


class Claimant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    # Normalised and checked in claimwatch.params (the ID check digit is not enforced on a feed: see
    # params.CHECK_DIGITS).
    phone: PhoneField | None = Field(default=None, description="mainland mobile, landline with area code, or +country")
    id_number: IdNumberField | None = Field(default=None, description="resident ID number or another document's")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Coverage(StrEnum):
    COMPULSORY = "compulsory"  # 交强险: 机动车交通事故责任强制保险
    COMMERCIAL = "commercial"  # 商业险


class ReportDetails(BaseModel):
    """What the report says about the loss, the policy and the claimant beyond the claim row: the facts triage
    rules and risk red flags test (``risk.facts.ClaimFacts``). All optional; unknown stays unknown. Kept on the
    reported event's ``data`` (the bank account only as a keyed hash, in triage's contact index)."""

    model_config = ConfigDict(extra="forbid")

    claim_type: str | None = Field(
        default=None, max_length=32, pattern=IDENTIFIER_PATTERN, description="e.g. vehicle_damage, injury, medical"
    )
    liability_clear: bool | None = Field(default=None, description="liability is clear (责任明确)")
    injury: bool | None = None
    death: bool | None = None
    serious_injury: bool | None = None
    disability: bool | None = Field(default=None, description="the claimant has a disability (manual assistance)")
    investigation: bool | None = Field(default=None, description="an investigation (调查) is already open")
    policy_start: dt.date | None = Field(default=None, description="the policy's inception date")
    reinstated_on: dt.date | None = Field(default=None, description="the policy's reinstatement (复效) date")
    accident_at: AwareDatetime | None = Field(default=None, description="when the accident happened, with offset")
    channel: str | None = Field(default=None, max_length=32, pattern=IDENTIFIER_PATTERN, description="report channel")
    provider: str | None = Field(
        default=None, max_length=64, pattern=IDENTIFIER_PATTERN, description="repair shop or hospital code"
    )
    bank_account: str | None = Field(
        default=None, min_length=6, max_length=34, pattern=r"^[0-9A-Za-z ]+$", description="payee account; hashed only"
    )
    electronic_only: bool | None = Field(default=None, description="every material is submitted electronically")

    @field_validator("policy_start", "reinstated_on")
    @classmethod
    def _plausible_date(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and not EARLIEST_EVENT_AT.year - 50 <= value.year <= 2999:
            raise ValueError("the date is out of range")
        return value

    @field_validator("accident_at")
    @classmethod
    def _plausible_accident(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and (value < EARLIEST_EVENT_AT - dt.timedelta(days=3650) or value.year > 2999):
            raise ValueError("accident_at is out of range")
        return value


class ClaimReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: str = Field(min_length=1, max_length=32)
    policy_number: PolicyNumber
    org_code: str | None = Field(default=None, max_length=32)
    region_code: str | None = Field(default=None, max_length=12)
    claimant: Claimant
    reported_amount: Money | None = None
    details: ReportDetails | None = Field(default=None, description="facts for triage and risk (all optional)")
    # 交强险 claims run on the 交强险条例's shorter clocks (arts. 28-29); omitted: not said (commercial rules).
    coverage: Coverage | None = Field(
        default=None, description="compulsory (交强险, motor) or commercial (商业险); selects the legal clocks"
    )


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: EventId = Field(description="The sender's id; a repeat is acknowledged once")
    claim_number: ClaimNumber
    type: EventType
    occurred_at: AwareDatetime = Field(
        description="When it happened, with a UTC offset; from 2000 on, and not before the claim's last event"
    )
    tenant: str | None = Field(
        default=None, max_length=TENANT_CODE_MAX, description="Optional; must match the caller's tenant"
    )
    actor: str | None = Field(default=None, max_length=100, description="Who did it in the source system")
    to_status: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=2000)
    claim: ClaimReport | None = None
    assignee: str | None = Field(default=None, max_length=64)
    assessed_amount: Money | None = None
    paid_amount: Money | None = None

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: dt.datetime) -> dt.datetime:
        # Compared before any conversion: 0001-01-01T00:00+08:00 has no UTC equivalent.
        if value < EARLIEST_EVENT_AT:
            raise ValueError(f"occurred_at is before {EARLIEST_EVENT_AT:%Y-%m-%d}: not a real event time")
        if value > dt.datetime.now(dt.UTC) + FUTURE_SKEW:
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

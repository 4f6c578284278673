"""The underwriting API's bodies: an application (投保申请) as the core system, the import or the staff form
sends it, a decision, an assignment, a withdrawal, a rule-set load; and the views the API answers with.

The applicant's name, ID number and phone come in and never go out: the case keeps the masked name, the ID
number's keyed hash and the phone encrypted (the decision notice goes there)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from claimwatch.params import IdNumberField, PhoneField

CHANNELS = ("agent", "bank", "telesales", "online", "broker")
NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
MAX_REASON = 2000
MAX_ANSWERS = 50
ApplicationNumber = Annotated[str, Field(min_length=1, max_length=64, pattern=NUMBER_PATTERN)]


class ApplicantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    id_number: IdNumberField | None = None
    phone: PhoneField | None = None


class FactsIn(BaseModel):
    """The applicant's risk factors as the application states them (no names or ID numbers)."""

    model_config = ConfigDict(extra="forbid")

    age: int = Field(ge=0, le=120)
    occupation_class: int | None = Field(default=None, ge=1, le=6)
    height_cm: float | None = Field(default=None, gt=30, le=260)
    weight_kg: float | None = Field(default=None, gt=1, le=400)
    bmi: float | None = Field(default=None, gt=5, le=100, description="given, or computed from height and weight")
    smoker: bool | None = None
    health: dict[Annotated[str, Field(min_length=1, max_length=48)], bool] = Field(
        default_factory=dict, description="health questionnaire: answer code → answered yes"
    )

    @field_validator("health")
    @classmethod
    def _few_answers(cls, value: dict[str, bool]) -> dict[str, bool]:
        if len(value) > MAX_ANSWERS:
            raise ValueError(f"at most {MAX_ANSWERS} health answers")
        return value


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_number: ApplicationNumber
    product_code: str = Field(min_length=1, max_length=64)
    line: str = Field(min_length=1, max_length=32, description="life | health | accident | …")
    channel: str = Field(description="agent | bank | telesales | online | broker", max_length=16)
    agent_code: str | None = Field(default=None, max_length=64, description="the agent's staff code")
    org_code: str | None = Field(default=None, max_length=64)
    applicant: ApplicantIn = Field(default_factory=ApplicantIn)
    sum_insured: Decimal = Field(gt=0, le=Decimal("1000000000"), decimal_places=2, description="yuan")
    premium: Decimal | None = Field(default=None, ge=0, le=Decimal("100000000"), decimal_places=2)
    facts: FactsIn
    received_at: dt.datetime | None = Field(default=None, description="default: now")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        return value


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(max_length=16, description="accept | rate_up | exclusion | decline")
    reason: str | None = Field(
        default=None, max_length=MAX_REASON, description="what the applicant is told; required unless accept"
    )
    review_reasons: str = Field(min_length=1, max_length=MAX_REASON, description="the underwriter's own reasons")
    exclusions: list[Annotated[str, Field(min_length=1, max_length=500)]] | None = Field(default=None, max_length=20)
    rate_up_pct: float | None = Field(default=None, gt=0, le=500)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(default=None, max_length=64, description="empty: take it myself")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON)


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str | None = Field(default=None, max_length=256 * 1024, description="YAML; empty: the insurer's file")
    source: str | None = Field(default=None, max_length=300)


class FiredOut(BaseModel):
    code: str
    name: str
    points: float
    outcome: str | None
    rate_up_pct: float | None = None
    exclusion: str | None = None
    review: bool = False


class ClockOut(BaseModel):
    unit: str
    state: str
    light: str | None
    outcome: str | None
    started_at: dt.datetime
    remind_at: dt.datetime | None
    due_at: dt.datetime | None
    stopped_at: dt.datetime | None
    missed_by: float | None
    provisional: bool


class EventOut(BaseModel):
    kind: str
    actor: str
    at: dt.datetime
    detail: dict[str, Any]


class CaseItemOut(BaseModel):
    application_number: str
    product_code: str
    line: str
    channel: str
    status: str
    risk_level: str | None
    risk_points: float | None
    proposed_outcome: str | None
    outcome: str | None
    reviewer: str | None
    received_at: dt.datetime
    due_at: dt.datetime | None
    light: str | None


class CasePageOut(BaseModel):
    total: int
    page: int
    items: list[CaseItemOut]


class CaseOut(CaseItemOut):
    agent_code: str | None
    org_code: str | None
    applicant_name: str | None
    applicant_phone: str | None
    sum_insured: Decimal
    premium: Decimal | None
    facts: dict[str, Any]
    rule_set_version: str | None
    fired: list[FiredOut]
    review_reasons: str | None
    outcome_reason: str | None
    exclusions: list[str]
    rate_up_pct: float | None
    decided_by: str | None
    decided_at: dt.datetime | None
    notice_sent: bool
    clock: ClockOut | None
    events: list[EventOut]


class RuleSetOut(BaseModel):
    id: int
    version: str
    digest: str
    loaded_by: str
    loaded_at: dt.datetime
    in_force: bool
    factors: int | None = None

"""What the complaints API and CLI accept and return.

Channel, category, sub-cause and major reasons are checked by the service (so the API, the staff form and
the CSV import all name the known values the same way); here only shapes and lengths.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from claimwatch.params import MAX_COUNT, IdNumberField, PhoneField

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Outcome = Literal["upheld", "partly_upheld", "not_upheld"]


class ComplainantIn(BaseModel):
    """Who complains. Phone, ID number and email are encrypted at rest; the address is kept encrypted in
    the intake record (for a decision letter by post)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    # Normalised and checked in claimwatch.params (mobile 1[3-9]…, +86 dropped; landline; ID check digit
    # on the staff form): the stored number is the one repeat detection and the lookup compare.
    phone: PhoneField | None = Field(default=None, description="mainland mobile, landline with area code, or +country")
    id_number: IdNumberField | None = Field(default=None, description="resident ID number or another document's")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    address: str | None = Field(default=None, max_length=300)


class DecisionIn(BaseModel):
    """The handling decision (处理决定); the decision letter is generated from it."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(description="upheld | partly_upheld | not_upheld")
    facts: str = Field(min_length=1, max_length=4000, description="the facts verified (核实的事实)")
    basis: str = Field(min_length=1, max_length=4000, description="the basis and reasons (依据和理由)")
    remedy: str | None = Field(default=None, max_length=2000, description="what the insurer will do")
    compensation: Money | None = Field(default=None, description="CNY paid or offered to the complainant")
    first_contact_resolved: bool | None = Field(
        default=None, description="resolved at the first contact (default: true only when decided at intake)"
    )


class ComplaintIn(BaseModel):
    """One complaint, whatever the channel it came in on."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, max_length=24, description="hotline, app, wechat, email, letter, …")
    received_at: AwareDatetime | None = Field(default=None, description="when we received it (default: now)")
    external_ref: str | None = Field(
        default=None, max_length=64, description="the sender's number (e.g. a 12378 transfer number); idempotent"
    )
    regulator_received_at: AwareDatetime | None = Field(
        default=None, description="regulator transfers: when the regulator received it (default: received_at)"
    )
    claim_number: str | None = Field(default=None, max_length=64)
    org_code: str | None = Field(default=None, max_length=32, description="default: the claim's org unit")
    region_code: str | None = Field(default=None, max_length=12, description="default: the claim's region")
    line: str | None = Field(default=None, max_length=32, description="default: the claim's line of business")
    complainant: ComplainantIn = Field(default_factory=ComplainantIn)
    category: str = Field(min_length=1, max_length=24)
    sub_cause: str | None = Field(default=None, max_length=48)
    provider_code: str | None = Field(
        default=None, max_length=64, description="the third party it is about (appraisal agency, repair shop…)"
    )
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=20000)
    major_reasons: list[str] = Field(default_factory=list, max_length=4, description="group, media, vulnerable, …")
    decision: DecisionIn | None = Field(
        default=None, description="resolved at intake (first contact): decided at once, first-contact resolved"
    )


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=4000)
    at: AwareDatetime | None = Field(default=None, description="when it happened (default: now)")


class OptionalNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=4000)
    at: AwareDatetime | None = None


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    at: AwareDatetime | None = None


class MajorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: list[str] = Field(min_length=1, max_length=4, description="group, media, regulator_transfer, vulnerable")
    reason: str = Field(min_length=1, max_length=2000, description="what happened")
    at: AwareDatetime | None = None


class ExtendIn(ReasonIn):
    notice_by_post: bool = Field(
        default=False, description="the complainant has no phone or email: the notice went by post (address at intake)"
    )


class ReviewRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=4000)
    received_at: AwareDatetime | None = Field(default=None, description="when the application arrived")


class ReviewDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "changed"] = Field(description="the original decision upheld, or changed")
    note: str = Field(min_length=1, max_length=4000)
    at: AwareDatetime | None = None


class DecideIn(DecisionIn):
    at: AwareDatetime | None = None


class VolumeIn(BaseModel):
    """What the tenant reports for a month: policies in force and premium (CNY)."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    org_code: str | None = Field(default=None, min_length=1, max_length=32, description="omit for the whole tenant")
    # Strict: false or "12" is refused, not read as 0 or 12.
    policies_in_force: int | None = Field(default=None, strict=True, ge=0, le=MAX_COUNT)
    premium: Money | None = Field(default=None, description="CNY")


class VolumeOut(BaseModel):
    period: str
    org_code: str | None
    policies_in_force: int | None
    premium: Decimal | None
    updated_by: str
    updated_at: dt.datetime


class ProblemOut(BaseModel):
    line: int | None = None
    column: str | None = None
    field: str | None = None
    message: str


class ImportOut(BaseModel):
    rows: int
    created: int
    existing: int
    dry_run: bool
    numbers: list[str]
    rejects: list[ProblemOut] = Field(default_factory=list)

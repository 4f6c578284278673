"""Request bodies of the providers API (JSON): the register and contracts (this part); the CSV import and the
page forms build the same models, so a refusal reads the same everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.cases.schemas import IDENTIFIER_PATTERN
from claimwatch.params import PhoneField

ProviderCode = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$")]
LineCode = Annotated[str, Field(min_length=1, max_length=32)]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class ProviderIn(BaseModel):
    """A provider to register. ``kind``: appraisal_agency | repair_shop | hospital | surveyor | law_firm;
    ``regions``: the province or city codes it serves (none: everywhere); ``lines``: the lines of business
    (none: every line); ``credit_code``: the 18-character 统一社会信用代码 (check digit verified)."""

    model_config = ConfigDict(extra="forbid")

    code: ProviderCode
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=24)
    credit_code: str | None = Field(default=None, max_length=18)
    regions: list[RegionCode] = Field(default_factory=list, max_length=100)
    lines: list[LineCode] = Field(default_factory=list, max_length=20)
    licence_number: str | None = Field(default=None, max_length=64)
    licence_expires_on: dt.date | None = None
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: PhoneField | None = None
    contact_email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)


class ProviderUpdate(BaseModel):
    """The fields to change (those sent; ``null`` clears an optional one). The code and the status do not
    change here (the status has its own call, with a reason)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str | None = Field(default=None, min_length=1, max_length=24)
    credit_code: str | None = Field(default=None, max_length=18)
    regions: list[RegionCode] | None = Field(default=None, max_length=100)
    lines: list[LineCode] | None = Field(default=None, max_length=20)
    licence_number: str | None = Field(default=None, max_length=64)
    licence_expires_on: dt.date | None = None
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: PhoneField | None = None
    contact_email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)


class StatusIn(BaseModel):
    """Suspend (no new tasks) or reinstate a provider; the reason is kept and audited."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["active", "suspended"]
    reason: str = Field(min_length=1, max_length=2000)


class LevelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_kind: str = Field(min_length=1, max_length=32)
    days: int = Field(ge=1, le=8760)
    unit: str = Field(default="working_days", max_length=16)


class ContractIn(BaseModel):
    """A cooperation agreement with its service level per task kind."""

    model_config = ConfigDict(extra="forbid")

    reference: ProviderCode
    starts_on: dt.date
    ends_on: dt.date | None = None
    fee_schedule_ref: str | None = Field(default=None, max_length=100)
    levels: list[LevelIn] = Field(min_length=1, max_length=20)


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)


class KeyOut(BaseModel):
    provider: str
    name: str
    key: str = Field(description="shown once, never stored: keep it")


class ImportOut(BaseModel):
    rows: int
    created: int
    existing: int
    dry_run: bool
    numbers: list[str] = Field(description="the provider codes or contract references created")
    rejects: list[dict[str, object]]

"""What the assignment API takes and returns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Username = Annotated[str, Field(min_length=1, max_length=64)]
Code = Annotated[str, Field(min_length=1, max_length=32)]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[Code] = Field(default_factory=list, max_length=20, description="Lines of business; empty: all")
    claim_types: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)
    authority: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)] | None = Field(
        default=None, description="Amount authority (权限) in CNY; none: no limit"
    )
    org_code: Code | None = Field(default=None, description="Org unit whose subtree the handler covers")
    region_codes: list[Annotated[str, Field(max_length=12)]] = Field(default_factory=list, max_length=50)
    capacity: int = Field(default=20, ge=1, le=10_000, description="Open cases at most")
    handles_claims: bool = True
    handles_complaints: bool = False
    green_channel: bool = Field(
        default=False, description="Takes green-channel claims first (major cases, vulnerable customers, catastrophes)"
    )
    active: bool = True


class LeaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    starts_on: dt.date
    ends_on: dt.date
    note: str | None = Field(default=None, max_length=200)


class ModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: str = Field(description="monitor | active")


class RebalanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claims: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=200)
    complaints: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=200)
    handler: Username
    reason: str = Field(default="", max_length=2000)

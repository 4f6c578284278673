"""Request bodies of the sanctions API (JSON); the page forms post the same fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ProposeIn(BaseModel):
    """A violation and its proposed sanction. Name the staff member by ``user_id`` or ``username``, or a party
    by ``party`` (+ ``party_kind``: agent, repair_shop, hospital, other)."""

    model_config = ConfigDict(extra="forbid")

    violation_code: str = Field(min_length=1, max_length=48)
    user_id: int | None = None
    username: str | None = Field(default=None, max_length=64)
    party: str | None = Field(default=None, max_length=200)
    party_kind: str | None = Field(default=None, max_length=16)
    source_kind: str = Field(default="manual", min_length=1, max_length=32)
    source_id: int = Field(default=0, ge=0)
    source_label: str = Field(default="manual", min_length=1, max_length=200)
    source_url: str = Field(default="/sanctions", min_length=1, max_length=300)
    kind: str | None = Field(default=None, max_length=16)
    amount_cny: Decimal | None = Field(default=None, max_digits=12, decimal_places=2)
    days: int | None = None
    reason: str = Field(min_length=1, max_length=2000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class BlacklistIn(BaseModel):
    """A staff member is listed by ``code`` = username; others by name and/or code."""

    model_config = ConfigDict(extra="forbid")

    party_kind: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None

"""The JSON shapes of inspection results, evidence, findings and reviews (the plan shapes are in
:mod:`claimwatch.inspections.schemas`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["pass", "fail", "na"] | Literal[""] = Field(
        description="pass | fail | na ('' = open, drafts only)"
    )
    comment: str | None = Field(default=None, max_length=2000)


class ResultIn(BaseModel):
    """Item outcomes by item code; a submission scores every item of the card."""

    model_config = ConfigDict(extra="forbid")

    items: dict[str, ItemIn] = Field(max_length=200)
    comment: str | None = Field(default=None, max_length=4000)


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Literal["minor", "major", "severe"]
    category: str = Field(min_length=1, max_length=48)
    description: str = Field(min_length=1, max_length=4000)
    item_code: str | None = Field(default=None, max_length=64)
    responsible_user_id: StrictInt | None = Field(default=None, ge=1, le=2**62)
    responsible_org_unit_id: StrictInt | None = Field(default=None, ge=1, le=2**62)


class ReviewAssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: str = Field(min_length=1, max_length=64, description="the reviewer's username")


class SanctionProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    violation_code: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)
    kind: str | None = Field(default=None, max_length=32)
    amount_cny: Decimal | None = Field(default=None, ge=0, le=Decimal("10000000"), decimal_places=2)
    days: StrictInt | None = Field(default=None, ge=1, le=3650)

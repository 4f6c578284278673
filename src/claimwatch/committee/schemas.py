"""Request bodies of the committee API (JSON); the page forms post the same fields."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.params import RowId

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=MONTH_PATTERN, description="YYYY-MM, not after the current month")


class ActionIn(BaseModel):
    """The improvement action a decision ``action_raised`` raises."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    owner_user_id: RowId
    due_on: dt.date
    problem: str | None = Field(default=None, max_length=4000)
    kpi_code: str | None = Field(default=None, max_length=48)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: str = Field(max_length=32, description="noted | action_raised | escalated | deferred")
    text: str = Field(min_length=1, max_length=4000)
    action: ActionIn | None = Field(default=None, description="required for action_raised")


class HeldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_on: dt.date
    chair: str = Field(min_length=1, max_length=100)
    attendees: str = Field(min_length=1, max_length=4000)

"""Request bodies of the forecast and roster routes (and the roster import's rows)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class RosterIn(BaseModel):
    """One team's roster for one day: ``staff`` people × ``hours`` each (0 staff: nobody on that day)."""

    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, max_length=32)
    day: dt.date
    staff: int = Field(ge=0, le=10_000)
    hours: float = Field(8.0, gt=0, le=24)


class RunIn(BaseModel):
    """Run a forecast now: one series and team, or (neither given) every series of the insurer."""

    model_config = ConfigDict(extra="forbid")

    series: str | None = Field(None, max_length=24)
    team: str = Field("", max_length=32)


class PeakProposalIn(BaseModel):
    """Peak mode for days the staffing plan flagged (confirmed by the MANAGE_PEAK_MODE user asking)."""

    model_config = ConfigDict(extra="forbid")

    team: str = Field("", max_length=32)
    first_day: dt.date
    last_day: dt.date
    reason: str | None = Field(None, max_length=2000)

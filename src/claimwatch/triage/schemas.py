"""What the triage API takes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Mode = Literal["monitor", "active"]


class RuleSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str | None = Field(
        default=None,
        max_length=256 * 1024,
        description="the rule file's YAML; none: the insurer's own file or the defaults",
    )
    source: str | None = Field(default=None, max_length=200, description="a name for the file (shown in errors)")
    mode: Mode | None = Field(default=None, description="overrides the file's mode")
    active_from: AwareDatetime | None = Field(default=None, description="in force from (default: now)")


class RuleCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=256 * 1024)
    source: str | None = Field(default=None, max_length=200)


class ModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime
    until: AwareDatetime | None = None
    content: str | None = Field(
        default=None, max_length=256 * 1024, description="a candidate rule file; none: in force"
    )

    def window(self) -> tuple[dt.datetime, dt.datetime | None]:
        return self.since, self.until

"""What the catastrophe-event API takes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.cases.schemas import IDENTIFIER_PATTERN

RegionCode = Annotated[str, Field(min_length=1, max_length=12)]
LineCode = Annotated[str, Field(min_length=1, max_length=32)]


class CatastropheIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=IDENTIFIER_PATTERN, description="e.g. TY-2026-09")
    name: str = Field(min_length=1, max_length=200, description="Name in Chinese, e.g. 台风“摩羯”")
    name_en: str | None = Field(default=None, max_length=200)
    kind: str = Field(description="typhoon | flood | earthquake | other")
    region_codes: list[RegionCode] = Field(min_length=1, max_length=40, description="GB/T 2260 province codes")
    lines: list[LineCode] = Field(default_factory=list, max_length=20, description="Lines of business; empty: all")
    starts_on: dt.date = Field(description="First day (local), inclusive")
    ends_on: dt.date | None = Field(default=None, description="Last day (local), inclusive; none: still going on")
    note: str | None = Field(default=None, max_length=2000)


class CatastropheChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ends_on: dt.date | None = Field(default=None, description="A new last day (local), inclusive")
    reopen: bool = Field(default=False, description="Clear the end date: the event goes on")
    region_codes: list[RegionCode] | None = Field(default=None, min_length=1, max_length=40)
    lines: list[LineCode] | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=2000)

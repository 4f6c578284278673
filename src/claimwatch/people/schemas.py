"""Request bodies of the staff register (JSON): staff members and their licences. The CSV import and the page
forms build the same models, so a refusal reads the same everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.cases.schemas import IDENTIFIER_PATTERN

StaffCode = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
Username = Annotated[str, Field(min_length=1, max_length=100)]
OrgCode = Annotated[str, Field(min_length=1, max_length=32)]


class LicenceIn(BaseModel):
    """A licence or qualification: ``kind`` sales | claims_adjuster | underwriter | other; valid from
    ``issued_on`` to ``expires_on`` (an expiry before the issue: 422 naming ``expires_on``)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=24)
    number: str = Field(min_length=1, max_length=64)
    issued_on: dt.date
    expires_on: dt.date


class StaffIn(BaseModel):
    """A staff member or agent. ``kind`` employee | agent; ``org_unit`` the unit's code; ``username`` the
    platform account of an employee who signs in; ``manager`` the username of the manager who sees the
    person's scorecard. A first licence may come with the person."""

    model_config = ConfigDict(extra="forbid")

    code: StaffCode
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(min_length=1, max_length=16)
    job_title: str | None = Field(default=None, max_length=100)
    org_unit: OrgCode | None = None
    username: Username | None = None
    manager: Username | None = None
    hired_on: dt.date
    licence: LicenceIn | None = None


class StaffUpdate(BaseModel):
    """The fields to change (those sent; ``null`` clears an optional one). ``left_on`` records the leaving
    (status left); the code does not change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: str | None = Field(default=None, min_length=1, max_length=16)
    job_title: str | None = Field(default=None, max_length=100)
    org_unit: OrgCode | None = None
    username: Username | None = None
    manager: Username | None = None
    hired_on: dt.date | None = None
    left_on: dt.date | None = None


class RevokeIn(BaseModel):
    """Revoke a licence from ``on`` (default today), with the reason (audited)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    on: dt.date | None = None

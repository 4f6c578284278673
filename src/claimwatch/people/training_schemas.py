"""Request bodies of training (JSON): courses, sessions and attendance. The CSV import and the page forms build
the same models, so a refusal reads the same everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.cases.schemas import IDENTIFIER_PATTERN

CourseCode = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
StaffCode = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
# Strict: true or "2" is refused, not read as 1 or 2 (the import and the forms convert their text first).
Hours = Annotated[float, Field(gt=0, le=1000, strict=True)]


class CourseIn(BaseModel):
    """A course: ``kind`` induction | product | compliance | service | remedial | other; ``hours`` credited
    per attendance (> 0); ``lines`` it concerns (empty: all)."""

    model_config = ConfigDict(extra="forbid")

    code: CourseCode
    title: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=24)
    hours: Hours
    lines: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(default_factory=list, max_length=20)


class SessionIn(BaseModel):
    """One delivery of a course (its code: a session without one is 422 naming ``course``) on a date, by a
    trainer, for an org unit (its code; none: everyone)."""

    model_config = ConfigDict(extra="forbid")

    course: CourseCode | None = None
    held_on: dt.date
    trainer: str = Field(min_length=1, max_length=100)
    location: str | None = Field(default=None, max_length=200)
    org_unit: str | None = Field(default=None, min_length=1, max_length=32)


class AttendanceIn(BaseModel):
    """A person (staff code) at a session: ``hours`` credited (default the course's; never more), ``passed``
    the assessment (none: no assessment), ``score`` 0–100."""

    model_config = ConfigDict(extra="forbid")

    staff: StaffCode
    hours: Hours | None = None
    passed: bool | None = Field(default=None, strict=True)
    score: float | None = Field(default=None, ge=0, le=100, strict=True)

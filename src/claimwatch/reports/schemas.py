"""Request and response bodies of the reports API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.params import MAX_ROW_ID


class BuildIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["quality", "special_alert", "special_plan", "special_action"] = "quality"
    period: str | None = Field(
        default=None, max_length=16, description="quality: a month (2026-11) or a quarter (2026Q4, 2026-Q4), ended"
    )
    subject_id: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="special reports: the alert, inspection plan or action id"
    )
    locale: Literal["zh", "en"] = "zh"


class ReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    edition: str = Field(description="insurer | regulator (the cross-insurer edition)")
    period: str | None
    subject_id: int | None
    version: int
    locale: str
    title: str
    status: str = Field(description="built | failed")
    error: str | None
    built_at: dt.datetime
    built_by: str
    html_sha256: str | None
    pdf_sha256: str | None
    html_bytes: int | None
    pdf_bytes: int | None
    section_seconds: dict[str, float]
    total_seconds: float | None
    html_url: str | None = None
    pdf_url: str | None = None

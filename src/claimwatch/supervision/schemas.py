"""Request bodies of the rating API (JSON); the pages' forms build the same models, so a refusal reads the same."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PeriodText = Field(min_length=4, max_length=8, description='a quarter ("2026-Q3") or a year ("2026")')


class MethodologyIn(BaseModel):
    """A methodology version: the YAML text (the format of defaults/supervision/methodology.yaml)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=100_000)
    source: str = Field(default="methodology.yaml", max_length=200, description="the name errors cite")


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = PeriodText
    level: Literal["insurer", "branch"] = "insurer"
    note: str | None = Field(default=None, max_length=2000)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000)


class DeductionIn(BaseModel):
    """A deduction (扣分项): ``kind`` major_complaint | regulatory_penalty | other; ``reference`` the penalty
    decision or complaint number; ``region_code`` one provincial branch (none: the whole insurer)."""

    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(min_length=1, max_length=32, description="the insurer's code")
    period: str = PeriodText
    kind: Literal["major_complaint", "regulatory_penalty", "other"]
    points: Decimal = Field(gt=0, le=100, max_digits=5, decimal_places=2)
    reason: str = Field(min_length=1, max_length=2000)
    reference: str | None = Field(default=None, max_length=64)
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class DecisionIn(BaseModel):
    """``upheld`` with ``revised_score`` (the grade follows the methodology unless ``revised_grade`` is given), or
    ``rejected``; ``note`` is required either way."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "rejected"]
    note: str = Field(min_length=1, max_length=2000)
    revised_score: Decimal | None = Field(default=None, ge=0, le=100, max_digits=5, decimal_places=2)
    revised_grade: str | None = Field(default=None, max_length=4)

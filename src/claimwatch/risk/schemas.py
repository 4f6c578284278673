"""Request bodies of the risk API (JSON); the review page's form posts the same fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.params import RowId


class AssignIn(BaseModel):
    """Give a review to a reviewer; without ``user_id`` the caller takes it."""

    model_config = ConfigDict(extra="forbid")

    user_id: RowId | None = None


class ReviewDecisionIn(BaseModel):
    """fraud_confirmed and cleared close the review and become its label; needs_investigation keeps it open."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["fraud_confirmed", "cleared", "needs_investigation"]
    reason: str = Field(min_length=5, max_length=2000)


class TrainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holdout: float = Field(default=0.2, ge=0.05, le=0.5, description="share of the latest labelled claims held out")
    activate: bool = Field(default=False, description="make the new version the active one")
    c: float = Field(default=1.0, gt=0, le=1000, description="inverse L2 regularisation strength")


class ModelFileIn(BaseModel):
    """A model exported with ``GET /api/v1/risk/models/{version}/export``."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(max_length=32)
    params: dict[str, Any]
    activate: bool = False

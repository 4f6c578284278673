"""降赔惜赔 API (thin): a period's flags with their figures, running a period, opening the targeted inspection of a
flag. Refusals are the one error body naming the field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.params import RowId
from claimwatch.risk import fairness, fairness_queries

router = APIRouter(prefix="/api/v1/risk/fairness", tags=["risk"])

VIEW = Depends(require(Permission.VIEW_RISK))
# Running a period and opening a targeted inspection choose whom the quality department inspects.
MANAGE = Depends(require(Permission.MANAGE_INSPECTION_PLANS))


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(min_length=7, max_length=7, description="a month (2026-11) or a quarter (2026-Q4)")


def _page(session: TenantSession, period: str | None, everything: bool) -> dict[str, Any]:
    found = fairness_queries.page(session, period, everything=everything)
    run = found.run
    return {
        "periods": found.periods,
        "period": found.period,
        "run": None
        if run is None
        else {
            "period": run.period,
            "claims": run.claims,
            "flagged": run.flagged,
            "ran_at": run.ran_at.isoformat(),
            "ran_by": run.ran_by,
            "settings_digest": run.settings_digest,
        },
        "results": [row.as_json() for row in found.rows],
    }


@router.get("", summary="A period's 降赔惜赔 flags (all=true: every unit tested) with observed, expected and tests")
def get_fairness(
    session: TenantSession,
    period: str | None = Query(default=None, max_length=16),
    all: bool = Query(default=False, description="every unit and measure tested, not only the flags"),  # noqa: A002
    principal: Principal = VIEW,
) -> dict[str, Any]:
    return _page(session, period, all)


@router.post("/runs", status_code=201, summary="Compare every handler and org unit of a period with its peers")
def post_run(body: RunIn, session: TenantSession, principal: Principal = MANAGE) -> dict[str, Any]:
    summary = fairness.run_period(session, fairness.tenant_of(session), body.period, principal.actor)
    return _page(session, summary.period, False)


@router.post("/{result_id}/plans", status_code=201, summary="Open (and draw) the targeted inspection of a flag")
def post_plans(result_id: RowId, session: TenantSession, principal: Principal = MANAGE) -> dict[str, Any]:
    return {"plans": fairness.open_plans(session, principal, result_id)}

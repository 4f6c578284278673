"""Triage routes (thin): rule-set versions (load, check, monitor/active), the monitor comparison, a replay of
history under a candidate rule set, and a claim's triage decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query

from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.api import ClaimReader
from claimwatch.errors import Forbidden, Invalid
from claimwatch.triage import queries, service
from claimwatch.triage.schemas import ModeIn, ReplayIn, RuleCheckIn, RuleSetIn

router = APIRouter(prefix="/api/v1", tags=["triage"])
MAX_WINDOW = dt.timedelta(days=400)
MAX_REPLAY_ROWS = 500


def _tenant_only(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "triage rules belong to one insurer; this account belongs to none")
    return principal.tenant_id


@router.get("/triage/rule-sets", summary="Rule-set versions, newest first (the one in force is marked)")
def get_rule_sets(
    session: TenantSession, principal: Principal = Depends(require(Permission.VIEW_TRIAGE))
) -> list[dict[str, Any]]:
    _tenant_only(principal)
    return queries.versions(session)


@router.post("/triage/rule-sets", status_code=201, summary="Load a rule-set version (audited; file:line errors)")
def post_rule_set(
    body: RuleSetIn, session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_TRIAGE_RULES))
) -> dict[str, Any]:
    _tenant_only(principal)
    row = service.load_rule_set(session, principal, body.content, body.source, body.mode, body.active_from)
    return queries.version(row, row.id if row.active_from <= dt.datetime.now(dt.UTC) else None)


@router.post("/triage/rule-sets/check", summary="Validate a rule file without loading it")
def post_check(
    body: RuleCheckIn, principal: Principal = Depends(require(Permission.MANAGE_TRIAGE_RULES))
) -> dict[str, Any]:
    rules = service.check_rule_set(body.content, body.source or "rules.yaml")
    return {
        "version": rules.version,
        "mode": rules.mode,
        "sha256": rules.digest,
        "rules": [
            {"code": r.code, "route": r.route, "priority": r.priority, "when": r.when.describe()} for r in rules.rules
        ],
    }


@router.put("/triage/mode", summary="Switch the rules in force between monitor and active (a new version, audited)")
def put_mode(
    body: ModeIn, session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_TRIAGE_RULES))
) -> dict[str, Any]:
    _tenant_only(principal)
    return queries.version(service.set_mode(session, principal, body.mode), None) | {"in_force": True}


def _window(since: dt.datetime, until: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    if since.tzinfo is None or (until is not None and until.tzinfo is None):
        raise Invalid("since", "since and until need a UTC offset")
    end = until or dt.datetime.now(dt.UTC)
    if end <= since:
        raise Invalid("until", "until must be after since")
    if end - since > MAX_WINDOW:
        raise Invalid("until", f"at most {MAX_WINDOW.days} days at a time")
    return since, end


@router.get("/triage/comparison", summary="Monitor comparison: per rule, would-be vs actual over a period")
def get_comparison(
    session: TenantSession,
    since: dt.datetime = Query(..., description="decisions from (ISO 8601 with offset)"),
    until: dt.datetime | None = Query(None, description="… until (exclusive); default now"),
    principal: Principal = Depends(require(Permission.VIEW_TRIAGE)),
) -> dict[str, Any]:
    _tenant_only(principal)
    start, end = _window(since, until)
    return service.comparison(session, start, end)


@router.post("/triage/replay", summary="Evaluate past claims under a candidate rule set (read-only)")
def post_replay(
    body: ReplayIn, session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_TRIAGE_RULES))
) -> dict[str, Any]:
    tenant_id = _tenant_only(principal)
    start, end = _window(body.since, body.until)
    rules = service.check_rule_set(body.content, "candidate.yaml") if body.content else None
    rows = service.replay(session, tenant_id, start, end, rules)
    matrix: dict[str, dict[str, int]] = {}
    changed: list[dict[str, Any]] = []
    for row in rows:
        before = row.stored_would_be or row.stored_route
        matrix.setdefault(before, {})[row.replayed_route] = matrix.get(before, {}).get(row.replayed_route, 0) + 1
        if before != row.replayed_route and len(changed) < MAX_REPLAY_ROWS:
            changed.append(
                {"number": row.number, "recorded": before, "replayed": row.replayed_route, "fired": row.fired}
            )
    return {"claims": len(rows), "matrix": matrix, "changed": changed}


@router.get("/claims/{number}/triage", summary="A claim's route, priority, risk and every triage decision")
def get_claim_triage(
    number: str, session: ClaimReader, principal: Principal = Depends(require(Permission.VIEW_TRIAGE))
) -> dict[str, Any]:
    claim = cases_service.get_claim(session, number)
    return {
        "number": claim.number,
        "route": claim.route,
        "priority": claim.priority,
        "vulnerable": claim.vulnerable,
        "risk_score": claim.risk_score,
        "risk_level": claim.risk_level,
        "catastrophe_id": claim.catastrophe_id,
        "decisions": queries.claim_decisions(session, claim.id),
    }

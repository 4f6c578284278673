"""Committee API (thin): meetings by month, generating an agenda, a decision per item, the meeting's date and
people, closing the minutes. A refusal is the one error body naming the field (409 ``items`` naming the
undecided items when closing too early; 404 for another insurer's meeting or item)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.committee import queries, service
from claimwatch.committee.schemas import MONTH_PATTERN, DecisionIn, GenerateIn, HeldIn
from claimwatch.params import RowId, checked_date

router = APIRouter(prefix="/api/v1/committee", tags=["committee"])

VIEW = Depends(require(Permission.VIEW_COMMITTEE))
MANAGE = Depends(require(Permission.MANAGE_COMMITTEE))
MonthPath = Path(pattern=MONTH_PATTERN, description="YYYY-MM")


def _meeting(request: Request, session: TenantSession, principal: Principal, month: str) -> dict[str, Any]:
    meeting = service.get_meeting(session, principal, month)
    return queries.meeting_view(session, meeting, request_locale(request)).as_json()


@router.get("/meetings", summary="The committee's meetings, newest month first")
def list_meetings(request: Request, session: TenantSession, principal: Principal = VIEW) -> list[dict[str, Any]]:
    return [
        {"month": r.month, "status": r.status, "items": r.items, "decided": r.decided, "url": r.url}
        for r in queries.meetings(session, principal, request_locale(request))
    ]


@router.post("/meetings", status_code=201, summary="Generate (or bring up to date) a month's agenda (audited)")
def generate(request: Request, body: GenerateIn, session: TenantSession, principal: Principal = MANAGE) -> Any:
    meeting = service.generate_agenda(session, principal, body.month)
    return _meeting(request, session, principal, meeting.month)


@router.get("/meetings/{month}", summary="A month's agenda with figures, decisions and raised actions")
def get_meeting(request: Request, session: TenantSession, month: str = MonthPath, principal: Principal = VIEW) -> Any:
    return _meeting(request, session, principal, month)


@router.post("/meetings/{month}/held", summary="Record when the meeting was held, its chair and attendees")
def post_held(
    request: Request, body: HeldIn, session: TenantSession, month: str = MonthPath, principal: Principal = MANAGE
) -> Any:
    meeting = service.get_meeting(session, principal, month)
    held_on = checked_date("held_on", body.held_on)
    service.record_meeting(session, principal, meeting.id, held_on=held_on, chair=body.chair, attendees=body.attendees)
    return _meeting(request, session, principal, month)


@router.post(
    "/items/{item_id}/decision", summary="Record the decision on an agenda item (action_raised raises an action)"
)
def post_decision(item_id: RowId, body: DecisionIn, session: TenantSession, principal: Principal = MANAGE) -> Any:
    draft = None
    if body.action is not None:
        draft = service.ActionDraft(
            title=body.action.title,
            owner_user_id=body.action.owner_user_id,
            due_on=checked_date("due_on", body.action.due_on),
            problem=body.action.problem,
            kpi_code=body.action.kpi_code,
        )
    decision = service.record_decision(
        session, principal, item_id, decision=body.decision, text=body.text, raise_action=draft
    )
    return {
        "id": decision.id,
        "item_id": decision.item_id,
        "decision": decision.decision,
        "text": decision.text,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at.isoformat(),
        "action_id": decision.action_id,
    }


@router.post("/meetings/{month}/close", summary="Close the minutes (every item decided; 409 names the others)")
def post_close(request: Request, session: TenantSession, month: str = MonthPath, principal: Principal = MANAGE) -> Any:
    meeting = service.get_meeting(session, principal, month)
    service.close_minutes(session, principal, meeting.id)
    return _meeting(request, session, principal, month)

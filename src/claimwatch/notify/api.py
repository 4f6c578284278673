"""Claimant messages for staff: what each claimant was told, failures, resend, opt-outs, the KPI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid, NotFound
from claimwatch.notify import robots, service, staff_inbox
from claimwatch.notify.schemas import (
    MessageOut,
    OptOutIn,
    OptOutOut,
    PostedIn,
    PostedOut,
    PreferencesIn,
    PreferencesOut,
    ProactiveRate,
    ReadAllOut,
    ReadIn,
    ResendIn,
    ResendOut,
    RobotIn,
    RobotOut,
    StaffNoticeOut,
    UnreadCount,
    UserEmailIn,
    UserEmailOut,
)
from claimwatch.params import RowId, checked_instant
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1", tags=["notify"])


def _own_tenant(session: Session) -> int:
    tenant_id = session.info["tenant"].tenant_id
    if tenant_id is None:
        raise Invalid("tenant", "this account belongs to no tenant")
    return int(tenant_id)


@router.get("/claims/{number}/messages", response_model=list[MessageOut], summary="What the claimant was told")
def get_claim_messages(
    number: str,
    session: TenantSession,
    _: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> list[dict[str, Any]]:
    _own_tenant(session)
    claim = cases_service.get_claim(session, number)
    return [
        message | {"claim_number": claim.number}
        for message in service.messages_for_claim(session, claim.id, claim.written_since())
    ]


@router.get("/claims/{number}/notices/posted", response_model=list[PostedOut], summary="Legal notices sent by post")
def get_posted(
    number: str, session: TenantSession, _: Principal = Depends(require(Permission.VIEW_CLAIMS))
) -> list[dict[str, Any]]:
    _own_tenant(session)
    claim = cases_service.get_claim(session, number)
    return [row | {"claim_number": claim.number} for row in service.posted_for_claim(session, claim.id)]


@router.post(
    "/claims/{number}/notices/posted",
    response_model=PostedOut,
    status_code=201,
    summary="Record a legal notice sent by post (保险法 art. 24 refusal notice)",
)
def post_posted(
    number: str,
    body: PostedIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.INGEST_EVENTS)),
) -> dict[str, Any]:
    _own_tenant(session)
    claim = cases_service.get_claim(session, number)
    posted_at = checked_instant("posted_at", body.posted_at)
    row = service.record_posted(
        session, claim.id, claim.number, principal.actor, body.tracking_number, posted_at, body.carrier, body.template
    )
    return {
        "id": row.id,
        "claim_number": claim.number,
        "template": row.template,
        "posted_at": row.posted_at,
        "posted_by": row.posted_by,
        "tracking_number": row.tracking_number,
        "carrier": row.carrier,
        "recorded_at": row.recorded_at,
    }


@router.get("/notify/failures", response_model=list[MessageOut], summary="Failed and dead messages")
def get_failures(
    session: TenantSession,
    limit: int = Query(200, ge=1, le=1000),
    _: Principal = Depends(require(Permission.MANAGE_NOTIFICATIONS)),
) -> list[dict[str, Any]]:
    _own_tenant(session)
    return service.failures(session, limit)


@router.post("/notify/messages/{message_id}/resend", response_model=MessageOut, summary="Resend one message")
def post_resend_one(
    message_id: RowId,
    session: TenantSession,
    _: Principal = Depends(require(Permission.MANAGE_NOTIFICATIONS)),
) -> dict[str, Any]:
    _own_tenant(session)
    return service.message_view(service.resend_one(session, message_id))


@router.post("/notify/resend", response_model=ResendOut, summary="Resend failed and dead messages")
def post_resend(
    session: TenantSession,
    body: ResendIn | None = None,
    _: Principal = Depends(require(Permission.MANAGE_NOTIFICATIONS)),
) -> dict[str, int]:
    _own_tenant(session)
    return {"requeued": service.resend(session, body.ids if body else None)}


@router.post("/notify/opt-outs", response_model=OptOutOut, status_code=201, summary="A claimant opts out")
def post_opt_out(
    body: OptOutIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_NOTIFICATIONS)),
) -> dict[str, Any]:
    tenant_id = _own_tenant(session)
    found = service.opt_out(session, tenant_id, body.address, body.channel, principal.actor, body.reason)
    return {"id": found.id, "channel": found.channel, "created_at": found.created_at}


@router.get("/notify/kpi/proactive-rate", response_model=ProactiveRate, summary="Proactive notification rate")
def get_proactive_rate(
    session: TenantSession,
    org: str | None = Query(None, description="org unit code (with its subtree)"),
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    tenant: str | None = Query(None, description="tenant code; required for a regulator"),
    principal: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> dict[str, Any]:
    checked_instant("since", since)
    checked_instant("until", until)
    tenant_id = principal.tenant_id
    if tenant is not None:
        found = tenancy_repository.tenant_by_code(session, tenant)
        if found is None or (tenant_id is not None and found.id != tenant_id):
            raise NotFound("tenant", f"unknown tenant {tenant!r}")
        tenant_id = found.id
    if tenant_id is None:
        raise Invalid("tenant", "give ?tenant=CODE")
    if not principal.is_regulator:
        return _proactive_rate(session, tenant_id, org, since, until)
    # A regulator reads one insurer: org unit codes are unique per insurer only.
    with unit_of_work(TenantContext.regulator_of(tenant_id)) as narrowed:
        return _proactive_rate(narrowed, tenant_id, org, since, until)


def _proactive_rate(
    session: Session, tenant_id: int, org: str | None, since: dt.datetime | None, until: dt.datetime | None
) -> dict[str, Any]:
    org_id = None
    if org is not None:
        org_id = tenancy_repository.org_ids_by_code(session).get(org)
        if org_id is None:
            raise NotFound("org", f"unknown org unit {org!r}")
    return service.proactive_notification_rate(
        session,
        tenant_id,
        org_id,
        since.astimezone(dt.UTC) if since else None,
        until.astimezone(dt.UTC) if until else None,
    )


# -- staff notices: the signed-in user's own, their preferences; e-mail addresses and robots (admins) ----


@router.get("/notifications", response_model=list[StaffNoticeOut], summary="My notifications, newest first")
def get_notifications(
    request: Request,
    session: TenantSession,
    unread: bool = Query(False, description="only the unread ones"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
    principal: Principal = Depends(require(Permission.READ_OWN_NOTIFICATIONS)),
) -> list[dict[str, Any]]:
    _own_tenant(session)
    return staff_inbox.inbox(session, principal.user_id, request_locale(request), unread, limit, offset)


@router.get("/notifications/unread-count", response_model=UnreadCount, summary="How many of mine are unread")
def get_unread_count(
    session: TenantSession,
    principal: Principal = Depends(require(Permission.READ_OWN_NOTIFICATIONS)),
) -> dict[str, int]:
    _own_tenant(session)
    return {"unread": staff_inbox.unread_count(session, principal.user_id)}


@router.post("/notifications/{item_id}/read", response_model=StaffNoticeOut, summary="Mark one read (or unread)")
def post_read(
    item_id: RowId,
    request: Request,
    session: TenantSession,
    body: ReadIn | None = None,
    principal: Principal = Depends(require(Permission.READ_OWN_NOTIFICATIONS)),
) -> dict[str, Any]:
    _own_tenant(session)
    item = staff_inbox.mark_read(session, principal.user_id, item_id, body.read if body else True)
    return staff_inbox.inbox(session, principal.user_id, request_locale(request), item_id=item.id)[0]


@router.post("/notifications/read-all", response_model=ReadAllOut, summary="Mark all of mine read")
def post_read_all(
    session: TenantSession,
    principal: Principal = Depends(require(Permission.READ_OWN_NOTIFICATIONS)),
) -> dict[str, int]:
    _own_tenant(session)
    return {"marked": staff_inbox.mark_all_read(session, principal.user_id)}


@router.get("/notifications/preferences", response_model=PreferencesOut, summary="My notification preferences")
def get_preferences(
    session: TenantSession,
    principal: Principal = Depends(require(Permission.READ_OWN_NOTIFICATIONS)),
) -> dict[str, Any]:
    return staff_inbox.preferences_view(session, principal.user_id, _own_tenant(session))


@router.put("/notifications/preferences", response_model=PreferencesOut, summary="Set my notification preferences")
def put_preferences(
    body: PreferencesIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.READ_OWN_NOTIFICATIONS)),
) -> dict[str, Any]:
    tenant_id = _own_tenant(session)
    return staff_inbox.set_preferences(session, principal.user_id, tenant_id, body.email, body.locale, principal.actor)


@router.put("/users/{username}/email", response_model=UserEmailOut, summary="Set a staff member's e-mail address")
def put_user_email(
    username: str,
    body: UserEmailIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_TENANT)),
) -> dict[str, Any]:
    tenant_id = _own_tenant(session)
    user = staff_inbox.set_user_email(session, tenant_id, username[:64], body.email, principal.actor)
    return {"username": user.username, "email": user.email}


@router.get("/notify/robots", response_model=list[RobotOut], summary="Group robots (WeCom, DingTalk)")
def get_robots(
    session: TenantSession,
    _: Principal = Depends(require(Permission.MANAGE_TENANT)),
) -> list[dict[str, Any]]:
    _own_tenant(session)
    return robots.list_robots(session)


@router.put("/notify/robots", response_model=RobotOut, summary="Add or replace a group robot")
def put_robot(
    body: RobotIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_TENANT)),
) -> dict[str, Any]:
    tenant_id = _own_tenant(session)
    return robots.save_robot(
        session,
        tenant_id,
        name=body.name,
        provider=body.provider,
        url=body.url,
        secret=body.secret,
        org=body.org,
        kinds=body.kinds,
        locale=body.locale,
        actor=principal.actor,
    )


@router.delete("/notify/robots/{name}", status_code=204, summary="Remove a group robot")
def delete_robot(
    name: str,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_TENANT)),
) -> Response:
    tenant_id = _own_tenant(session)
    robots.remove_robot(session, tenant_id, name[:64], principal.actor)
    return Response(status_code=204)

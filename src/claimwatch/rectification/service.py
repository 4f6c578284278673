"""Rectification (整改) rules and writes: opening from a source, the owner's plan, progress and submission,
the quality manager's acceptance or sending back, closing, and evidence per step. No HTTP here, never
commits.

States: open → plan_submitted → in_progress → submitted_for_acceptance → accepted | sent_back (→ in_progress
again) → closed. Two clocks on the SLA engine start at opening (``defaults/rectification/policies.yaml``): the
plan (30 calendar days; stops when the plan is submitted) and the acceptance (60 days; stops at acceptance or
closing). Their outcomes (met | breached) are copied onto the rectification for the KPIs.

Who: the owner (or whoever manages the owner unit's work: a supervisor or admin of a unit above it) submits
the plan, progress and the request for acceptance (WORK_RECTIFICATIONS); a quality manager accepts, sends
back with a reason, and closes (ACCEPT_RECTIFICATIONS). A transition from the wrong state is a 409 naming
the state. Quality roles see every rectification of their tenant; others their org subtree (and their own).

Lock order (as everywhere): each action takes the tenant's audit-chain head first, then reads the
rectification again and writes its event and audit entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.models import Role
from claimwatch.auth.principal import AccessDenied, Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.materials import content as materials_content
from claimwatch.materials import service as materials_service
from claimwatch.materials import storage
from claimwatch.materials.storage import StagedFile
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.params import clean_text, event_time
from claimwatch.rectification import loader, repository
from claimwatch.rectification.clocks import ClockSet
from claimwatch.rectification.models import Rectification, RectificationEvent, RectificationEvidence
from claimwatch.rectification.vocabulary import (
    CLOSED,
    OPEN,
    SEVERITIES,
    STEPS,
    TRANSITIONS,
    Transition,
    step_for,
)
from claimwatch.sla import service as sla_service
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.models import OrgUnit

NUMBER_PREFIX = "ZG"  # 整改
OPENED = "the rectification was opened"  # what a backdated time must not be before
_SOURCE_KIND = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
# Staff notice kinds (notify.staff_notices.KIND_LABELS gives them labels and e-mail defaults).
NOTICE_OPENED = "rectification_opened"
NOTICE_SENT_BACK = "rectification_sent_back"
NOTICE_SUBMITTED = "rectification_submitted"


class RectificationNotFound(NotFound):
    def __init__(self, rectification_id: int | str) -> None:
        super().__init__("id", f"no rectification {rectification_id}")


class WrongState(Conflict):
    """409: the action does not fit the rectification's state, which the message names."""

    def __init__(self, rectification: Rectification, transition: Transition) -> None:
        allowed = ", ".join(transition.allowed)
        super().__init__(
            "status",
            f"rectification {rectification.number} is {rectification.status}: "
            f"'{transition.action}' is possible only when it is {allowed}",
        )


# -- who sees and who works -------------------------------------------------------------------------------


def sees_whole_tenant(principal: Principal) -> bool:
    """Quality roles (who accept, or inspect) see every rectification of their tenant."""
    return principal.can(Permission.ACCEPT_RECTIFICATIONS) or principal.can(Permission.PERFORM_INSPECTIONS)


def view_scope(session: Session, principal: Principal) -> set[int] | None:
    """The org units whose rectifications the principal sees; None: all of the tenant."""
    principal.require(Permission.VIEW_RECTIFICATIONS)
    if sees_whole_tenant(principal):
        return None
    return sla_service.org_scope(session, principal)


def visible(session: Session, principal: Principal, rectification: Rectification) -> bool:
    scope = view_scope(session, principal)
    return (
        scope is None
        or rectification.owner_org_unit_id in scope
        or (principal.user_id is not None and rectification.owner_user_id == principal.user_id)
    )


def may_work(session: Session, principal: Principal, rectification: Rectification) -> bool:
    """The owner, or someone who manages the work of the owner unit (a supervisor or admin above it)."""
    if not principal.can(Permission.WORK_RECTIFICATIONS):
        return False
    if principal.user_id is not None and rectification.owner_user_id == principal.user_id:
        return True
    if not principal.can(Permission.MANAGE_ASSIGNMENT):
        return False
    scope = sla_service.org_scope(session, principal)
    return scope is None or rectification.owner_org_unit_id in scope


def may_upload(session: Session, principal: Principal, rectification: Rectification) -> bool:
    return principal.can(Permission.ACCEPT_RECTIFICATIONS) or may_work(session, principal, rectification)


def allowed_actions(session: Session, principal: Principal, rectification: Rectification) -> list[str]:
    """The transitions this principal may make now (the page's buttons, the API's ``actions``)."""
    found = []
    for transition in TRANSITIONS.values():
        if rectification.status not in transition.allowed or not principal.can(transition.permission):
            continue
        if transition.permission is Permission.WORK_RECTIFICATIONS and not may_work(session, principal, rectification):
            continue
        found.append(transition.action)
    return found


def get_visible(session: Session, principal: Principal, rectification_id: int) -> Rectification:
    rectification = repository.get(session, rectification_id)
    if rectification is None or not visible(session, principal, rectification):
        raise RectificationNotFound(rectification_id)
    return rectification


# -- recording --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_event(
    session: Session,
    rectification: Rectification,
    kind: str,
    at: dt.datetime,
    actor: str,
    note: str | None = None,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    **data: Any,
) -> None:
    """A RectificationEvent and its audit-chain entry (the caller, an action or the sweep, holds the chain)."""
    payload = {key: _plain(value) for key, value in data.items() if value is not None}
    session.add(
        RectificationEvent(
            tenant_id=rectification.tenant_id,
            rectification_id=rectification.id,
            kind=kind,
            at=at,
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            note=note,
            data=json.dumps(payload, ensure_ascii=False, sort_keys=True) if payload else None,
        )
    )
    audit_service.record(
        session,
        rectification.tenant_id,
        f"rectification.{kind}",
        rectification.number,
        actor,
        {
            "rectification": rectification.number,
            "action": kind,
            "at": at.isoformat(),
            "from": from_status,
            "to": to_status,
            "note": note,
        }
        | payload,
    )
    rectification.updated_at = utc_now()
    session.flush()


def rectification_url(rectification_id: int) -> str:
    return f"/rectifications/{rectification_id}"


# -- opening ---------------------------------------------------------------------------------------------


def _owner_unit(session: Session, tenant_id: int, org_unit_id: int) -> OrgUnit:
    unit = session.execute(
        select(OrgUnit).where(OrgUnit.tenant_id == tenant_id, OrgUnit.id == org_unit_id)
    ).scalar_one_or_none()
    if unit is None:
        raise Invalid("owner_org_unit_id", f"no org unit {org_unit_id} in this tenant")
    return unit


def open_rectification(
    session: Session,
    tenant_id: int,
    *,
    source_kind: str,
    source_id: int,
    source_label: str,
    source_url: str,
    title: str,
    severity: str,
    owner_org_unit_id: int | None,
    owner_user_id: int | None,
    actor: str,
    at: dt.datetime | None = None,
) -> Rectification:
    """Open a rectification for a source (an inspection finding, a regulator's finding…), its plan and
    acceptance clocks running from ``at`` (default now). Idempotent per (source_kind, source_id): the
    rectification already opened for that source is returned unchanged. The owner person is told."""
    if not isinstance(source_kind, str) or not _SOURCE_KIND.match(source_kind):
        raise Invalid("source_kind", f"source_kind must be a lower-case code, not {source_kind!r}")
    if isinstance(source_id, bool) or not isinstance(source_id, int) or source_id <= 0:
        raise Invalid("source_id", f"source_id must be a positive integer, not {source_id!r}")
    existing = repository.by_source(session, tenant_id, source_kind, source_id)
    if existing is not None:
        return existing
    label = clean_text(source_label, "source_label", True, 200)
    url = (source_url or "").strip()
    if not url.startswith("/") or url.startswith("//") or len(url) > 300:
        raise Invalid("source_url", "source_url must be a path of this site, e.g. /inspections/findings/12")
    heading = clean_text(title, "title", True, 300)
    if severity not in SEVERITIES:
        raise Invalid("severity", f"unknown severity {severity!r} (known: {', '.join(SEVERITIES)})")
    if owner_user_id is None and owner_org_unit_id is None:
        raise Invalid("owner_org_unit_id", "a rectification needs an owner unit or an owner person")
    if owner_user_id is not None:
        owner = auth_repository.user_by_id(session, owner_user_id)
        if owner is None or owner.tenant_id != tenant_id:
            raise Invalid("owner_user_id", f"no user {owner_user_id} in this tenant")
        if owner_org_unit_id is None:
            owner_org_unit_id = owner.org_unit_id
    if owner_org_unit_id is not None:
        _owner_unit(session, tenant_id, owner_org_unit_id)
    when = event_time(at)
    audit_service.open_chain(session, tenant_id).close()
    existing = repository.by_source(session, tenant_id, source_kind, source_id)
    if existing is not None:  # opened by a concurrent caller while we waited for the chain
        return existing
    zone = tenancy_service.tenant_zone(session, tenant_id)
    prefix = f"{NUMBER_PREFIX}-{when.astimezone(zone).year}-"
    number = f"{prefix}{repository.numbers_in_year(session, tenant_id, prefix) + 1:06d}"
    rectification = Rectification(
        tenant_id=tenant_id,
        number=number,
        source_kind=source_kind,
        source_id=source_id,
        source_label=label,
        source_url=url,
        title=heading,
        severity=severity,
        owner_org_unit_id=owner_org_unit_id,
        owner_user_id=owner_user_id,
        status=OPEN,
        opened_at=when,
        opened_by=actor,
        sent_back_count=0,
        created_at=utc_now(),
        updated_at=utc_now(),
    )
    session.add(rectification)
    session.flush()
    book = ClockSet(session, rectification)
    plan = book.start(loader.PLAN, when)
    acceptance = book.start(loader.ACCEPTANCE, when)
    rectification.plan_due_at = plan.yellow_due_at
    rectification.acceptance_due_at = acceptance.yellow_due_at
    record_event(
        session,
        rectification,
        "opened",
        when,
        actor,
        to_status=OPEN,
        source_kind=source_kind,
        source_id=source_id,
        source=label,
        severity=severity,
        owner_user_id=owner_user_id,
        owner_org_unit_id=owner_org_unit_id,
        plan_due_at=plan.yellow_due_at,
        acceptance_due_at=acceptance.yellow_due_at,
    )
    due = _local_day(plan.yellow_due_at, zone)
    notify_staff_notices.notify_user(
        session,
        rectification.tenant_id,
        owner_user_id,
        NOTICE_OPENED,
        f"整改通知 {number}：{heading}"[:200],
        f"{label} 要求整改：{heading}。请于 {due} 前提交整改方案。",
        f"rectification:{rectification.id}:opened",
        utc_now(),
        link=rectification_url(rectification.id),
    )
    return rectification


def _local_day(value: dt.datetime | None, zone: dt.tzinfo) -> str:
    """A whole-day deadline as the day it ends on (the midnight that ends it belongs to the day before)."""
    if value is None:
        return "—"
    return (value.astimezone(zone) - dt.timedelta(seconds=1)).strftime("%Y-%m-%d")


# -- transitions ------------------------------------------------------------------------------------------


def _lock(session: Session, principal: Principal, rectification_id: int, transition: Transition) -> Rectification:
    """Role first (403), then existence and visibility (404), then — chain taken — who and the state (403, 409)."""
    principal.require(transition.permission)
    rectification = get_visible(session, principal, rectification_id)
    audit_service.open_chain(session, rectification.tenant_id).close()
    session.refresh(rectification)
    if transition.permission is Permission.WORK_RECTIFICATIONS and not may_work(session, principal, rectification):
        raise Forbidden(
            "owner",
            f"only the owner of rectification {rectification.number} or a supervisor of its unit may do this",
        )
    if rectification.status not in transition.allowed:
        raise WrongState(rectification, transition)
    return rectification


def transition(
    session: Session,
    principal: Principal,
    rectification_id: int,
    action: str,
    text: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> Rectification:
    """One step of the life cycle (``vocabulary.TRANSITIONS``): plan, progress, submit, accept, send-back,
    close. ``text`` is the plan, the progress note, the reason for sending back, or the note."""
    found = TRANSITIONS.get(action)
    if found is None:
        raise NotFound("action", f"no action {action!r} (known: {', '.join(TRANSITIONS)})")
    rectification = _lock(session, principal, rectification_id, found)
    field = found.text_field or "note"
    written = clean_text(text, field, not found.optional_text)
    when = event_time(at, rectification.opened_at, floor_event=OPENED)
    before = rectification.status
    book = ClockSet(session, rectification)
    data: dict[str, Any] = {}
    if action == "plan":
        rectification.plan = written
        rectification.plan_submitted_at = when
        clock = book.stop(loader.PLAN, when)
        if clock is not None:
            rectification.plan_outcome = clock.outcome
            data["plan_clock"] = clock.outcome
    elif action == "submit":
        rectification.submitted_at = when
    elif action == "accept":
        rectification.accepted_at = when
        rectification.accepted_by = principal.actor
        clock = book.stop(loader.ACCEPTANCE, when)
        if clock is not None:
            rectification.acceptance_outcome = clock.outcome
            data["acceptance_clock"] = clock.outcome
    elif action == "send-back":
        rectification.sent_back_count += 1
        data["sent_back_count"] = rectification.sent_back_count
    elif action == "close":
        rectification.closed_at = when
        for clock in book.stop_all(when):
            data[f"{clock.policy_code}_clock"] = clock.outcome
    rectification.status = found.to
    record_event(
        session, rectification, action, when, principal.actor, written, from_status=before, to_status=found.to, **data
    )
    _tell(session, rectification, action, written)
    return rectification


def _tell(session: Session, rectification: Rectification, action: str, text: str | None) -> None:
    now = utc_now()
    if action == "send-back":
        notify_staff_notices.notify_user(
            session,
            rectification.tenant_id,
            rectification.owner_user_id,
            NOTICE_SENT_BACK,
            f"整改 {rectification.number} 被退回"[:200],
            f"整改「{rectification.title}」验收未通过，已退回：{text or ''}",
            f"rectification:{rectification.id}:sent-back:{rectification.sent_back_count}",
            now,
            link=rectification_url(rectification.id),
        )
    elif action == "submit":
        notify_staff_notices.notify_staff(
            session,
            rectification.tenant_id,
            Role.QUALITY_MANAGER.value,
            NOTICE_SUBMITTED,
            f"整改 {rectification.number} 待验收"[:200],
            f"整改「{rectification.title}」已提交验收，请在验收时限内完成验收。",
            f"rectification:{rectification.id}:submitted:{rectification.sent_back_count}",
            now,
            org_unit_id=rectification.owner_org_unit_id,
            link=rectification_url(rectification.id),
        )


def submit_plan(
    session: Session, principal: Principal, rectification_id: int, plan: str, *, at: dt.datetime | None = None
) -> Rectification:
    return transition(session, principal, rectification_id, "plan", plan, at=at)


def record_progress(
    session: Session, principal: Principal, rectification_id: int, note: str, *, at: dt.datetime | None = None
) -> Rectification:
    return transition(session, principal, rectification_id, "progress", note, at=at)


def submit_for_acceptance(
    session: Session, principal: Principal, rectification_id: int, note: str, *, at: dt.datetime | None = None
) -> Rectification:
    return transition(session, principal, rectification_id, "submit", note, at=at)


def accept(
    session: Session,
    principal: Principal,
    rectification_id: int,
    note: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> Rectification:
    return transition(session, principal, rectification_id, "accept", note, at=at)


def send_back(
    session: Session, principal: Principal, rectification_id: int, reason: str, *, at: dt.datetime | None = None
) -> Rectification:
    return transition(session, principal, rectification_id, "send-back", reason, at=at)


def close(
    session: Session,
    principal: Principal,
    rectification_id: int,
    note: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> Rectification:
    return transition(session, principal, rectification_id, "close", note, at=at)


# -- evidence ---------------------------------------------------------------------------------------------


def check_upload(session: Session, principal: Principal, rectification_id: int, step: str | None) -> Rectification:
    """The cheap refusals before a file is copied: who (403), which (404), state (409), step (422)."""
    principal.require(Permission.VIEW_RECTIFICATIONS)
    rectification = get_visible(session, principal, rectification_id)
    if not may_upload(session, principal, rectification):
        raise Forbidden("owner", "only the owner, a supervisor of its unit or a quality manager may add evidence")
    if rectification.status == CLOSED:
        raise Conflict("status", f"rectification {rectification.number} is closed: no more evidence")
    if step is not None and step not in STEPS:
        raise Invalid("step", f"unknown step {step!r} (known: {', '.join(STEPS)})")
    return rectification


def add_evidence(
    session: Session,
    principal: Principal,
    rectification_id: int,
    *,
    filename: str | None,
    content_type: str | None,
    staged: StagedFile,
    step: str | None = None,
    note: str | None = None,
    at: dt.datetime | None = None,
) -> tuple[RectificationEvidence, bool]:
    """Put a staged upload in place for a step (default: the step the state is in) and record it with its
    SHA-256 in the audit chain. The same content for the same step is acknowledged again (False)."""
    if not (principal.can(Permission.WORK_RECTIFICATIONS) or principal.can(Permission.ACCEPT_RECTIFICATIONS)):
        raise AccessDenied(f"role {principal.role.value!r} may not add rectification evidence")
    rectification = check_upload(session, principal, rectification_id, step)
    normalised = materials_service.check_content_type(content_type)
    if not materials_service.content_matches(normalised, staged.head):
        raise Invalid("file", f"the content is not a {materials_service.ALLOWED_CONTENT_TYPES[normalised]} file")
    refused = materials_content.refusal(normalised, staged.path, staged.head, staged.size)
    if refused is not None:
        raise Invalid("file", refused)
    written = clean_text(note, "note", False, 1000)
    audit_service.open_chain(session, rectification.tenant_id).close()
    session.refresh(rectification)
    when = event_time(at, rectification.opened_at, floor_event=OPENED)
    chosen = step or step_for(rectification.status)
    existing = repository.evidence_with_hash(session, rectification.id, chosen, staged.sha256)
    if existing is not None:
        return existing, False
    relative = f"{rectification.tenant_id}/rectifications/{rectification.id}/{staged.sha256}"
    storage.place(staged, relative)
    name = materials_service.sanitise_filename(filename)
    seq = audit_service.record(
        session,
        rectification.tenant_id,
        "rectification.evidence",
        rectification.number,
        principal.actor,
        {
            "rectification": rectification.number,
            "step": chosen,
            "sha256": staged.sha256,
            "size": staged.size,
            "content_type": normalised,
            "uploaded_at": when.isoformat(),
        },
    )
    item = RectificationEvidence(
        tenant_id=rectification.tenant_id,
        rectification_id=rectification.id,
        step=chosen,
        filename=name,
        content_type=normalised,
        size_bytes=staged.size,
        sha256=staged.sha256,
        storage_path=relative,
        note=written,
        uploaded_at=when,
        uploaded_by=principal.actor,
        audit_seq=seq,
    )
    session.add(item)
    session.add(
        RectificationEvent(
            tenant_id=rectification.tenant_id,
            rectification_id=rectification.id,
            kind="evidence",
            at=when,
            actor=principal.actor,
            note=written,
            data=json.dumps({"step": chosen, "filename": name, "sha256": staged.sha256}, ensure_ascii=False),
        )
    )
    rectification.updated_at = utc_now()
    session.flush()
    return item, True

"""The staff register (DESIGN M20): staff members and agents, their org unit, platform account and manager,
leaving, and their licences (执业证/资格证) with the rules every other part of the platform asks of them:

- :func:`licence_valid` — whether a person held a valid licence of a kind on a day (a sale by an agent without
  one is flagged by the sales rules);
- :func:`staff_by_code` / :func:`staff_for_user` — the person a sales record, an attendance row or a user is;
- :func:`visible_staff_ids` — whom a principal may see: the quality department and admins everyone; a
  supervisor the people of their org subtree and those they manage; anybody themselves.

A licence is valid on a day when ``issued_on`` ≤ day ≤ ``expires_on`` and it is not revoked by then; an expiry
before the issue is refused naming ``expires_on``; a number is unique per licence kind. Every write is audited
(``people.staff_*``) in the caller's transaction; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound
from claimwatch.params import checked_date
from claimwatch.people import repository
from claimwatch.people.models import StaffLicence, StaffMember
from claimwatch.people.schemas import LicenceIn, StaffIn, StaffUpdate
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate

STAFF_KINDS = ("employee", "agent")
STATUSES = ("active", "left")
LICENCE_KINDS = ("sales", "claims_adjuster", "underwriter", "other")
# A person's licence state on a day (the register's filter): valid | expiring (within EXPIRING_DAYS) | expired
# (licences, none valid) | none (no licence recorded).
PERSON_LICENCE_STATES = ("valid", "expiring", "expired", "none")
EXPIRING_DAYS = 30
MAX_REASON = 2000

KIND_LABELS = {"employee": N_("Employee"), "agent": N_("Agent")}
STATUS_LABELS = {"active": N_("Active"), "left": N_("Left")}
LICENCE_KIND_LABELS = {
    "sales": N_("Sales licence"),
    "claims_adjuster": N_("Claims adjuster qualification"),
    "underwriter": N_("Underwriter qualification"),
    "other": N_("Other qualification"),
}
LICENCE_STATE_LABELS = {
    "valid": N_("Valid"),
    "expiring": N_("Expiring within 30 days"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
    "not_yet": N_("Not yet valid"),
    "none": N_("No licence"),
}

AUDIT_CREATED = "people.staff_created"
AUDIT_UPDATED = "people.staff_updated"
AUDIT_LEFT = "people.staff_left"
AUDIT_LICENCE = "people.staff_licence"
AUDIT_REVOKED = "people.staff_licence_revoked"


def label(table: dict[str, str], code: str, locale: str) -> str:
    return translate(locale, table[code]) if code in table else code


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "the staff register belongs to one insurer; this account belongs to none")
    return principal.tenant_id


def today(session: Session, tenant_id: int, now: dt.datetime | None = None) -> dt.date:
    """The tenant's local day."""
    return (now or utc_now()).astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()


# -- what the others ask ----------------------------------------------------------------------------------------


def staff_by_code(session: Session, tenant_id: int, code: str) -> StaffMember | None:
    return repository.staff_by_code(session, tenant_id, code)


def staff_for_user(session: Session, tenant_id: int, user_id: int) -> StaffMember | None:
    return repository.staff_by_user(session, tenant_id, user_id)


def get_staff(session: Session, tenant_id: int, code: str) -> StaffMember:
    found = repository.staff_by_code(session, tenant_id, code)
    if found is None:
        raise NotFound("staff", f"no staff member {code!r}")
    return found


def licence_valid(session: Session, tenant_id: int, staff_id: int, kind: str, on: dt.date) -> bool:
    """Whether the person held a licence of ``kind`` valid on ``on`` (issued, not expired, not revoked)."""
    return repository.has_valid_licence(session, tenant_id, staff_id, kind, on)


def valid_licence_staff_ids(session: Session, tenant_id: int, kind: str, on: dt.date) -> set[int]:
    """:func:`licence_valid` for everyone at once: the ids of the people with a valid ``kind`` licence on ``on``."""
    return repository.valid_licence_staff_ids(session, tenant_id, kind, on)


def visible_staff_ids(session: Session, principal: Principal) -> set[int] | None:
    """The staff members ``principal`` may see: None for all of the tenant (quality department, admins, the
    integration key); a supervisor the people of their org subtree (their user's unit and below) and those
    whose manager they are; anybody their own record. A regulator or an account of no tenant: nobody."""
    if principal.tenant_id is None or principal.is_regulator:
        return set()
    if principal.can(Permission.MANAGE_PEOPLE):  # the quality department, admins, the HR system's key
        return None
    if principal.user_id is None:
        return set()
    tenant_id = principal.tenant_id
    found = repository.staff_ids_where(session, tenant_id, StaffMember.user_id == principal.user_id)
    if principal.can(Permission.VIEW_PEOPLE):  # a supervisor: their org subtree and the people they manage
        found |= repository.staff_ids_where(session, tenant_id, StaffMember.manager_user_id == principal.user_id)
        user = auth_repository.user_by_id(session, principal.user_id)
        if user is not None and user.org_unit_id is not None:
            units = repository.org_ids_below(session, tenant_id, user.org_unit_id)
            if units:
                found |= repository.staff_ids_where(session, tenant_id, StaffMember.org_unit_id.in_(sorted(units)))
    return found


def may_see(session: Session, principal: Principal, staff: StaffMember) -> bool:
    if principal.tenant_id != staff.tenant_id:
        return False
    visible = visible_staff_ids(session, principal)
    return visible is None or staff.id in visible


def visible_staff(session: Session, principal: Principal, code: str) -> StaffMember:
    """The person ``code`` if ``principal`` may see them; else unknown (404), as another insurer's."""
    staff = get_staff(session, tenant_of(principal), code)
    if not may_see(session, principal, staff):
        raise NotFound("staff", f"no staff member {code!r}")
    return staff


# -- licence states ---------------------------------------------------------------------------------------------


def licence_state(licence: StaffLicence, on: dt.date) -> str:
    """valid | expiring (valid, ends within 30 days) | expired | revoked | not_yet, on ``on``."""
    if licence.revoked_on is not None and licence.revoked_on <= on:
        return "revoked"
    if licence.issued_on > on:
        return "not_yet"
    if licence.expires_on < on:
        return "expired"
    if licence.expires_on <= on + dt.timedelta(days=EXPIRING_DAYS):
        return "expiring"
    return "valid"


def person_licence_state(licences: Sequence[StaffLicence], on: dt.date) -> str:
    """The register's summary of a person's licences: expiring when one ends within 30 days (something to
    do), else valid when one is valid, else expired when there are licences, else none."""
    states = {licence_state(licence, on) for licence in licences}
    if not states:
        return "none"
    if "expiring" in states:
        return "expiring"
    if "valid" in states:
        return "valid"
    return "expired"


# -- checks shared by the API, the pages and the CSV import -----------------------------------------------------


@dataclass
class Resolved:
    """What a staff body's names resolve to (the ids to store) and what could not be resolved."""

    values: dict[str, Any]
    problems: list[FieldProblem]


def _user_id(session: Session, tenant_id: int, field: str, username: str, problems: list[FieldProblem]) -> int | None:
    user = auth_repository.user_by_username(session, username.strip())
    if user is None or user.tenant_id != tenant_id:
        problems.append(FieldProblem(field, f"no user {username!r} at this insurer"))
        return None
    return user.id


def resolve(session: Session, tenant_id: int, data: StaffIn | StaffUpdate) -> Resolved:
    """Check a staff body beyond its schema (kind, org unit by code, user and manager by username, dates) and
    resolve its names to ids; only the fields sent are in ``values``."""
    sent = data.model_fields_set
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {}
    for field in ("name", "job_title"):
        if field in sent:
            text = (getattr(data, field) or "").strip()
            values[field] = text or None
    if "kind" in sent:
        if data.kind not in STAFF_KINDS:
            problems.append(FieldProblem("kind", f"kind is one of {', '.join(STAFF_KINDS)}, not {data.kind!r}"))
        values["kind"] = data.kind
    if "org_unit" in sent:
        unit = tenancy_repository.org_unit_by_code(session, data.org_unit) if data.org_unit else None
        if data.org_unit and (unit is None or unit.tenant_id != tenant_id):
            problems.append(FieldProblem("org_unit", f"no org unit {data.org_unit!r}"))
        values["org_unit_id"] = unit.id if unit is not None else None
    for field, column in (("username", "user_id"), ("manager", "manager_user_id")):
        if field in sent:
            name = getattr(data, field)
            values[column] = _user_id(session, tenant_id, field, name, problems) if name else None
    for field in ("hired_on", "left_on"):
        value = getattr(data, field, None)
        if field in sent and value is not None:
            try:
                values[field] = checked_date(field, value)
            except Invalid as exc:
                problems.append(FieldProblem(field, exc.message))
        elif field in sent:
            values[field] = None
    return Resolved(values, problems)


def licence_problems(session: Session, tenant_id: int, data: LicenceIn) -> list[FieldProblem]:
    """A licence's kind and dates (an expiry before the issue names ``expires_on``); a number already recorded
    for the kind is :func:`add_licence`'s (409) and the import's to say."""
    problems: list[FieldProblem] = []
    if data.kind not in LICENCE_KINDS:
        problems.append(FieldProblem("kind", f"licence kind is one of {', '.join(LICENCE_KINDS)}, not {data.kind!r}"))
    for field in ("issued_on", "expires_on"):
        try:
            checked_date(field, getattr(data, field))
        except Invalid as exc:
            problems.append(FieldProblem(field, exc.message))
    if data.expires_on < data.issued_on:
        problems.append(FieldProblem("expires_on", "the licence expires before it is issued"))
    return problems


def _raise_first(problems: list[FieldProblem]) -> None:
    if problems:
        raise Invalid(problems[0].field, problems[0].message, problems=problems)


def _require_manager(principal: Principal) -> int:
    principal.require(Permission.MANAGE_PEOPLE)
    return tenant_of(principal)


def _public(staff: StaffMember) -> dict[str, Any]:
    """What the audit chain keeps of a person (no personal data beyond the name and code)."""
    return {
        "code": staff.code,
        "name": staff.name,
        "kind": staff.kind,
        "job_title": staff.job_title,
        "org_unit_id": staff.org_unit_id,
        "user_id": staff.user_id,
        "manager_user_id": staff.manager_user_id,
        "hired_on": staff.hired_on.isoformat(),
        "left_on": staff.left_on.isoformat() if staff.left_on else None,
        "status": staff.status,
    }


def _licence_public(licence: StaffLicence) -> dict[str, Any]:
    return {
        "id": licence.id,
        "kind": licence.kind,
        "number": licence.number,
        "issued_on": licence.issued_on.isoformat(),
        "expires_on": licence.expires_on.isoformat(),
    }


# -- writes -----------------------------------------------------------------------------------------------------


def create_staff(session: Session, principal: Principal, data: StaffIn) -> StaffMember:
    """Record a staff member or agent (active), with a first licence when the body has one. A code already
    recorded: 409 naming ``code``."""
    tenant_id = _require_manager(principal)
    resolved = resolve(session, tenant_id, data)
    problems = list(resolved.problems)
    if data.licence is not None:
        problems += licence_problems(session, tenant_id, data.licence)
    _raise_first(problems)
    if repository.staff_by_code(session, tenant_id, data.code) is not None:
        raise Conflict("code", f"staff member {data.code!r} is already recorded")
    now = utc_now()
    staff = StaffMember(
        tenant_id=tenant_id,
        code=data.code,
        status="active",
        created_by=principal.actor,
        created_at=now,
        updated_at=now,
        **{k: v for k, v in resolved.values.items() if k != "left_on"},
    )
    session.add(staff)
    session.flush()
    audit_service.record(session, tenant_id, AUDIT_CREATED, staff.code, principal.actor, _public(staff))
    if data.licence is not None:
        _add_licence(session, principal, staff, data.licence)
    return staff


def update_staff(session: Session, principal: Principal, code: str, data: StaffUpdate) -> StaffMember:
    """Change the fields sent (``null`` clears an optional one; name, kind and hire date cannot be cleared).
    ``left_on`` records the leaving (status left); ``left_on: null`` takes it back (active)."""
    tenant_id = _require_manager(principal)
    staff = get_staff(session, tenant_id, code)
    resolved = resolve(session, tenant_id, data)
    problems = list(resolved.problems)
    for field in ("name", "kind", "hired_on"):
        if field in data.model_fields_set and getattr(data, field) is None:
            problems.append(FieldProblem(field, f"{field} cannot be cleared"))
    hired = resolved.values.get("hired_on") or staff.hired_on
    left = resolved.values["left_on"] if "left_on" in resolved.values else staff.left_on
    if left is not None and left < hired:
        problems.append(FieldProblem("left_on", "the person leaves before they were hired"))
    _raise_first(problems)
    changed = sorted(resolved.values)
    for column, value in resolved.values.items():
        setattr(staff, column, value)
    leaving = "left_on" in resolved.values
    if leaving:
        staff.status = "left" if staff.left_on is not None else "active"
    staff.updated_at = utc_now()
    session.flush()
    kind = AUDIT_LEFT if leaving and staff.left_on is not None else AUDIT_UPDATED
    payload = _public(staff) | {"changed": changed}
    audit_service.record(session, tenant_id, kind, staff.code, principal.actor, payload)
    return staff


def record_leaving(session: Session, principal: Principal, code: str, left_on: dt.date) -> StaffMember:
    """The person leaves on ``left_on`` (status left; their licences stay on record)."""
    return update_staff(session, principal, code, StaffUpdate(left_on=left_on))


def _add_licence(session: Session, principal: Principal, staff: StaffMember, data: LicenceIn) -> StaffLicence:
    number = data.number.strip()
    if repository.licence_by_number(session, staff.tenant_id, data.kind, number) is not None:
        raise Conflict("number", f"a {data.kind} licence numbered {number!r} is already recorded")
    licence = StaffLicence(
        tenant_id=staff.tenant_id,
        staff_id=staff.id,
        kind=data.kind,
        number=number,
        issued_on=data.issued_on,
        expires_on=data.expires_on,
        recorded_by=principal.actor,
        recorded_at=utc_now(),
    )
    session.add(licence)
    session.flush()
    payload = _licence_public(licence) | {"staff": staff.code}
    audit_service.record(session, staff.tenant_id, AUDIT_LICENCE, staff.code, principal.actor, payload)
    return licence


def add_licence(session: Session, principal: Principal, code: str, data: LicenceIn) -> StaffLicence:
    """Record a licence of the person ``code`` (an expiry before the issue: 422 naming ``expires_on``; the
    number already recorded for the kind: 409 naming ``number``)."""
    tenant_id = _require_manager(principal)
    staff = get_staff(session, tenant_id, code)
    _raise_first(licence_problems(session, tenant_id, data))
    return _add_licence(session, principal, staff, data)


def revoke_licence(
    session: Session, principal: Principal, code: str, licence_id: int, reason: str, on: dt.date | None = None
) -> StaffLicence:
    """Revoke a licence from ``on`` (default the tenant's today) with the reason; not valid from that day."""
    tenant_id = _require_manager(principal)
    staff = get_staff(session, tenant_id, code)
    licence = session.get(StaffLicence, licence_id)
    if licence is None or licence.tenant_id != tenant_id or licence.staff_id != staff.id:
        raise NotFound("licence", f"no licence {licence_id} of {code!r}")
    text = (reason or "").strip()
    if not text:
        raise Invalid("reason", "a reason is required")
    if len(text) > MAX_REASON:
        raise Invalid("reason", f"at most {MAX_REASON} characters")
    if licence.revoked_on is not None:
        raise Conflict("licence", f"licence {licence.number} is already revoked")
    day = checked_date("on", on) if on is not None else today(session, tenant_id)
    licence.revoked_on, licence.revoke_reason = day, text
    session.flush()
    payload = _licence_public(licence) | {"staff": staff.code, "revoked_on": day.isoformat(), "reason": text}
    audit_service.record(session, tenant_id, AUDIT_REVOKED, staff.code, principal.actor, payload)
    return licence


def staff_url(code: str) -> str:
    return f"/people/{quote(code, safe='')}"

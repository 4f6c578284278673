"""What the staff register shows (read models for the API, the pages and the exports): the filtered list with
each person's licence state, one person with their licences, and the licences expiring soon. Only the people
the caller may see (:func:`service.visible_staff_ids`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth.models import User
from claimwatch.auth.principal import Principal
from claimwatch.errors import Invalid
from claimwatch.people import repository, service
from claimwatch.people.models import StaffLicence, StaffMember
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import N_, translate

EXPORT_HEADER = (
    N_("Code"),
    N_("Name"),
    N_("Kind"),
    N_("Job title"),
    N_("Org unit"),
    N_("Status"),
    N_("Hired on"),
    N_("Left on"),
    N_("Licence state"),
    N_("Licences"),
)


@dataclass(frozen=True)
class ListFilter:
    org: str | None = None  # org unit code: the unit and below
    kind: str | None = None
    status: str | None = None
    licence: str | None = None  # valid | expiring | expired | none
    text: str | None = None

    @classmethod
    def of(cls, params: Any) -> ListFilter:
        """From query parameters; an unknown value is 422 naming its parameter."""

        def clean(name: str, limit: int) -> str | None:
            value = (params.get(name) or "").strip()
            return value[:limit] or None

        found = cls(clean("org", 32), clean("kind", 16), clean("status", 16), clean("licence", 16), clean("q", 100))
        for name, value, allowed in (
            ("kind", found.kind, service.STAFF_KINDS),
            ("status", found.status, service.STATUSES),
            ("licence", found.licence, service.PERSON_LICENCE_STATES),
        ):
            if value is not None and value not in allowed:
                raise Invalid(name, f"{name} is one of {', '.join(allowed)}")
        return found

    def as_params(self) -> dict[str, str]:
        values = {"org": self.org, "kind": self.kind, "status": self.status, "licence": self.licence, "q": self.text}
        return {k: v for k, v in values.items() if v}


def org_units(session: Session, tenant_id: int) -> dict[int, OrgUnit]:
    statement = select(OrgUnit).where(OrgUnit.tenant_id == tenant_id).order_by(OrgUnit.path, OrgUnit.id)
    return {unit.id: unit for unit in session.execute(statement).scalars()}


def licence_view(licence: StaffLicence, on: dt.date, locale: str) -> dict[str, Any]:
    state = service.licence_state(licence, on)
    return {
        "id": licence.id,
        "kind": licence.kind,
        "kind_label": service.label(service.LICENCE_KIND_LABELS, licence.kind, locale),
        "number": licence.number,
        "issued_on": licence.issued_on,
        "expires_on": licence.expires_on,
        "revoked_on": licence.revoked_on,
        "revoke_reason": licence.revoke_reason,
        "state": state,
        "state_label": service.label(service.LICENCE_STATE_LABELS, state, locale),
        "days_left": (licence.expires_on - on).days,
    }


def _row(
    staff: StaffMember,
    licences: list[StaffLicence],
    units: dict[int, OrgUnit],
    users: dict[int, str],
    on: dt.date,
    locale: str,
) -> dict[str, Any]:
    unit = units.get(staff.org_unit_id) if staff.org_unit_id else None
    state = service.person_licence_state(licences, on)
    return {
        "code": staff.code,
        "name": staff.name,
        "kind": staff.kind,
        "kind_label": service.label(service.KIND_LABELS, staff.kind, locale),
        "job_title": staff.job_title,
        "org_unit": unit.code if unit else None,
        "org_unit_name": unit.name if unit else None,
        "username": users.get(staff.user_id) if staff.user_id else None,
        "manager": users.get(staff.manager_user_id) if staff.manager_user_id else None,
        "hired_on": staff.hired_on,
        "left_on": staff.left_on,
        "status": staff.status,
        "status_label": service.label(service.STATUS_LABELS, staff.status, locale),
        "licence_state": state,
        "licence_state_label": service.label(service.LICENCE_STATE_LABELS, state, locale),
        "licences": [licence_view(licence, on, locale) for licence in licences],
        "url": service.staff_url(staff.code),
    }


def _usernames(session: Session, staff: list[StaffMember]) -> dict[int, str]:
    ids = {i for s in staff for i in (s.user_id, s.manager_user_id) if i}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(sorted(ids))))
    return {int(user_id): str(name) for user_id, name in rows}


def staff_rows(
    session: Session, principal: Principal, query: ListFilter, locale: str, on: dt.date | None = None
) -> list[dict[str, Any]]:
    """The register as the list shows it: the people the caller may see, filtered, each with their licences
    and licence state on ``on`` (default the tenant's today)."""
    tenant_id = service.tenant_of(principal)
    day = on or service.today(session, tenant_id)
    units = org_units(session, tenant_id)
    org_ids: frozenset[int] | None = None
    if query.org:
        top = next((u for u in units.values() if u.code == query.org), None)
        org_ids = frozenset(repository.org_ids_below(session, tenant_id, top.id)) if top else frozenset()
    visible = service.visible_staff_ids(session, principal)
    where = repository.StaffFilter(
        org_ids=org_ids,
        kind=query.kind,
        status=query.status,
        text=query.text,
        visible=frozenset(visible) if visible is not None else None,
    )
    staff = repository.staff_list(session, tenant_id, where)
    licences = repository.licences_of(session, tenant_id, [s.id for s in staff])
    users = _usernames(session, staff)
    rows = [_row(s, licences.get(s.id, []), units, users, day, locale) for s in staff]
    if query.licence:
        rows = [r for r in rows if r["licence_state"] == query.licence]
    return rows


def person_view(session: Session, staff: StaffMember, locale: str, on: dt.date | None = None) -> dict[str, Any]:
    day = on or service.today(session, staff.tenant_id)
    units = org_units(session, staff.tenant_id)
    licences = repository.licences_of(session, staff.tenant_id, [staff.id]).get(staff.id, [])
    view = _row(staff, licences, units, _usernames(session, [staff]), day, locale)
    user = auth_repository.user_by_id(session, staff.manager_user_id) if staff.manager_user_id else None
    return view | {"manager_name": user.display_name if user else None, "today": day}


def export_table(rows: list[dict[str, Any]], locale: str) -> tuple[list[str], list[list[Any]]]:
    header = [translate(locale, title) for title in EXPORT_HEADER]
    body = [
        [
            r["code"],
            r["name"],
            r["kind_label"],
            r["job_title"] or "",
            r["org_unit_name"] or "",
            r["status_label"],
            r["hired_on"].isoformat(),
            r["left_on"].isoformat() if r["left_on"] else "",
            r["licence_state_label"],
            "; ".join(
                f"{lic['kind_label']} {lic['number']} → {lic['expires_on'].isoformat()}" for lic in r["licences"]
            ),
        ]
        for r in rows
    ]
    return header, body


def expiring(
    session: Session, principal: Principal, days: int, locale: str, on: dt.date | None = None
) -> list[dict[str, Any]]:
    """Licences in force of active people the caller may see ending within ``days`` of ``on`` (soonest first),
    after those that ended in the last ``days`` without a renewal (state expired)."""
    tenant_id = service.tenant_of(principal)
    day = on or service.today(session, tenant_id)
    found = repository.licences_expired_without_successor(session, tenant_id, day - dt.timedelta(days=days), day)
    found += repository.licences_expiring(session, tenant_id, day, day + dt.timedelta(days=days))
    visible = service.visible_staff_ids(session, principal)
    return [
        licence_view(licence, day, locale) | {"staff_code": staff.code, "staff_name": staff.name}
        for licence, staff in found
        if visible is None or staff.id in visible
    ]

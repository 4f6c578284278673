"""Read models of the sanctions pages and API: sanctions with their violation, violations per person with the
repeat count of the catalogue's window, mandatory trainings and the blacklist. Labels in the caller's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth.principal import PERMISSION_GROUP_LABELS, Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import NotFound
from claimwatch.sanctions import repository, service
from claimwatch.sanctions.loader import Catalogue
from claimwatch.sanctions.models import BlacklistEntry, MandatoryTraining, Sanction, Violation
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import translate


def _cny(fen: int | None) -> str | None:
    return None if fen is None else f"{Decimal(fen) / 100:.2f}"


def group_label(group: str | None, locale: str) -> str | None:
    if group is None:
        return None
    zh, en = PERMISSION_GROUP_LABELS.get(group, (group, group))
    return en if locale == "en" else zh


def _person(violation: Violation, users: dict[int, Any]) -> str:
    user = users.get(violation.user_id) if violation.user_id is not None else None
    return f"{user.display_name} ({user.username})" if user is not None else violation.party


def sanction_row(
    sanction: Sanction, violation: Violation, users: dict[int, Any], found: Catalogue, locale: str
) -> dict[str, Any]:
    violation_type = found.get(violation.code)
    return {
        "id": sanction.id,
        "number": sanction.number,
        "url": service.sanction_url(sanction.number),
        "status": sanction.status,
        "status_label": translate(locale, service.STATUS_LABELS.get(sanction.status, sanction.status)),
        "kind": sanction.kind,
        "kind_label": translate(locale, service.KIND_LABELS.get(sanction.kind, sanction.kind)),
        "default_kind": sanction.default_kind,
        "amount_cny": _cny(sanction.amount_fen),
        "days": sanction.days,
        "permission_group": sanction.permission_group,
        "group_label": group_label(sanction.permission_group, locale),
        "starts_at": sanction.starts_at,
        "ends_at": sanction.ends_at,
        "reason": sanction.reason,
        "proposed_by": sanction.proposed_by,
        "proposed_at": sanction.proposed_at,
        "decided_by": sanction.decided_by,
        "decided_at": sanction.decided_at,
        "decision_note": sanction.decision_note,
        "revoked_by": sanction.revoked_by,
        "revoked_at": sanction.revoked_at,
        "revoke_reason": sanction.revoke_reason,
        "violation": {
            "number": violation.number,
            "code": violation.code,
            "description": violation_type.description(locale) if violation_type else violation.code,
            "severity": violation.severity,
            "severity_label": translate(locale, service.SEVERITY_LABELS.get(violation.severity, violation.severity)),
            "occurred_at": violation.occurred_at,
            "repeat_count": violation.repeat_count,
            "escalated": violation.escalated,
            "source": {
                "kind": violation.source_kind,
                "id": violation.source_id,
                "label": violation.source_label,
                "url": violation.source_url,
            },
        },
        "person": {
            "kind": violation.party_kind,
            "kind_label": translate(locale, service.PARTY_LABELS.get(violation.party_kind, violation.party_kind)),
            "name": _person(violation, users),
            "user_id": violation.user_id,
            "party": violation.party,
        },
    }


def sanctions(
    session: Session, principal: Principal, locale: str, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    tenant_id = service.tenant_of(principal)
    rows = repository.sanctions(session, status=status if status in service.STATUSES else None, limit=limit)
    users = repository.users_by_id(session, [v.user_id for _, v in rows if v.user_id is not None])
    found = service.catalogue(session, tenant_id)
    return [sanction_row(s, v, users, found, locale) for s, v in rows]


def sanction(session: Session, principal: Principal, locale: str, number: str) -> dict[str, Any]:
    tenant_id = service.tenant_of(principal)
    found_sanction = repository.sanction_by_number(session, number)
    if found_sanction is None:
        raise NotFound("sanction", f"no sanction {number}")
    violation = repository.violation(session, found_sanction.violation_id)
    assert violation is not None
    users = repository.users_by_id(session, [violation.user_id] if violation.user_id else [])
    found = service.catalogue(session, tenant_id)
    row = sanction_row(found_sanction, violation, users, found, locale)
    training = repository.training_for_violation(session, violation.id)
    row["training"] = _training(training) if training else None
    row["catalogue_version"] = found.version
    proposer = found_sanction.proposed_by == principal.actor
    row["may_decide"] = (
        found_sanction.status == "proposed" and principal.can(Permission.APPROVE_SANCTIONS) and not proposer
    )
    row["own_proposal"] = found_sanction.status == "proposed" and proposer
    row["may_revoke"] = found_sanction.status == "approved" and principal.can(Permission.APPROVE_SANCTIONS)
    row["until"], row["in_force"] = None, False
    if found_sanction.ends_at is not None:
        zone = tenancy_service.tenant_zone(session, tenant_id)
        row["until"] = (found_sanction.ends_at - dt.timedelta(seconds=1)).astimezone(zone).date().isoformat()
        row["in_force"] = found_sanction.status == "approved" and found_sanction.ends_at > utc_now()
    return row


def _training(training: MandatoryTraining) -> dict[str, Any]:
    return {
        "id": training.id,
        "party": training.party,
        "party_kind": training.party_kind,
        "user_id": training.user_id,
        "topic": training.topic,
        "due_on": training.due_on.isoformat(),
        "recorded_at": training.recorded_at,
        "completed_at": training.completed_at,
        "completed_by": training.completed_by,
    }


def trainings(session: Session, open_only: bool = False) -> list[dict[str, Any]]:
    return [_training(t) for t in repository.trainings(session, open_only=open_only)]


def people(session: Session, principal: Principal, locale: str, at: dt.datetime | None = None) -> dict[str, Any]:
    """Violations per person (staff member or party): all of them, those within the repeat window, the last
    one, open trainings; repeat offenders (at or above the threshold within the window) first."""
    tenant_id = service.tenant_of(principal)
    found = service.catalogue(session, tenant_id)
    at = at or utc_now()
    since = service.months_before(at, found.window_months)
    violations = repository.violations(session)
    users = repository.users_by_id(session, [v.user_id for v in violations if v.user_id is not None])
    open_trainings: dict[tuple[str, str], int] = {}
    for training in repository.trainings(session, open_only=True):
        key = (training.party_kind, training.party_key)
        open_trainings[key] = open_trainings.get(key, 0) + 1
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for violation in violations:
        key = (violation.party_kind, violation.party_key)
        person = grouped.setdefault(
            key,
            {
                "name": _person(violation, users),
                "kind": violation.party_kind,
                "kind_label": translate(locale, service.PARTY_LABELS.get(violation.party_kind, violation.party_kind)),
                "user_id": violation.user_id,
                "total": 0,
                "in_window": 0,
                "last_at": violation.occurred_at,
                "codes": [],
                "open_trainings": open_trainings.get(key, 0),
            },
        )
        person["total"] += 1
        if since <= violation.occurred_at <= at:
            person["in_window"] += 1
        if violation.code not in person["codes"]:
            person["codes"].append(violation.code)
    rows = sorted(grouped.values(), key=lambda p: (-p["in_window"], -p["total"], p["name"]))
    for row in rows:
        row["repeat"] = row["in_window"] >= found.threshold
    return {"threshold": found.threshold, "window_months": found.window_months, "people": rows}


def blacklist_row(entry: BlacklistEntry, locale: str, day: dt.date, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": entry.id,
        "party_kind": entry.party_kind,
        "kind_label": translate(locale, service.PARTY_LABELS.get(entry.party_kind, entry.party_kind)),
        "code": entry.code,
        "name": entry.name,
        "reason": entry.reason,
        "starts_on": entry.starts_on.isoformat(),
        "ends_on": entry.ends_on.isoformat() if entry.ends_on else None,
        "listed_by": entry.listed_by,
        "listed_at": entry.listed_at,
        "lifted_by": entry.lifted_by,
        "lifted_at": entry.lifted_at,
        "lift_reason": entry.lift_reason,
        "active": service.in_force(entry, day, now),
    }


def blacklist(session: Session, principal: Principal, locale: str) -> list[dict[str, Any]]:
    tenant_id = service.tenant_of(principal)
    now = utc_now()
    day = now.astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()
    return [blacklist_row(entry, locale, day, now) for entry in repository.blacklist(session)]

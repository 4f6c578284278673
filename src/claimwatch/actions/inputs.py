"""Checks of what a caller gives the improvement-action services: owners, due days, the KPI, the scope's
org unit, the steps of a plan and effectiveness windows. Bad input → :class:`Invalid` naming the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.actions.schemas import StepInput
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.models import User
from claimwatch.auth.principal import ROLE_PERMISSIONS, Permission
from claimwatch.errors import Invalid
from claimwatch.kpi import loader as kpi_loader
from claimwatch.params import clean_text
from claimwatch.tenancy.models import OrgUnit

MAX_STEPS = 30
MAX_AHEAD = dt.timedelta(days=3 * 366)  # a due date further out is a typing error
RAISED = "the action was raised"  # what ``event_time`` names when a backdated time is before the action


def staff(session: Session, tenant_id: int, user_id: int | None, field: str) -> User:
    """An active staff member of the tenant who may own an action or a step."""
    if user_id is None:
        raise Invalid(field, f"{field} is required: who owns it")
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise Invalid(field, f"{field} must be a user id")
    user = auth_repository.user_by_id(session, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise Invalid(field, f"no user {user_id} at this company")
    if not user.active or user.role not in ROLE_PERMISSIONS[Permission.WORK_ACTIONS]:
        raise Invalid(field, f"user {user.username} is not an active staff member who can own an action")
    return user


def due_day(due_on: dt.date | None, today: dt.date, field: str = "due_on") -> dt.date:
    if due_on is None:
        raise Invalid(field, f"{field} is required: the day it must be done by")
    if not isinstance(due_on, dt.date) or isinstance(due_on, dt.datetime):
        raise Invalid(field, f"{field} must be a date (YYYY-MM-DD)")
    if due_on < today:
        raise Invalid(field, f"{field} {due_on.isoformat()} is in the past")
    if due_on > today + MAX_AHEAD:
        raise Invalid(field, f"{field} {due_on.isoformat()} is more than {MAX_AHEAD.days} days ahead")
    return due_on


def check_kpi(code: str | None) -> kpi_loader.Kpi | None:
    if code is None or code == "":
        return None
    kpi = kpi_loader.by_code().get(code)
    if kpi is None:
        raise Invalid("kpi_code", f"no KPI {code!r} in the catalogue")
    if not kpi.available:
        raise Invalid("kpi_code", f"KPI {code!r} has no data yet (its source is pending)")
    return kpi


def org_unit(session: Session, tenant_id: int, org_unit_id: int | None) -> OrgUnit | None:
    if org_unit_id is None:
        return None
    unit = session.execute(
        select(OrgUnit).where(OrgUnit.tenant_id == tenant_id, OrgUnit.id == org_unit_id)
    ).scalar_one_or_none()
    if unit is None:
        raise Invalid("scope_org_unit_id", f"no org unit {org_unit_id} at this company")
    return unit


def checked_steps(
    session: Session,
    tenant_id: int,
    steps: Sequence[StepInput | dict[str, Any]],
    owner_id: int,
    due_on: dt.date,
    today: dt.date,
    field: str = "steps",
) -> list[tuple[str, int, dt.date]]:
    if len(steps) > MAX_STEPS:
        raise Invalid(field, f"at most {MAX_STEPS} steps")
    rows = []
    for index, raw in enumerate(steps):
        where = f"{field}[{index}]"
        try:
            step = raw if isinstance(raw, StepInput) else StepInput.model_validate(raw)
        except ValidationError as error:
            raise Invalid(where, f"{where}: {error.errors()[0].get('msg', 'invalid')}") from error
        text = clean_text(step.text, f"{where}.text", True)
        owner = staff(session, tenant_id, step.owner_user_id or owner_id, f"{where}.owner_user_id")
        due = due_day(step.due_on or due_on, today, f"{where}.due_on")
        rows.append((text or "", owner.id, due))
    return rows


def checked_window(value: Any, field: str) -> Any:
    from claimwatch.actions import effectiveness

    if value is None or isinstance(value, effectiveness.Window):
        window = value
    elif isinstance(value, dict):
        try:
            window = effectiveness.Window(
                dt.date.fromisoformat(str(value["start"])), dt.date.fromisoformat(str(value["end"]))
            )
        except (KeyError, ValueError) as error:
            raise Invalid(field, f"{field} needs start and end dates (YYYY-MM-DD)") from error
    else:
        window = effectiveness.Window(value.start, value.end)
    if window is not None and not window.start < window.end:
        raise Invalid(field, f"{field} must start before it ends")
    return window

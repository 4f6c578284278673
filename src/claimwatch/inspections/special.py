"""From alert to special inspection (专项检查): a statistical alert opens a plan on the alerted unit and
period, drawn at once. One click by a quality manager (the dashboard's alert list), or automatic where the
insurer configures it (``defaults/inspections/special.yaml``, per-insurer overrides in
``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/special_inspections/<TENANT_CODE>.yaml``): the existing per-tenant YAML
override convention (as SLA and complaint policies), so no table, migration or settings page is added.

Idempotent: one plan per alert, found by its source (``source="alert"``, ``source_ref`` the alert's id) and
coded ``ALERT-<id>``. The alert itself lives in the KPI domain above this one, which hands it down as an
:class:`AlertRef` (the button) or publishes it on ``reactions.QUALITY_ALERTS_RAISED`` (automatic).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal, Role
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.inspections import service as inspections_service
from claimwatch.inspections.models import InspectionPlan
from claimwatch.inspections.schemas import PlanDefinition, error_field, error_message
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.yaml_source import ConfigFileError, Mapping, line_of
from claimwatch.yaml_source import load as load_yaml

log = structlog.get_logger("claimwatch.inspections.special")

DEFAULTS = PACKAGE_DIR / "defaults" / "inspections" / "special.yaml"
OVERRIDES_SUBDIR = "special_inspections"
SOURCE = "alert"
SYSTEM_ACTOR = "system:special_inspection"
# What the per-kind plan may set: everything but what the alert decides (code, name, kind, unit, period).
_PLAN_KEYS = {
    "scorecard",
    "population",
    "method",
    "strata",
    "allocation",
    "expected_error_rate",
    "target",
    "size",
    "due_days",
    "review_share",
    "exclude_own_unit",
    "inspectors",
}
_UNIT_FILTERS = ("org_unit", "region", "period")


class SpecialSettingsError(ConfigFileError):
    """special.yaml (or an insurer's override) is invalid; ``str()`` is ``file:line: problem``."""


@dataclass(frozen=True)
class AlertRef:
    """What a special inspection needs of an alert (the KPI domain's ``QualityAlert``)."""

    id: int
    tenant_id: int
    kpi_code: str
    kpi_name: str
    dimension: str  # org | region
    unit_key: str  # org unit id, or region code
    unit_label: str
    period: str  # 2026-10
    subject_kind: str = "claim"  # claim | complaint: what the KPI counts
    date_field: str | None = None  # claims: reported | closed, as the KPI places a claim in its month


@dataclass(frozen=True)
class SpecialSettings:
    automatic: bool
    plans: dict[str, dict[str, Any]]  # subject kind → the plan's other keys
    source: str


def _read(text: str, source: str, base: SpecialSettings | None) -> SpecialSettings:
    document = load_yaml(text, source, SpecialSettingsError)
    if document is None and base is not None:
        return base
    if not isinstance(document, Mapping):
        raise SpecialSettingsError(source, 1, "the file is a mapping with 'automatic' and/or 'plans'")
    for key in document:
        if key not in ("automatic", "plans"):
            raise SpecialSettingsError(
                source, line_of(document, key), f"unknown key {key!r} (allowed: automatic, plans)"
            )
    automatic = document.get("automatic", base.automatic if base else False)
    if not isinstance(automatic, bool):
        raise SpecialSettingsError(source, line_of(document, "automatic"), "'automatic' must be true or false")
    plans = dict(base.plans) if base else {}
    given = document.get("plans", {})
    if not isinstance(given, Mapping):
        raise SpecialSettingsError(source, line_of(document, "plans"), "'plans' maps a subject kind to its plan")
    for kind, plan in given.items():
        if not isinstance(plan, Mapping):
            raise SpecialSettingsError(source, line_of(given, kind), f"the plan for {kind!r} must be a mapping")
        for key in plan:
            if key not in _PLAN_KEYS:
                allowed = ", ".join(sorted(_PLAN_KEYS))
                raise SpecialSettingsError(source, line_of(plan, key), f"unknown plan key {key!r} (allowed: {allowed})")
        population = plan.get("population", {})
        if not isinstance(population, dict) or any(key in population for key in _UNIT_FILTERS):
            raise SpecialSettingsError(
                source, line_of(plan, "population"), "population: other filters only (the alert sets unit and period)"
            )
        try:  # the shape of a plan, checked now (its scorecard and filters when a plan is opened)
            PlanDefinition.model_validate({"code": "ALERT-0", "name": "x", "subject_kind": str(kind), **plan})
        except ValidationError as exc:
            error = exc.errors()[0]
            field = error_field(tuple(error["loc"]), error["msg"])
            node_line = line_of(plan, field.split(".")[0]) if field.split(".")[0] in plan else line_of(plan)
            raise SpecialSettingsError(source, node_line, f"{field}: {error_message(error['msg'])}") from None
        plans[str(kind)] = dict(plan)
    return SpecialSettings(automatic, plans, source)


def parse_settings(text: str, source: str, base: SpecialSettings | None = None) -> SpecialSettings:
    """The settings file (or an insurer's override on ``base``); every error names file and line."""
    return _read(text, source, base)


@lru_cache
def default_settings() -> SpecialSettings:
    return parse_settings(DEFAULTS.read_text(encoding="utf-8"), str(DEFAULTS))


def settings_for(tenant_code: str) -> SpecialSettings:
    """The defaults with the insurer's override file applied, if it has one."""
    base = default_settings()
    path = tenant_override(OVERRIDES_SUBDIR, tenant_code)
    if path is None:
        return base
    return parse_settings(path.read_text(encoding="utf-8"), str(path), base)


def _tenant_settings(session: Session, tenant_id: int) -> SpecialSettings:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return settings_for(tenant.code) if tenant is not None else default_settings()


# -- plans from alerts -----------------------------------------------------------------------------------


def plan_code(alert_id: int) -> str:
    return f"ALERT-{alert_id}"


def plan_for_alert(session: Session, alert_id: int) -> InspectionPlan | None:
    """The special plan an alert already opened (one per alert)."""
    return session.execute(
        select(InspectionPlan)
        .where(InspectionPlan.source == SOURCE, InspectionPlan.source_ref == str(alert_id))
        .order_by(InspectionPlan.id)
        .limit(1)
    ).scalar_one_or_none()


def plans_for_alerts(session: Session, alert_ids: list[int]) -> dict[int, str]:
    """Alert id → the code of its special plan, for the alerts that have one."""
    if not alert_ids:
        return {}
    rows = session.execute(
        select(InspectionPlan.source_ref, InspectionPlan.code).where(
            InspectionPlan.source == SOURCE, InspectionPlan.source_ref.in_([str(i) for i in alert_ids])
        )
    )
    return {int(ref): code for ref, code in rows if ref and ref.isdigit()}


def definition_for(session: Session, alert: AlertRef, settings: SpecialSettings) -> PlanDefinition:
    """The special plan of an alert: the configured plan for its subject kind, over the alerted unit and month."""
    base = settings.plans.get(alert.subject_kind)
    if base is None:
        raise Invalid("subject_kind", f"no special-inspection plan is configured for {alert.subject_kind}s")
    population: dict[str, Any] = dict(base.get("population") or {})
    population["period"] = alert.period
    if alert.dimension == "org":
        unit = next((u for u in tenancy_repository.org_units(session) if str(u.id) == alert.unit_key), None)
        if unit is None:
            raise Invalid("unit", f"the alerted org unit {alert.unit_key!r} no longer exists")
        population["org_unit"] = unit.code
    elif alert.dimension == "region":
        population["region"] = alert.unit_key
    else:
        raise Invalid("dimension", f"an alert on {alert.dimension!r} names no unit to inspect")
    if alert.subject_kind == "claim" and alert.date_field and "date_field" not in population:
        population["date_field"] = alert.date_field
    name = f"专项检查 · {alert.kpi_name} · {alert.unit_label} · {alert.period}"
    values = {**base, "code": plan_code(alert.id), "name": name[:200], "subject_kind": alert.subject_kind}
    values["population"] = population
    try:
        return PlanDefinition.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise Invalid(error_field(tuple(error["loc"]), error["msg"]), error_message(error["msg"])) from None


def open_for_alert(
    session: Session, principal: Principal, alert: AlertRef, *, now: dt.datetime | None = None
) -> tuple[InspectionPlan, bool]:
    """The alert's special plan, created and drawn now unless it exists: (plan, created). Needs
    MANAGE_INSPECTION_PLANS; refused (naming the field, nothing written) when the unit's cases in the month
    match nothing or the configuration does not fit."""
    if not principal.can(Permission.MANAGE_INSPECTION_PLANS):
        raise Forbidden("role", f"role {principal.role.value!r} may not open special inspections")
    if principal.tenant_id != alert.tenant_id:
        raise Forbidden("alert", "the alert belongs to another insurer")
    existing = plan_for_alert(session, alert.id)
    if existing is not None:
        return existing, False
    definition = definition_for(session, alert, _tenant_settings(session, alert.tenant_id))
    plan = inspections_service.create_plan(session, principal, definition, source=SOURCE, source_ref=str(alert.id))
    inspections_service.draw_sample(session, principal, plan.id, period=alert.period, now=now or utc_now())
    return plan, True


def system_principal(tenant_id: int) -> Principal:
    """Who opens an automatic special inspection (the audit chain records the actor)."""
    return Principal(role=Role.QUALITY_MANAGER, tenant_id=tenant_id, actor=SYSTEM_ACTOR)


def on_alerts_raised(session: Session, tenant_id: int | None, alerts: list[AlertRef]) -> int:
    """New alerts of one insurer: where it configured ``automatic: true``, open each one's special plan. Each in
    a savepoint: an alert whose unit has nothing to inspect is logged and skipped, never undoing the alert.
    Returns how many plans were opened."""
    if tenant_id is None or not alerts:
        return 0
    if not _tenant_settings(session, tenant_id).automatic:
        return 0
    principal = system_principal(tenant_id)
    opened = 0
    for alert in alerts:
        try:
            with session.begin_nested():
                _, created = open_for_alert(session, principal, alert)
        except Problem as exc:
            log.warning("special inspection not opened", alert=alert.id, field=exc.field, problem=exc.message)
            continue
        opened += int(created)
    return opened

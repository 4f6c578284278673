"""Read models of plans, draws and the sampled cases, shared by the JSON API and the pages."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.inspections import repository
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from claimwatch.inspections.schemas import PlanDefinition
from claimwatch.subjects import registry as subjects
from claimwatch.workflow import service as workflow_service


def plan_summary(plan: InspectionPlan, draws: int = 0, last_drawn_at: dt.datetime | None = None) -> dict[str, Any]:
    definition = PlanDefinition.model_validate_json(plan.definition)
    return {
        "id": plan.id,
        "code": plan.code,
        "name": plan.name,
        "subject_kind": plan.subject_kind,
        "scorecard": plan.scorecard_code,
        "method": definition.method,
        "strata": list(definition.strata),
        "allocation": definition.allocation if definition.method == "stratified" else None,
        "schedule": plan.schedule,
        "source": plan.source,
        "source_ref": plan.source_ref,
        "active": plan.active,
        "created_by": plan.created_by,
        "created_at": plan.created_at,
        "draws": draws,
        "last_drawn_at": last_drawn_at,
        "definition": definition.model_dump(exclude_none=True),
    }


def plans(session: Session) -> list[dict[str, Any]]:
    found = repository.plans(session)
    counts = repository.draw_counts(session, [plan.id for plan in found])
    return [plan_summary(plan, *counts.get(plan.id, (0, None))) for plan in found]


@dataclass(frozen=True)
class Labels:
    units: dict[int, tuple[str, str]]  # id -> (code, name)
    people: dict[int, tuple[str, str]]  # id -> (username, display name)


def _labels(session: Session, tenant_id: int, rows: list[Inspection]) -> Labels:
    units = {unit_id: (unit.code, unit.name) for unit_id, unit in repository.org_units(session).items()}
    ids = {row.inspector_id for row in rows} | {row.handler_id for row in rows}
    people = {
        user_id: (user.username, user.display_name)
        for user_id, user in repository.users_by_id(session, tenant_id, [i for i in ids if i is not None]).items()
    }
    return Labels(units, people)


def stratum_label(key: str, units_by_code: dict[str, str], locale: str) -> str:
    """``org=PICC-GD|line=motor`` as people read it: 广东分公司 · 车险."""
    if not key:
        return ""
    parts = []
    for part in key.split("|"):
        dimension, _, value = part.partition("=")
        if dimension == "org":
            parts.append(units_by_code.get(value, value) or "—")
        elif dimension == "line":
            parts.append(workflow_service.line_label(value, locale) if value else "—")
        else:
            parts.append(value or "—")
    return " · ".join(parts)


def inspection_rows(
    session: Session, tenant_id: int, rows: list[Inspection], locale: str = "zh"
) -> list[dict[str, Any]]:
    labels = _labels(session, tenant_id, rows)
    by_code = {code: name for code, name in labels.units.values()}
    described: dict[str, dict[int, Any]] = {}
    for kind_code in {row.subject_kind for row in rows}:
        kind = subjects.get(kind_code)
        described[kind_code] = kind.describe(
            session, tenant_id, [row.subject_id for row in rows if row.subject_kind == kind_code]
        )
    result = []
    for row in rows:
        summary = described.get(row.subject_kind, {}).get(row.subject_id)
        inspector = labels.people.get(row.inspector_id) if row.inspector_id else None
        handler = labels.people.get(row.handler_id) if row.handler_id else None
        result.append(
            {
                "id": row.id,
                "plan_id": row.plan_id,
                "draw_id": row.draw_id,
                "subject": f"{row.subject_kind}:{row.subject_id}",
                "subject_kind": row.subject_kind,
                "number": summary.number if summary else str(row.subject_id),
                "title": summary.title if summary else "",
                "url": summary.url if summary else None,
                "stratum": row.stratum,
                "stratum_label": stratum_label(row.stratum, by_code, locale),
                "org_unit": labels.units.get(row.org_unit_id, (None, None))[1] if row.org_unit_id else None,
                "handler": handler[0] if handler else None,
                "handler_name": handler[1] if handler else None,
                "inspector": inspector[0] if inspector else None,
                "inspector_name": inspector[1] if inspector else None,
                "status": row.status if row.inspector_id is not None else "unassigned",
                "due_at": row.due_at,
                "score": row.score,
                "passed": row.passed,
            }
        )
    return result


def draw_view(session: Session, draw: InspectionDraw, locale: str = "zh", with_cases: bool = True) -> dict[str, Any]:
    units = {unit.code: unit.name for unit in repository.org_units(session).values()}
    strata = json.loads(draw.strata)
    for stratum in strata:
        stratum["label"] = stratum_label(stratum["key"], units, locale)
    counts = repository.status_counts(session, [draw.id]).get(draw.id, {})
    plan = repository.plan_by_id(session, draw.plan_id)
    view: dict[str, Any] = {
        "id": draw.id,
        "plan": plan.code if plan else None,
        "period": draw.period,
        "seed": str(draw.seed),
        "population": draw.population_count,
        "sample": draw.sample_count,
        "strata": strata,
        "drawn_by": draw.drawn_by,
        "drawn_at": draw.drawn_at,
        "audit_seq": draw.audit_seq,
        "status_counts": counts,
        "unassigned": counts.get("unassigned", 0),
    }
    if with_cases:
        view["inspections"] = inspection_rows(
            session, draw.tenant_id, repository.inspections_of_draw(session, draw.id), locale
        )
    return view


def plan_view(session: Session, plan: InspectionPlan, locale: str = "zh") -> dict[str, Any]:
    draws = repository.draws_of_plan(session, plan.id)
    latest = draws[0].drawn_at if draws else None
    view = plan_summary(plan, len(draws), latest)
    view["draw_list"] = [draw_view(session, draw, locale, with_cases=False) for draw in draws]
    return view

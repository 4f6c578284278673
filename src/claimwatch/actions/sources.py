"""Where an improvement action comes from: a finding, an alert, a complaint cause, a KPI, a survey dimension,
a committee decision or a manual entry. :func:`resolve_source` checks the source exists at the company and
describes it (label and page in Chinese, as stored, with defaults for the KPI and the scope)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.actions import repository
from claimwatch.actions.models import ImprovementAction
from claimwatch.actions.vocabulary import SOURCE_KINDS, SURVEY_KPIS, SURVEY_LABELS
from claimwatch.complaints import vocabulary as complaint_vocabulary
from claimwatch.errors import Invalid
from claimwatch.inspections import findings as inspection_findings
from claimwatch.inspections.models import Inspection, InspectionFinding
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi.models import QualityAlert
from claimwatch.web.i18n import translate


@dataclass
class SourceFacts:
    """What a source says about the action raised from it: its label and page, and defaults for the KPI and
    the scope (the caller's own choices win)."""

    label: str
    url: str | None
    ref: str | None = None
    kpi_code: str | None = None
    org_unit_id: int | None = None
    region: str | None = None
    line: str | None = None


def need_id(source_id: int | None, kind: str) -> int:
    if source_id is None or isinstance(source_id, bool) or not isinstance(source_id, int) or source_id <= 0:
        raise Invalid("source_id", f"an action from a {kind} needs source_id (the {kind}'s id)")
    return source_id


def resolve_source(
    session: Session, tenant_id: int, kind: str, source_id: int | None, source_ref: str | None
) -> SourceFacts:
    """Check the source exists at this company and describe it (labels in Chinese, as stored)."""
    ref = source_ref.strip() if isinstance(source_ref, str) and source_ref.strip() else None
    if kind == "finding":
        finding = session.execute(
            select(InspectionFinding).where(
                InspectionFinding.tenant_id == tenant_id, InspectionFinding.id == need_id(source_id, "finding")
            )
        ).scalar_one_or_none()
        if finding is None:
            raise Invalid("source_id", f"no inspection finding {source_id} at this company")
        inspection = session.get(Inspection, finding.inspection_id)
        category = inspection_findings.label(inspection_findings.CATEGORIES, finding.category, "zh")
        return SourceFacts(
            label=f"检查问题 {finding.number}：{category}",
            url=inspection_findings.finding_url(finding.id),
            ref=ref,
            org_unit_id=(inspection.org_unit_id if inspection else None) or finding.responsible_org_unit_id,
            line=inspection.line if inspection else None,
        )
    if kind == "alert":
        alert = session.execute(
            select(QualityAlert).where(
                QualityAlert.tenant_id == tenant_id, QualityAlert.id == need_id(source_id, "alert")
            )
        ).scalar_one_or_none()
        if alert is None:
            raise Invalid("source_id", f"no quality alert {source_id} at this company")
        kpi = kpi_loader.by_code().get(alert.kpi_code)
        name = kpi.name_zh if kpi else alert.kpi_code
        facts = SourceFacts(
            label=f"质量预警：{alert.unit_label} {name}（{alert.period}）",
            url=f"/dashboard?period={alert.period}",
            ref=ref or alert.period,
            kpi_code=alert.kpi_code,
        )
        if alert.dimension == "org" and alert.unit_key.isdigit():
            facts.org_unit_id = int(alert.unit_key)
        elif alert.dimension == "region":
            facts.region = alert.unit_key
        return facts
    if kind == "complaint_cause":
        if ref is None:
            raise Invalid(
                "source_ref", "an action from a complaint cause needs source_ref: category or category/sub_cause"
            )
        category, _, sub = ref.partition("/")
        found = complaint_vocabulary.categories().get(category)
        if found is None:
            raise Invalid("source_ref", f"no complaint category {category!r}")
        if sub and sub not in found.sub_causes:
            raise Invalid("source_ref", f"no sub-cause {sub!r} in complaint category {category!r}")
        text = found.zh + (f"／{found.sub_causes[sub].zh}" if sub else "")
        return SourceFacts(label=f"投诉原因：{text}", url=f"/complaints?category={category}", ref=ref)
    if kind == "kpi":
        if ref is None:
            raise Invalid("source_ref", "an action from a KPI needs source_ref: the KPI code")
        kpi = kpi_loader.by_code().get(ref)
        if kpi is None:
            raise Invalid("source_ref", f"no KPI {ref!r} in the catalogue")
        return SourceFacts(label=f"指标：{kpi.name_zh}", url="/dashboard", ref=ref, kpi_code=ref)
    if kind == "survey":
        if ref not in SURVEY_KPIS:
            raise Invalid("source_ref", f"source_ref must be a survey dimension ({', '.join(SURVEY_KPIS)})")
        return SourceFacts(
            label=f"回访评分：{translate('zh', SURVEY_LABELS[ref])}",
            url="/surveys/results",
            ref=ref,
            kpi_code=SURVEY_KPIS[ref],
        )
    if kind == "committee":
        need_id(source_id, "committee decision")
        if ref is None:
            raise Invalid("source_ref", "an action from a committee decision needs source_ref: the decision's label")
        return SourceFacts(label=ref[:300], url="/committee", ref=ref[:100])
    if kind == "manual":
        return SourceFacts(label=(ref or "人工发起")[:300], url=None, ref=ref[:100] if ref else None)
    raise Invalid("source_kind", f"unknown source_kind {kind!r} (known: {', '.join(SOURCE_KINDS)})")


def actions_for_source(
    session: Session,
    tenant_id: int,
    source_kind: str,
    source_id: int | None = None,
    source_ref: str | None = None,
) -> list[ImprovementAction]:
    """The actions raised from one source (a finding, an alert, a complaint cause, …), oldest first."""
    return repository.for_source(session, tenant_id, source_kind, source_id, source_ref)

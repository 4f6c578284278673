"""What the improvement-action pages show (read models; no writes): the PDCA board with its filters and CSV, the
raise form pre-filled from its source, the action page with its effectiveness panel and the chart's data.

Visibility and rights are the service's (:func:`claimwatch.actions.service.visible`, ``allowed``,
``may_finish``); this module only reads and labels."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from claimwatch.actions import effectiveness, queries
from claimwatch.actions.clocks import REMIND_BEFORE
from claimwatch.actions.models import ImprovementAction
from claimwatch.actions.vocabulary import (
    ACT,
    CANCELLED,
    CHECK,
    CLOSED,
    DO,
    FISHBONE_CATEGORIES,
    OPEN_PHASES,
    PDCA,
    PHASE_LABELS,
    PLAN,
    SOURCE_KIND_LABELS,
    SOURCE_KINDS,
    STANDARD_KINDS,
    STANDARD_LABELS,
    SURVEY_KPIS,
    SURVEY_LABELS,
    label,
)
from claimwatch.auth.principal import Principal
from claimwatch.complaints import vocabulary as complaint_vocabulary
from claimwatch.errors import Invalid
from claimwatch.inspections.models import InspectionFinding
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import queries as kpi_queries
from claimwatch.kpi.loader import Kpi
from claimwatch.kpi.models import QualityAlert
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service

BOARD_LIMIT = 500
# The board's four PDCA columns, by their own msgids ("Plan" alone is already 方案 elsewhere).
COLUMN_LABELS: dict[str, str] = {
    PLAN: N_("Planning"),
    DO: N_("Doing"),
    CHECK: N_("Checking"),
    ACT: N_("Acting"),
    CLOSED: N_("Closed actions"),
    CANCELLED: N_("Cancelled"),
}
LETTERS = {PLAN: "P", DO: "D", CHECK: "C", ACT: "A", CLOSED: "✓", CANCELLED: "×"}
LIGHT_LABELS = {"green": N_("On time"), "yellow": N_("Due soon"), "red": N_("Overdue")}
WINDOW_CHOICES = (30, 60, 90, 120, 180, 365)
LAG_CHOICES = (0, 7, 14, 30, 60)
# A source without a KPI of its own: the indicator the form proposes.
DEFAULT_KPI = {"finding": "audit_accuracy", "complaint_cause": "complaints_per_10k_claims"}
WHY_ROWS = 5
STEP_ROWS = 5
REF_ROWS = 3
MANUAL_LABEL = "人工发起"  # what the service stores as the source of an action raised by hand without a note


def source_detail(kind: str, text: str | None) -> str:
    """The source's own label beside its kind, unless it only repeats "raised by hand"."""
    return "" if not text or (kind == "manual" and text == MANUAL_LABEL) else text


def phase_label(phase: str, locale: str) -> str:
    """A board column's name (计划/执行/检查/处理, 已关闭, 已撤销)."""
    return translate(locale, COLUMN_LABELS[phase]) if phase in COLUMN_LABELS else phase


def badge_label(phase: str, locale: str) -> str:
    """One action's phase: the PDCA word, or the vocabulary's closed/cancelled."""
    return phase_label(phase, locale) if phase in PDCA else label(PHASE_LABELS, phase, locale)


# -- options -------------------------------------------------------------------------------------------------


@dataclass
class Options:
    owners: list[tuple[int, str]]
    orgs: list[tuple[int, str]]
    regions: list[tuple[str, str]]
    lines: list[tuple[str, str]]
    kpis: list[tuple[str, str]]
    sources: list[tuple[str, str]]
    standard_kinds: list[tuple[str, str]]


def options(session: Session, tenant_id: int, locale: str) -> Options:
    units = session.execute(select(OrgUnit).where(OrgUnit.tenant_id == tenant_id).order_by(OrgUnit.path)).scalars()
    regions = tenancy_service.region_names()
    return Options(
        owners=queries.owner_options(session, tenant_id),
        orgs=[(unit.id, unit.name) for unit in units],
        regions=[(code, names[0] if locale == "zh" else names[1]) for code, names in sorted(regions.items())],
        lines=[(line, workflow_service.line_label(line, locale)) for line in workflow_service.lines()],
        kpis=[(kpi.code, kpi.name(locale)) for kpi in kpi_loader.by_code().values() if kpi.available],
        sources=[(kind, label(SOURCE_KIND_LABELS, kind, locale)) for kind in SOURCE_KINDS],
        standard_kinds=[(kind, label(STANDARD_LABELS, kind, locale)) for kind in STANDARD_KINDS],
    )


def due_day(due_at: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The local day a deadline at the end of a day (the midnight after it) belongs to."""
    return (due_at.astimezone(zone) - dt.timedelta(seconds=1)).date()


def shown_light(due_at: dt.datetime, overdue: bool, running: bool, now: dt.datetime) -> str | None:
    """The light beside a due date: red once it has passed, yellow within the reminder lead before it."""
    if not running:
        return None
    if overdue or due_at <= now:
        return "red"
    return "yellow" if due_at - REMIND_BEFORE <= now else "green"


# -- the board --------------------------------------------------------------------------------------------------


def _flag(value: str | None) -> bool:
    return value in ("1", "true", "on")


def _id(value: str | None, name: str) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise Invalid(name, f"{name} must be a record id")
    return int(text)


@dataclass
class BoardQuery:
    owner: int | None = None
    source: str = ""
    kpi: str = ""
    org: int | None = None
    overdue: bool = False
    closed: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> BoardQuery:
        """The filters of the query string; Invalid naming the first bad one."""
        query = cls(
            source=(params.get("source") or "")[:32],
            kpi=(params.get("kpi") or "")[:48],
            overdue=_flag(params.get("overdue")),
            closed=_flag(params.get("closed")),
        )
        query.owner = _id(params.get("owner"), "owner")
        query.org = _id(params.get("org"), "org")
        if query.source and query.source not in SOURCE_KINDS:
            raise Invalid("source", f"unknown source kind {query.source!r} (known: {', '.join(SOURCE_KINDS)})")
        if query.kpi and query.kpi not in kpi_loader.by_code():
            raise Invalid("kpi", f"no KPI {query.kpi!r} in the catalogue")
        return query

    def params(self) -> dict[str, str]:
        found = {
            "owner": str(self.owner or ""),
            "source": self.source,
            "kpi": self.kpi,
            "org": str(self.org or ""),
            "overdue": "1" if self.overdue else "",
            "closed": "1" if self.closed else "",
        }
        return {key: value for key, value in found.items() if value}


@dataclass
class Card:
    row: queries.BoardRow
    due_on: str
    light: str | None
    overdue: bool

    @property
    def source_detail(self) -> str:
        return source_detail(self.row.source_kind, self.row.source_label)

    def __getattr__(self, name: str) -> Any:  # the row's own fields (number, title, owner, …)
        return getattr(self.row, name)


@dataclass
class Column:
    phase: str
    label: str
    letter: str
    cards: list[Card] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.cards)


@dataclass
class Board:
    query: BoardQuery
    columns: list[Column]
    overdue_count: int = 0

    @property
    def total(self) -> int:
        return sum(column.count for column in self.columns)

    @property
    def cards(self) -> list[Card]:
        return [card for column in self.columns for card in column.cards]

    @property
    def csv_url(self) -> str:
        encoded = urlencode(self.query.params())
        return f"/actions.csv?{encoded}" if encoded else "/actions.csv"


def _in_org(session: Session, tenant_id: int, org_unit_id: int) -> set[int]:
    """The actions scoped to an org unit or a unit below it."""
    unit = session.execute(
        select(OrgUnit).where(OrgUnit.tenant_id == tenant_id, OrgUnit.id == org_unit_id)
    ).scalar_one_or_none()
    if unit is None:
        raise Invalid("org", f"no org unit {org_unit_id} at this company")
    below = select(OrgUnit.id).where(OrgUnit.tenant_id == tenant_id, OrgUnit.path.startswith(unit.path))
    found = select(ImprovementAction.id).where(
        ImprovementAction.tenant_id == tenant_id, ImprovementAction.scope_org_unit_id.in_(below)
    )
    return set(session.execute(found).scalars())


def board(session: Session, principal: Principal, query: BoardQuery, locale: str, now: dt.datetime) -> Board:
    """The board (``queries.board``: what the principal may see, with the filters) in its PDCA columns, closed and
    cancelled ones only on request, narrowed to an org unit's subtree."""
    tenant_id = principal.tenant_id
    if tenant_id is None:
        raise Invalid("tenant", "improvement actions belong to an insurer")
    filters = queries.BoardFilters(
        owner=query.owner,
        source_kind=query.source,
        kpi_code=query.kpi,
        overdue=query.overdue,
        phase="all" if query.closed else "",
    )
    found = queries.board(session, principal, filters, locale, now)
    allowed = _in_org(session, tenant_id, query.org) if query.org is not None else None
    zone = tenancy_service.tenant_zone(session, tenant_id)
    columns = []
    for phase, rows in found.columns.items():
        column = Column(phase, phase_label(phase, locale), LETTERS.get(phase, ""))
        for row in rows:
            if allowed is not None and row.id not in allowed:
                continue
            running = phase in OPEN_PHASES
            column.cards.append(
                Card(
                    row,
                    due_day(row.due_at, zone).isoformat(),
                    shown_light(row.due_at, row.overdue, running, now),
                    running and row.overdue,
                )
            )
        columns.append(column)
    overdue = sum(card.overdue for column in columns for card in column.cards)
    return Board(query, columns, overdue)


CSV_COLUMNS = (
    ("number", N_("Number")),
    ("title", N_("Title")),
    ("phase", N_("PDCA phase")),
    ("source_kind_label", N_("Source")),
    ("source_label", N_("Source detail")),
    ("kpi_name", N_("Indicator")),
    ("scope_label", N_("Scope")),
    ("owner", N_("Owner")),
    ("due_on", N_("Due date")),
    ("overdue", N_("Overdue")),
    ("steps", N_("Steps done")),
    ("verdict_label", N_("Effectiveness")),
)


def to_csv(found: Board, locale: str) -> str:
    """UTF-8 with a BOM, headers in the reader's language, dates in the tenant's local time; never a formula."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([translate(locale, title) for _, title in CSV_COLUMNS])
    yes, no = translate(locale, N_("Yes")), translate(locale, N_("No"))
    for card in found.cards:
        values = {
            "phase": phase_label(card.phase, locale),
            "overdue": yes if card.overdue else no,
            "steps": f"{card.steps_done}/{card.steps_total}",
        }
        row = []
        for key, _ in CSV_COLUMNS:
            value = values[key] if key in values else getattr(card, key)
            text = "" if value is None else str(value)
            row.append("'" + text if text[:1] in ("=", "+", "-", "@") else text)
        writer.writerow(row)
    return out.getvalue()


# -- the raise form ----------------------------------------------------------------------------------------------


@dataclass
class RaiseForm:
    """The raise form's values as typed (strings), so a refused form comes back as it was sent."""

    source_kind: str = "manual"
    source_id: str = ""
    source_ref: str = ""
    title: str = ""
    problem: str = ""
    rca_method: str = ""
    whys: list[dict[str, str]] = field(default_factory=lambda: [{"why": "", "because": ""} for _ in range(WHY_ROWS)])
    fishbone: dict[str, str] = field(default_factory=dict)
    root_cause: str = ""
    kpi_code: str = ""
    scope_org_unit_id: str = ""
    scope_region: str = ""
    scope_line: str = ""
    owner_user_id: str = ""
    due_on: str = ""
    steps: list[dict[str, str]] = field(
        default_factory=lambda: [{"text": "", "owner": "", "due": ""} for _ in range(STEP_ROWS)]
    )

    @classmethod
    def from_form(cls, data: Mapping[str, Any]) -> RaiseForm:
        def text(name: str, limit: int = 4000) -> str:
            value = data.get(name)
            return value.strip()[:limit] if isinstance(value, str) else ""

        rows = max(
            STEP_ROWS,
            *(int(k[10:]) for k in data if k.startswith("step_text_") and k[10:].isdigit() and int(k[10:]) <= 30),
        )
        return cls(
            source_kind=text("source_kind", 32) or "manual",
            source_id=text("source_id", 20),
            source_ref=text("source_ref", 100),
            title=text("title", 300),
            problem=text("problem"),
            rca_method=text("rca_method", 16),
            whys=[
                {"why": text(f"why_{n}", 500), "because": text(f"because_{n}", 1000)} for n in range(1, WHY_ROWS + 1)
            ],
            fishbone={code: text(f"fish_{code}", 2000) for code in FISHBONE_CATEGORIES},
            root_cause=text("root_cause"),
            kpi_code=text("kpi_code", 48),
            scope_org_unit_id=text("scope_org_unit_id", 20),
            scope_region=text("scope_region", 12),
            scope_line=text("scope_line", 32),
            owner_user_id=text("owner_user_id", 20),
            due_on=text("due_on", 10),
            steps=[
                {
                    "text": text(f"step_text_{n}", 4000),
                    "owner": text(f"step_owner_{n}", 20),
                    "due": text(f"step_due_{n}", 10),
                }
                for n in range(1, rows + 1)
            ],
        )

    def rca(self) -> Any:
        """The analysis in the service's shape: the 5 whys' filled rows, or the fishbone's causes one per line."""
        if self.rca_method == "five_whys":
            rows = [{"why": w["why"], "answer": w["because"]} for w in self.whys if w["why"] or w["because"]]
            return {"whys": rows} if rows else None
        if self.rca_method == "fishbone":
            bone = {
                code: [line.strip() for line in self.fishbone.get(code, "").splitlines() if line.strip()]
                for code in FISHBONE_CATEGORIES
            }
            return bone if any(bone.values()) else None
        return None


def prefill(session: Session, principal: Principal, params: Mapping[str, str], locale: str) -> RaiseForm:
    """The raise form filled from its source (``?source_kind=alert&source_id=12``, ``finding``, ``kpi`` with
    ``source_ref`` and ``org``, ``complaint_cause`` with ``category[/sub_cause]``, ``survey`` with the dimension):
    a title, the problem statement, the indicator and the scope, for the manager to correct."""
    kind = (params.get("source_kind") or "manual")[:32]
    form = RaiseForm(
        source_kind=kind if kind in SOURCE_KINDS else "manual",
        source_id=(params.get("source_id") or "")[:20],
        source_ref=(params.get("source_ref") or "")[:100],
        scope_region=(params.get("region") or "")[:12],
        scope_line=(params.get("line") or "")[:32],
        kpi_code=DEFAULT_KPI.get(kind, ""),
    )
    org = (params.get("org") or "").strip()[:32]
    if org:
        unit = session.execute(
            select(OrgUnit).where(
                OrgUnit.tenant_id == principal.tenant_id,
                or_(OrgUnit.code == org, OrgUnit.id == (int(org) if org.isdigit() else -1)),
            )
        ).scalar_one_or_none()
        if unit is not None:
            form.scope_org_unit_id = str(unit.id)
    source_id = int(form.source_id) if form.source_id.isdigit() and int(form.source_id) < 2**53 else None
    t = lambda msgid: translate(locale, msgid)  # noqa: E731
    if form.source_kind == "alert" and source_id is not None:
        alert = session.execute(select(QualityAlert).where(QualityAlert.id == source_id)).scalar_one_or_none()
        if alert is not None:
            kpi = kpi_loader.by_code().get(alert.kpi_code)
            name = kpi.name(locale) if kpi else alert.kpi_code
            values = {
                "kpi": name,
                "unit": alert.unit_label,
                "period": alert.period,
                "rate": f"{alert.rate:.1%}",
                "expected": f"{alert.expected:.1%}",
                "count": alert.count,
            }
            form.title = t(N_("%(kpi)s out of control at %(unit)s")) % values
            form.problem = (
                t(
                    N_(
                        "In %(period)s the %(kpi)s of %(unit)s was %(rate)s against the company's "
                        "%(expected)s, beyond the control limit (%(count)s cases)."
                    )
                )
                % values
            )
            form.kpi_code = alert.kpi_code
            if alert.dimension == "org" and alert.unit_key.isdigit():
                form.scope_org_unit_id = alert.unit_key
            elif alert.dimension == "region":
                form.scope_region = alert.unit_key
    elif form.source_kind == "finding" and source_id is not None:
        finding = session.execute(
            select(InspectionFinding).where(InspectionFinding.id == source_id)
        ).scalar_one_or_none()
        if finding is not None:
            form.title = t(N_("Finding %(number)s: prevent it from recurring")) % {"number": finding.number}
            form.problem = finding.description
            if finding.responsible_org_unit_id and not form.scope_org_unit_id:
                form.scope_org_unit_id = str(finding.responsible_org_unit_id)
    elif form.source_kind == "kpi" and form.source_ref:
        kpi = kpi_loader.by_code().get(form.source_ref)
        if kpi is not None:
            values = {"kpi": kpi.name(locale), "target": kpi_queries.format_target(kpi, kpi.target, locale)}
            form.title = t(N_("%(kpi)s misses its target")) % values
            form.problem = t(N_("%(kpi)s misses its target (%(target)s).")) % values
            form.kpi_code = kpi.code
    elif form.source_kind == "complaint_cause" and form.source_ref:
        category, _, sub = form.source_ref.partition("/")
        found = complaint_vocabulary.categories().get(category)
        if found is not None:
            text = found.label(locale) + (
                f" / {found.sub_causes[sub].label(locale)}" if sub in found.sub_causes else ""
            )
            form.title = t(N_("Complaints about %(cause)s")) % {"cause": text}
            form.problem = t(N_("Complaints with the root cause %(cause)s are rising.")) % {"cause": text}
    elif form.source_kind == "survey" and form.source_ref in SURVEY_KPIS:
        dimension = label(SURVEY_LABELS, form.source_ref, locale)
        form.title = t(N_("Low survey scores: %(dimension)s")) % {"dimension": dimension}
        form.problem = t(N_("Claimants rate %(dimension)s low in the satisfaction surveys.")) % {"dimension": dimension}
        form.kpi_code = SURVEY_KPIS[form.source_ref]
    return form


# -- the action page ---------------------------------------------------------------------------------------------


def _stepper(phase: str, locale: str) -> list[dict[str, str]]:
    order = list(PDCA)
    at = order.index(phase) if phase in order else len(order)
    return [
        {
            "phase": code,
            "letter": LETTERS[code],
            "label": phase_label(code, locale),
            "state": "done" if index < at else "current" if index == at else "todo",
        }
        for index, code in enumerate(order)
    ]


def _number(kpi: Kpi | None, value: float | None, unit: str, locale: str) -> str:
    if kpi is not None:
        return kpi_queries.format_value(kpi, value, locale)
    return "—" if value is None else f"{value:.2f}{'%' if unit == '%' else ''}"


def _snapshot_time(value: str, zone: ZoneInfo) -> str:
    """The snapshot's time in the tenant's zone (stored as ISO text: aware UTC, or the snapshot's wall time)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return (parsed.astimezone(zone) if parsed.tzinfo else parsed).strftime("%Y-%m-%d %H:%M")


def _window_text(window: effectiveness.Window) -> str:
    last = window.end - dt.timedelta(days=1)
    return f"{window.start.isoformat()} – {last.isoformat()}" if window.days > 0 else "—"


def check_view(check_result: dict[str, Any] | None, locale: str, zone: ZoneInfo) -> tuple[dict[str, Any] | None, str]:
    """The effectiveness panel's figures and the chart's JSON (monthly values before and after, the target)."""
    if not check_result:
        return None, "{}"
    result = effectiveness.EffectivenessResult.from_json(check_result)
    kpi = kpi_loader.by_code().get(result.kpi_code)
    unit = result.unit
    sides = []
    for key, side, title in (("before", result.before, N_("Before")), ("after", result.after, N_("After"))):
        counts = None
        if side.numerator is not None and side.denominator is not None:
            counts = f"{side.numerator:,.0f} / {side.denominator:,.0f}"
        sides.append(
            {
                "key": key,
                "label": translate(locale, title),
                "window": _window_text(side.window),
                "n": side.n,
                "value": _number(kpi, side.value, unit, locale),
                "counts": counts or "—",
            }
        )
    p = result.p_value
    view = {
        "verdict": result.verdict,
        "verdict_label": translate(locale, effectiveness.verdict_label(result.verdict)),
        "test": result.test,
        "test_label": translate(locale, effectiveness.test_label(result.test)),
        "summary": effectiveness.summary_text(result, locale),
        "reason": effectiveness.reason_text(result, locale),
        "sides": sides,
        "has_counts": any(s["counts"] != "—" for s in sides),
        "difference": (
            "—"
            if result.difference is None
            else ("+" if result.difference >= 0 else "−") + _number(kpi, abs(result.difference), unit, locale)
        ),
        "p": "—" if p is None else (f"{p:.3g}" if p >= 0.001 else "< 0.001"),
        "alpha": f"{result.alpha:g}",
        "target": None if kpi is None or kpi.target is None else kpi_queries.format_target(kpi, kpi.target, locale),
        "snapshot_at": _snapshot_time(result.snapshot_taken_at, zone) if result.snapshot_taken_at else "",
    }
    before = dict(result.before.series)
    after = dict(result.after.series)
    months = sorted(set(before) | set(after))
    chart = {
        "months": months,
        "before": [before.get(m) for m in months],
        "after": [after.get(m) for m in months],
        "before_range": [min(before), max(before)] if before else [],
        "after_range": [min(after), max(after)] if after else [],
        "target": None if kpi is None else kpi.target,
        "unit": "%" if unit == "%" else "",
        "labels": {
            "before": translate(locale, N_("Before")),
            "after": translate(locale, N_("After")),
            "target": translate(locale, N_("Target")),
        },
    }
    return view, json.dumps(chart, ensure_ascii=False).replace("<", "\\u003c")


def action_view(
    session: Session, principal: Principal, action_id: int, locale: str, now: dt.datetime
) -> dict[str, Any]:
    """``queries.detail`` (NotFound unless the principal may see it) with what the page adds: the stepper, the
    board's phase names, local due days and their lights, the history's notes."""
    view = queries.detail(session, principal, action_id, locale, now)
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    running = view["phase"] in OPEN_PHASES
    light = shown_light(view["due_at"], view["overdue"], running, now)
    view |= {
        "phase_label": badge_label(view["phase"], locale),
        "stepper": _stepper(view["phase"], locale),
        "due_on": due_day(view["due_at"], zone).isoformat(),
        "light": light,
        "light_label": translate(locale, LIGHT_LABELS[light]) if light else "",
        "overdue": running and view["overdue"],
        "done_on": view["done_at"].astimezone(zone).date().isoformat() if view["done_at"] else None,
        "steps_done": sum(1 for step in view["steps"] if step["done_at"] is not None),
        "source_detail": source_detail(view["source"]["kind"], view["source"]["label"]),
    }
    for step in view["steps"]:
        open_step = step["done_at"] is None and view["phase"] in (PLAN, DO)
        step["due_on"] = due_day(step["due_at"], zone).isoformat()
        step["light"] = shown_light(step["due_at"], step["overdue"], open_step, now)
    for entry in view["history"]:
        data = entry["data"]
        entry["note"] = data.get("note") if isinstance(data.get("note"), str) else None
        if entry["kind"] == "check_run" and data.get("verdict") in effectiveness.VERDICTS:
            entry["note"] = translate(locale, effectiveness.verdict_label(data["verdict"]))
    return view

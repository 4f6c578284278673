"""The rating methodology as data (保险公司服务评价管理办法 style): read from YAML, validated with file and line
(``defaults/supervision/methodology.yaml`` documents the format), stored as versions.

:func:`parse` turns a text into a :class:`Methodology` or raises :class:`MethodologyError` (``file:line: problem``,
with ``field`` the YAML path at fault, e.g. ``indicators[2].weight``). :func:`add_version` validates, stores the
next version of the code, makes it the active one and records it in every insurer's audit chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.config import PACKAGE_DIR
from claimwatch.errors import Invalid, NotFound
from claimwatch.kpi import loader as kpi_loader
from claimwatch.supervision.models import RatingMethodology
from claimwatch.tenancy.models import Tenant
from claimwatch.yaml_source import ConfigFileError, Mapping, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_PATH = PACKAGE_DIR / "defaults" / "supervision" / "methodology.yaml"
SCORINGS = ("linear", "percentile")
MISSING = ("zero", "exclude")
DEDUCTION_KINDS = ("major_complaint", "regulatory_penalty", "other")
_TOP_KEYS = {
    "code",
    "title",
    "indicators",
    "deductions",
    "grades",
    "min_claims",
    "objection_days",
    "decision_days",
}
_INDICATOR_KEYS = {"kpi", "weight", "scoring", "missing"}
HUNDRED = Decimal(100)
AUDIT_KIND = "rating_methodology"


class MethodologyError(ConfigFileError):
    """An invalid methodology: ``str()`` is ``file:line: problem``; ``field`` the YAML path at fault."""

    def __init__(self, source: str, line: int | None, problem: str, field: str = "methodology") -> None:
        self.field = field
        super().__init__(source, line, problem)


@dataclass(frozen=True)
class Indicator:
    kpi: str
    weight: Decimal
    scoring: str  # linear | percentile
    floor: float | None = None  # linear: 0 points at or beyond the floor
    ceiling: float | None = None  # linear: 100 points at or beyond the ceiling
    missing: str = "zero"  # zero | exclude

    def linear_points(self, value: float) -> float:
        """0–100 between floor and ceiling (either order: a floor above the ceiling means lower is better)."""
        assert self.floor is not None and self.ceiling is not None
        share = (value - self.floor) / (self.ceiling - self.floor)
        return 100.0 * min(1.0, max(0.0, share))

    def as_dict(self) -> dict[str, Any]:
        scoring: dict[str, Any] = (
            {"linear": {"floor": self.floor, "ceiling": self.ceiling}}
            if self.scoring == "linear"
            else {"percentile": {}}
        )
        return {"kpi": self.kpi, "weight": str(self.weight), "scoring": scoring, "missing": self.missing}


@dataclass(frozen=True)
class Grade:
    grade: str
    min: Decimal | None  # None: the lowest grade, below every other


@dataclass(frozen=True)
class Methodology:
    code: str
    title_zh: str
    title_en: str
    indicators: tuple[Indicator, ...]
    deduction_max: dict[str, Decimal | None]  # kind → max points of that kind per unit and run (None: no cap)
    deduction_cap: Decimal | None  # all deductions of a unit together
    grades: tuple[Grade, ...]  # best first
    min_claims: int
    objection_days: int
    decision_days: int
    sha256: str = ""

    def title(self, locale: str) -> str:
        return self.title_zh if locale == "zh" else self.title_en

    def grade_for(self, score: Decimal) -> str:
        for grade in self.grades:
            if grade.min is None or score >= grade.min:
                return grade.grade
        return self.grades[-1].grade

    @property
    def grade_names(self) -> tuple[str, ...]:
        return tuple(g.grade for g in self.grades)


def _fail(source: str, node: Any, problem: str, field: str, key: str | None = None) -> MethodologyError:
    return MethodologyError(source, line_of(node, key), problem, field)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _number(source: str, node: Mapping, key: str, field: str, *, positive: bool = False) -> Decimal:
    number = _decimal(node.get(key))
    if number is None or (positive and number <= 0) or number < 0:
        what = "a positive number" if positive else "a number ≥ 0"
        raise _fail(source, node, f"{field} must be {what}, not {node.get(key)!r}", field, key)
    return number


def _whole(source: str, node: Mapping, key: str) -> int:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(source, node, f"{key} must be a whole number ≥ 0, not {value!r}", key, key)
    return value


def _indicator(source: str, node: Any, index: int, known: dict[str, kpi_loader.Kpi]) -> Indicator:
    field = f"indicators[{index}]"
    if not isinstance(node, Mapping):
        raise _fail(source, node, f"{field} must be a mapping with kpi, weight, scoring, missing", field)
    for key in node:
        if key not in _INDICATOR_KEYS:
            raise _fail(
                source, node, f"{field}: unknown key {key!r} (known: {', '.join(sorted(_INDICATOR_KEYS))})", field, key
            )
    code = node.get("kpi")
    kpi = known.get(code) if isinstance(code, str) else None
    if kpi is None:
        raise _fail(
            source, node, f"{field}.kpi: unknown KPI {code!r} (not in the KPI catalogue)", f"{field}.kpi", "kpi"
        )
    if not kpi.available:
        raise _fail(source, node, f"{field}.kpi: KPI {code!r} is not computed yet (pending)", f"{field}.kpi", "kpi")
    weight = _number(source, node, "weight", f"{field}.weight", positive=True)
    missing = node.get("missing", "zero")
    if missing not in MISSING:
        raise _fail(
            source,
            node,
            f"{field}.missing must be one of {', '.join(MISSING)}, not {missing!r}",
            f"{field}.missing",
            "missing",
        )
    scoring = node.get("scoring")
    if not isinstance(scoring, Mapping) or len(scoring) != 1:
        raise _fail(
            source,
            node,
            f"{field}.scoring must be one of {{linear: {{floor, ceiling}}}} or {{percentile: {{}}}}",
            f"{field}.scoring",
            "scoring",
        )
    kind = next(iter(scoring))
    if kind not in SCORINGS:
        raise _fail(
            source,
            scoring,
            f"{field}.scoring: unknown scoring {kind!r} (known: {', '.join(SCORINGS)})",
            f"{field}.scoring",
            str(kind),
        )
    params = scoring[kind]
    if kind == "percentile":
        if params not in (None, {}) and not (isinstance(params, Mapping) and not params):
            raise _fail(source, scoring, f"{field}.scoring.percentile takes no parameters", f"{field}.scoring", kind)
        return Indicator(kpi.code, weight, "percentile", missing=missing)
    where = f"{field}.scoring.linear"
    if not isinstance(params, Mapping):
        raise _fail(source, scoring, f"{where} must be a mapping with floor and ceiling", where, kind)
    for key in params:
        if key not in ("floor", "ceiling"):
            raise _fail(source, params, f"{where}: unknown key {key!r} (known: ceiling, floor)", where, key)
    floor, ceiling = _decimal(params.get("floor")), _decimal(params.get("ceiling"))
    if floor is None or ceiling is None:
        raise _fail(source, params, f"{where} needs a numeric floor and ceiling", where)
    if floor == ceiling:
        raise _fail(source, params, f"{where}: floor and ceiling are both {floor}", where)
    if (kpi.better == "lower") != (floor > ceiling):
        better = "lower" if kpi.better == "lower" else "higher"
        raise _fail(
            source,
            params,
            f"{where}: {code} is better {better}, so its ceiling (100 points) must be {better} than its floor "
            f"(floor {floor}, ceiling {ceiling})",
            where,
        )
    return Indicator(kpi.code, weight, "linear", float(floor), float(ceiling), missing)


def _deductions(source: str, root: Mapping) -> tuple[dict[str, Decimal | None], Decimal | None]:
    node = root.get("deductions")
    if node is None:
        return {kind: None for kind in DEDUCTION_KINDS}, None
    if not isinstance(node, Mapping):
        raise _fail(source, root, "deductions must be a mapping with kinds and cap", "deductions", "deductions")
    for key in node:
        if key not in ("kinds", "cap"):
            raise _fail(source, node, f"deductions: unknown key {key!r} (known: cap, kinds)", "deductions", key)
    kinds = node.get("kinds")
    found: dict[str, Decimal | None] = {}
    if kinds is not None:
        if not isinstance(kinds, Mapping):
            raise _fail(source, node, "deductions.kinds must be a mapping", "deductions.kinds", "kinds")
        for kind, spec in kinds.items():
            field = f"deductions.kinds.{kind}"
            if kind not in DEDUCTION_KINDS:
                raise _fail(
                    source, kinds, f"unknown deduction kind {kind!r} (known: {', '.join(DEDUCTION_KINDS)})", field, kind
                )
            if spec is None or (isinstance(spec, Mapping) and "max_points" not in spec):
                found[kind] = None
                continue
            if not isinstance(spec, Mapping):
                raise _fail(source, kinds, f"{field} must be a mapping with max_points", field, kind)
            found[kind] = _number(source, spec, "max_points", f"{field}.max_points", positive=True)
    for kind in DEDUCTION_KINDS:
        found.setdefault(kind, None)
    cap = node.get("cap")
    return found, None if cap is None else _number(source, node, "cap", "deductions.cap", positive=True)


def _grades(source: str, root: Mapping) -> tuple[Grade, ...]:
    node = root.get("grades")
    if not isinstance(node, list) or not node:
        raise _fail(source, root, "grades must be a list of {grade, min}, best first", "grades", "grades")
    grades: list[Grade] = []
    for index, item in enumerate(node):
        field = f"grades[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("grade"), str) or not item["grade"].strip():
            raise _fail(source, item if isinstance(item, Mapping) else node, f"{field} needs a grade name", field)
        for key in item:
            if key not in ("grade", "min"):
                raise _fail(source, item, f"{field}: unknown key {key!r} (known: grade, min)", field, key)
        name = item["grade"].strip()
        if len(name) > 4:
            raise _fail(source, item, f"{field}: grade {name!r} is longer than 4 characters", field, "grade")
        if name in (g.grade for g in grades):
            raise _fail(source, item, f"{field}: grade {name!r} appears twice", field, "grade")
        last = index == len(node) - 1
        if "min" not in item or item["min"] is None:
            if not last:
                raise _fail(source, item, f"{field}: only the last (lowest) grade may have no min", f"{field}.min")
            grades.append(Grade(name, None))
            continue
        minimum = _number(source, item, "min", f"{field}.min")
        if minimum > HUNDRED:
            raise _fail(source, item, f"{field}.min must be at most 100, not {minimum}", f"{field}.min", "min")
        previous = grades[-1].min if grades else None
        if previous is not None and minimum >= previous:
            raise _fail(
                source,
                item,
                f"{field}: grades overlap: {name} from {minimum} is not below {grades[-1].grade} from {previous} "
                "(list them best first, each min below the one before)",
                f"{field}.min",
                "min",
            )
        grades.append(Grade(name, minimum))
    if grades[-1].min is not None and grades[-1].min > 0:
        raise _fail(
            source,
            node[-1],
            f"grades: the last grade {grades[-1].grade} must have no min (or 0), so every score gets a grade",
            f"grades[{len(grades) - 1}].min",
        )
    return tuple(grades)


def _title(source: str, root: Mapping) -> tuple[str, str]:
    node = root.get("title")
    if isinstance(node, str) and node.strip():
        return node.strip(), node.strip()
    if not isinstance(node, Mapping) or not all(isinstance(node.get(k), str) and node[k].strip() for k in ("zh", "en")):
        raise _fail(source, root, "title must be a mapping with zh and en", "title", "title")
    return node["zh"].strip(), node["en"].strip()


def parse(text: str, source: str = "methodology.yaml") -> Methodology:
    """A validated methodology, or :class:`MethodologyError` naming the file, line and field."""
    root = load_yaml(text, source, MethodologyError)
    if not isinstance(root, Mapping):
        raise MethodologyError(source, line_of(root), "a methodology is a mapping (code, title, indicators, …)")
    for key in root:
        if key not in _TOP_KEYS:
            raise _fail(source, root, f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})", str(key), key)
    code = root.get("code")
    if not isinstance(code, str) or not code.strip() or len(code.strip()) > 32:
        raise _fail(source, root, f"code must be a name of at most 32 characters, not {code!r}", "code", "code")
    title_zh, title_en = _title(source, root)
    items = root.get("indicators")
    if not isinstance(items, list) or not items:
        raise _fail(source, root, "indicators must be a non-empty list", "indicators", "indicators")
    known = kpi_loader.by_code()
    indicators: list[Indicator] = []
    for index, item in enumerate(items):
        indicator = _indicator(source, item, index, known)
        if any(found.kpi == indicator.kpi for found in indicators):
            raise _fail(
                source,
                item,
                f"indicators[{index}].kpi: {indicator.kpi} is listed twice",
                f"indicators[{index}].kpi",
                "kpi",
            )
        indicators.append(indicator)
    total = sum((i.weight for i in indicators), Decimal(0))
    if total != HUNDRED:
        raise _fail(
            source, root, f"indicator weights must sum to 100, not {total.normalize():f}", "indicators", "indicators"
        )
    deduction_max, cap = _deductions(source, root)
    grades = _grades(source, root)
    min_claims = _whole(source, root, "min_claims") if "min_claims" in root else 0
    objection_days = _whole(source, root, "objection_days") if "objection_days" in root else 15
    decision_days = _whole(source, root, "decision_days") if "decision_days" in root else 30
    return Methodology(
        code=code.strip(),
        title_zh=title_zh,
        title_en=title_en,
        indicators=tuple(indicators),
        deduction_max=deduction_max,
        deduction_cap=cap,
        grades=grades,
        min_claims=min_claims,
        objection_days=objection_days,
        decision_days=decision_days,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load(path: Path | None = None) -> Methodology:
    """A methodology file (default: the shipped ``defaults/supervision/methodology.yaml``), validated."""
    path = path or DEFAULT_PATH
    return parse(path.read_text(encoding="utf-8"), str(path))


def validate(text: str, source: str = "methodology.yaml") -> Methodology:
    """:func:`parse` for a request: an invalid text raises :class:`Invalid` naming the field (422)."""
    try:
        return parse(text, source)
    except MethodologyError as exc:
        raise Invalid(exc.field, str(exc)) from exc


def of_row(row: RatingMethodology) -> Methodology:
    """The stored version's methodology (it was validated when it was added)."""
    return parse(row.body, f"{row.code} v{row.version}")


def active(session: Session, code: str | None = None) -> RatingMethodology | None:
    """The active version (of ``code``; without it, the newest active version of any code)."""
    statement = select(RatingMethodology).where(RatingMethodology.active.is_(True))
    if code is not None:
        statement = statement.where(RatingMethodology.code == code)
    return session.scalars(statement.order_by(RatingMethodology.created_at.desc(), RatingMethodology.id.desc())).first()


def versions(session: Session, code: str | None = None) -> list[RatingMethodology]:
    """Every stored version, newest first."""
    statement = select(RatingMethodology)
    if code is not None:
        statement = statement.where(RatingMethodology.code == code)
    return list(session.scalars(statement.order_by(RatingMethodology.code, RatingMethodology.version.desc())))


def get(session: Session, methodology_id: int) -> RatingMethodology:
    row = session.get(RatingMethodology, methodology_id)
    if row is None:
        raise NotFound("methodology", f"no methodology version {methodology_id}")
    return row


def add_version(
    session: Session, principal: Principal, text: str, source: str = "methodology.yaml"
) -> RatingMethodology:
    """Validate ``text``, store it as the next version of its code and make it the active one; the version (code,
    number, SHA-256 of the text) is recorded in every insurer's audit chain. Same text as the active version:
    that version, unchanged."""
    principal.require(Permission.MANAGE_RATINGS)
    parsed = validate(text, source)
    current = active(session, parsed.code)
    if current is not None and current.sha256 == parsed.sha256:
        return current
    latest = session.scalar(
        select(RatingMethodology.version)
        .where(RatingMethodology.code == parsed.code)
        .order_by(RatingMethodology.version.desc())
        .limit(1)
    )
    session.execute(
        update(RatingMethodology).where(RatingMethodology.code == parsed.code).values(active=False),
        execution_options={"synchronize_session": "fetch"},
    )
    row = RatingMethodology(
        code=parsed.code,
        version=(latest or 0) + 1,
        title=parsed.title_zh[:200],
        body=text,
        sha256=parsed.sha256,
        active=True,
        created_by=principal.actor[:100],
    )
    session.add(row)
    session.flush()
    payload = {
        "code": row.code,
        "version": row.version,
        "sha256": row.sha256,
        "title": parsed.title_zh,
        "indicators": [i.as_dict() for i in parsed.indicators],
    }
    for tenant_id in session.scalars(select(Tenant.id).order_by(Tenant.id)):
        audit_service.record(session, tenant_id, AUDIT_KIND, f"{row.code}/v{row.version}", principal.actor, payload)
    return row

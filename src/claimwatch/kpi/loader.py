"""The KPI catalogue (指标库) as data: read from YAML, validated with file and line.

Every formula is checked on load by DuckDB against empty tables of the snapshot's schema, so an
unknown column or a syntax error is reported as ``kpis.yaml:LINE: ...`` before any dashboard runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from claimwatch.cases.repository import ROUTES
from claimwatch.config import get_settings
from claimwatch.kpi.columns import TABLES, empty_connection
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

UNITS = ("%", "count", "days", "score", "per_10k", "per_100m_cny")
# The value is numerator / denominator times this: a rate in %, complaints per 10 000 claims or policies, and
# per 100 M CNY premium from a denominator in fen (1 亿元 = 10^10 fen).
_SCALE = {"%": 100.0, "per_10k": 10_000.0, "per_100m_cny": 1e10}
BETTER = ("higher", "lower")
PENDING = "pending"
END = "end"  # a point-in-time indicator, evaluated at the end of each period
SOURCES = (
    "claims",
    "clocks",
    "materials",
    "filings",
    "status_changes",
    "complaints",
    "complaint_exposure",
    "surveys",
    "inspections",
    "rectifications",
    "actions",
    "disclosures",
    "provider_tasks",
)
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
_KEYS = {
    "code",
    "name",
    "definition",
    "source",
    "period",
    "where",
    "numerator",
    "denominator",
    "unit",
    "better",
    "baseline",
    "target",
    "near",
    "owner",
    "alert",
    "drill",
    "row",
}
# Drill-down (every number leads to its records): which claim-list filters reproduce a KPI's numerator and
# denominator. A filter named ``<x>_in`` takes ``period`` (the KPI's period, as <x>_from/<x>_to dates on the
# list); ``overdue_at`` takes ``end`` (the period's end; "overdue now" in the running period); the others a
# fixed value. ``rows`` is the DuckDB condition picking the same rows of the KPI's source, from which the
# dashboard counts the distinct claims a link leads to (the number it shows on the link).
DRILL_LISTS = ("claims", "provider_tasks")
DRILL_PARTS = ("numerator", "denominator")
DRILL_FILTERS: dict[str, tuple[str, ...] | None] = {
    "reported_in": ("period",),
    "closed_in": ("period",),
    "clock_in": ("period",),
    "filed_in": ("period",),
    "overdue_at": ("end",),
    "state": ("open", "closed"),
    "cycle_over": None,  # a whole number of days, or "target"
    "disputed": ("1",),
    "materials": ("profile", "noticed", "supplement", "violation"),
    "clock": None,  # an SLA policy code
    "clock_outcome": ("met", "breached", "settled"),
    "route": ROUTES,  # the triage route (claims.route)
}
# The provider-task list (/provider-tasks, claimwatch.providers): a KPI over provider_tasks drills to its tasks.
TASK_DRILL_FILTERS: dict[str, tuple[str, ...] | None] = {
    "due_in": ("period",),
    "standard": ("0", "1"),
    "on_time": ("0", "1"),
    "judged": ("1",),
    "kind": None,  # a task kind
}
# Which snapshot sources may drill to which list, and that list's filters.
DRILL_SOURCES: dict[str, tuple[str, ...]] = {
    "claims": ("claims", "clocks", "materials", "filings"),
    "provider_tasks": ("provider_tasks",),
}
LIST_FILTERS = {"claims": DRILL_FILTERS, "provider_tasks": TASK_DRILL_FILTERS}
# Statements a formula must never carry: it is an expression, not a script.
_FORBIDDEN = re.compile(r";|--|/\*|\b(copy|attach|install|load|pragma|create|drop|insert|update|delete|set)\b", re.I)


class CatalogueError(ConfigFileError):
    pass


@dataclass(frozen=True)
class DrillPart:
    """How the list of the cases behind a KPI's numerator (or denominator) is reached: the claim list's
    filters (placeholders ``period``/``end``/``target`` filled per period), and the snapshot rows they match."""

    part: str  # numerator | denominator
    label_zh: str
    label_en: str
    rows: str | None  # DuckDB condition over the KPI's source rows (besides its where, period and scope)
    filters: tuple[tuple[str, str], ...]
    list_name: str = "claims"  # the list the link opens (DRILL_LISTS): claims, or provider_tasks (counted per task)

    def label(self, locale: str) -> str:
        return self.label_zh if locale == "zh" else self.label_en


@dataclass(frozen=True)
class Kpi:
    code: str
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str
    source: str  # a snapshot table, or "pending"
    period: str | None  # the timestamp column, or "end"
    where: str | None
    numerator: str | None
    denominator: str | None
    unit: str
    better: str
    baseline: float | None
    target: float | None
    near: float
    owner_zh: str
    owner_en: str
    alert: bool = False
    line: int = 0
    drill: tuple[DrillPart, ...] = ()
    # A mean's per-row value (unit days or score): the value of one source row whose average over the period
    # is the KPI, so a before/after check can compare the distributions (claimwatch.actions.effectiveness).
    row: str | None = None

    def drill_part(self, part: str) -> DrillPart | None:
        return next((found for found in self.drill if found.part == part), None)

    @property
    def available(self) -> bool:
        return self.source != PENDING

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh" else self.name_en

    def definition(self, locale: str) -> str:
        return self.definition_zh if locale == "zh" else self.definition_en

    def owner(self, locale: str) -> str:
        return self.owner_zh if locale == "zh" else self.owner_en

    def value(self, numerator: float | None, denominator: float | None) -> float | None:
        """The indicator's value from its numerator and denominator, in its unit."""
        if numerator is None:
            return None
        if self.denominator is None:
            return float(numerator)
        if not denominator:
            return None
        return _SCALE.get(self.unit, 1.0) * float(numerator) / float(denominator)

    def light(self, value: float | None) -> str:
        """meets | near | misses against the target, or none (no data or no target)."""
        if value is None or self.target is None:
            return "none"
        if self.better == "higher":
            if value >= self.target:
                return "meets"
            return "near" if value >= self.target - self.near else "misses"
        if value <= self.target:
            return "meets"
        return "near" if value <= self.target + self.near else "misses"


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self._checker: duckdb.DuckDBPyConnection | None = None

    def checker(self) -> duckdb.DuckDBPyConnection:
        """One empty snapshot per catalogue read for every formula check: opening one per check cost ~1 s of CPU in
        every process that loads the catalogue (57 checks)."""
        if self._checker is None:
            self._checker = empty_connection()
        return self._checker

    def close(self) -> None:
        if self._checker is not None:
            self._checker.close()
            self._checker = None

    def fail(self, node: Any, problem: str, key: str | None = None) -> CatalogueError:
        return CatalogueError(self.source, line_of(node, key), problem)

    def text(self, node: Mapping, key: str, required: bool = True) -> str | None:
        value = node.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, f"'{key}' must be a non-empty string", key)
        return value.strip()

    def pair(self, node: Mapping, key: str) -> tuple[str, str]:
        value = node.get(key)
        if not isinstance(value, Mapping) or set(value) != {"zh", "en"}:
            raise self.fail(node, f"'{key}' must be a mapping with exactly zh and en", key)
        zh, en = self.text(value, "zh"), self.text(value, "en")
        assert zh is not None and en is not None
        return zh, en

    def number(self, node: Mapping, key: str) -> float | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(node, f"'{key}' must be a number or null, not {value!r}", key)
        return float(value)

    def choice(self, node: Mapping, key: str, allowed: tuple[str, ...]) -> str:
        value = node.get(key)
        if value not in allowed:
            raise self.fail(node, f"'{key}' must be one of {', '.join(allowed)}, not {value!r}", key)
        return str(value)

    def kpi(self, node: Any) -> Kpi:
        if not isinstance(node, Mapping):
            raise self.fail(node, "each KPI must be a mapping")
        for key in node:
            if key not in _KEYS:
                raise self.fail(node, f"unknown key '{key}' (allowed: {', '.join(sorted(_KEYS))})", key)
        code = self.text(node, "code")
        assert code is not None
        if not _CODE.match(code):
            raise self.fail(node, f"code {code!r} must be lower-case letters, digits and _", "code")
        name_zh, name_en = self.pair(node, "name")
        definition_zh, definition_en = self.pair(node, "definition")
        owner_zh, owner_en = self.pair(node, "owner")
        unit = self.choice(node, "unit", UNITS)
        better = self.choice(node, "better", BETTER)
        target = self.number(node, "target")
        near = self.number(node, "near")
        if near is not None and near < 0:
            raise self.fail(node, "'near' must not be negative", "near")
        if near is None:
            near = 5.0 if unit == "%" else abs(target or 0.0) * 0.1
        source = self.choice(node, "source", (*SOURCES, PENDING))
        alert = node.get("alert", False)
        if not isinstance(alert, bool):
            raise self.fail(node, "'alert' must be true or false", "alert")
        period = where = numerator = denominator = row = None
        if source == PENDING:
            for key in ("period", "where", "numerator", "denominator", "row"):
                if key in node:
                    raise self.fail(node, f"a pending KPI has no '{key}' yet", key)
            if alert:
                raise self.fail(node, "a pending KPI cannot raise alerts", "alert")
        else:
            period = self.text(node, "period")
            assert period is not None
            columns = TABLES[source].timestamps
            if period != END and period not in columns:
                allowed = ", ".join((*columns, END))
                raise self.fail(node, f"period {period!r} is not a timestamp of {source} ({allowed})", "period")
            where = self.text(node, "where", required=False)
            numerator = self.text(node, "numerator")
            denominator = self.text(node, "denominator", required=False)
            if unit == "count" and denominator is not None:
                raise self.fail(node, "a count has no denominator", "denominator")
            if unit != "count" and denominator is None:
                raise self.fail(node, f"a KPI in {unit!r} needs a denominator", "numerator")
            if alert and unit != "%":
                raise self.fail(node, "only a rate (unit %) can be watched by p-chart alerts", "alert")
            for key, expression in (("where", where), ("numerator", numerator), ("denominator", denominator)):
                if expression is None:
                    continue
                if _FORBIDDEN.search(expression):
                    raise self.fail(node, f"{key} must be a single SQL expression", key)
                if period != END and "{end}" in expression:
                    raise self.fail(node, "{end} is only for KPIs with period: end", key)
            assert numerator is not None
            self.check_sql(node, source, where, numerator, denominator)
            row = self.row(node, source, period, unit)
        drill = self.drill(node, source, period, denominator is not None) if "drill" in node else ()
        if any(value == "target" for part in drill for _, value in part.filters) and (
            target is None or target != int(target)
        ):
            raise self.fail(node, "cycle_over: target needs a whole-number target", "drill")
        return Kpi(
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            definition_zh=definition_zh,
            definition_en=definition_en,
            source=source,
            period=period,
            where=where,
            numerator=numerator,
            denominator=denominator,
            unit=unit,
            better=better,
            baseline=self.number(node, "baseline"),
            target=target,
            near=near,
            owner_zh=owner_zh,
            owner_en=owner_en,
            alert=alert,
            line=node.line,
            drill=drill,
            row=row,
        )

    def row(self, node: Mapping, source: str, period: str, unit: str) -> str | None:
        """The optional per-row value of a mean: one plain expression over a row (no aggregate)."""
        row = self.text(node, "row", required=False)
        if row is None:
            return None
        if unit not in ("days", "score"):
            raise self.fail(node, f"'row' is for a mean (unit days or score), not a KPI in {unit!r}", "row")
        if period == END:
            raise self.fail(node, "'row' is not for a KPI with period: end", "row")
        if _FORBIDDEN.search(row) or "{end}" in row:
            raise self.fail(node, "row must be a single SQL expression", "row")
        con = self.checker()
        try:
            # In a WHERE an aggregate is refused, so this plans the expression as a per-row value.
            con.execute(f"SELECT ({row}) FROM {source} WHERE ({row}) IS NOT NULL").fetchall()  # noqa: S608
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            raise self.fail(node, f"row is not a per-row expression over {source}: {message}", "row") from exc
        return row

    def drill(self, node: Mapping, source: str, period: str | None, has_denominator: bool) -> tuple[DrillPart, ...]:
        spec = node.get("drill")
        if source == PENDING or period is None:
            raise self.fail(node, "a pending KPI has no drill-down", "drill")
        if not isinstance(spec, Mapping):
            raise self.fail(node, "'drill' must be a mapping with list and numerator (and denominator)", "drill")
        for key in spec:
            if key not in ("list", *DRILL_PARTS):
                raise self.fail(spec, f"unknown drill key '{key}' (allowed: list, numerator, denominator)", key)
        target_list = self.choice(spec, "list", DRILL_LISTS)
        noun = "claim" if target_list == "claims" else "provider-task"
        if source not in DRILL_SOURCES[target_list]:
            raise self.fail(spec, f"a {source} KPI cannot drill to the {noun} list", "list")
        allowed_filters = LIST_FILTERS[target_list]
        parts = []
        for part in DRILL_PARTS:
            entry = spec.get(part)
            if entry is None:
                continue
            if part == "denominator" and not has_denominator:
                raise self.fail(spec, "a count has no denominator to drill to", part)
            if not isinstance(entry, Mapping):
                raise self.fail(spec, f"drill {part} must be a mapping with label, filters and rows", part)
            for key in entry:
                if key not in ("label", "filters", "rows"):
                    raise self.fail(entry, f"unknown key '{key}' (allowed: label, filters, rows)", key)
            label_zh, label_en = self.pair(entry, "label")
            rows = self.text(entry, "rows", required=False)
            filters = entry.get("filters")
            if not isinstance(filters, Mapping) or not filters:
                raise self.fail(entry, "'filters' must be a non-empty mapping of claim-list filters", "filters")
            pairs = []
            for name, value in filters.items():
                if name not in allowed_filters:
                    known = ", ".join(allowed_filters)
                    raise self.fail(filters, f"unknown {noun}-list filter '{name}' ({known})", name)
                allowed = allowed_filters[name]
                text = str(value)
                if allowed is not None and text not in allowed:
                    raise self.fail(filters, f"'{name}' must be one of {', '.join(allowed)}, not {value!r}", name)
                if name == "cycle_over" and not (text == "target" or text.isdigit()):
                    raise self.fail(filters, "'cycle_over' must be a whole number of days or target", name)
                if name == "overdue_at" and period != END:
                    raise self.fail(filters, "overdue_at: end is only for KPIs with period: end", name)
                pairs.append((name, text))
            if rows is not None:
                if _FORBIDDEN.search(rows):
                    raise self.fail(entry, "rows must be a single SQL expression", "rows")
                self.check_sql(entry, source, rows.replace("{target}", "0"), "count(*)", None, "rows")
            parts.append(DrillPart(part, label_zh, label_en, rows, tuple(pairs), target_list))
        if not parts:
            raise self.fail(spec, "a drill-down needs a numerator (or a denominator)", "drill")
        return tuple(parts)

    def check_sql(
        self,
        node: Mapping,
        source: str,
        where: str | None,
        numerator: str,
        denominator: str | None,
        where_key: str = "where",
    ) -> None:
        """Plans each expression against empty snapshot tables: unknown columns and syntax errors fail here."""
        con = self.checker()
        end = "TIMESTAMP '2000-01-01 00:00:00'"
        for key, expression, aggregate in (
            (where_key, where, False),
            ("numerator", numerator, True),
            ("denominator", denominator, True),
        ):
            if expression is None:
                continue
            sql_text = expression.replace("{end}", end)
            if aggregate:
                statement = f"SELECT {sql_text} FROM {source}"  # noqa: S608 - catalogue text, checked
            else:
                statement = f"SELECT count(*) FROM {source} WHERE {sql_text}"  # noqa: S608
            try:
                con.execute(statement).fetchall()
            except duckdb.Error as exc:
                message = str(exc).splitlines()[0]
                raise self.fail(node, f"{key} is not a valid expression over {source}: {message}", key) from exc


def parse_catalogue(text: str, source: str) -> list[Kpi]:
    document = load_yaml(text, source, CatalogueError)
    reader = _Reader(source)
    if not isinstance(document, Mapping) or "kpis" not in document:
        raise reader.fail(document, "the file must be a mapping with a 'kpis' list")
    for key in document:
        if key != "kpis":
            raise reader.fail(document, f"unknown key '{key}'", key)
    items = document["kpis"]
    if not isinstance(items, Sequence) or not items:
        raise reader.fail(document, "'kpis' must be a non-empty list", "kpis")
    kpis: list[Kpi] = []
    seen: dict[str, int] = {}
    try:
        for item in items:
            kpi = reader.kpi(item)
            if kpi.code in seen:
                raise reader.fail(item, f"duplicate KPI code {kpi.code!r} (first at line {seen[kpi.code]})", "code")
            seen[kpi.code] = kpi.line
            kpis.append(kpi)
    finally:
        reader.close()
    return kpis


def load_catalogue(path: Path) -> list[Kpi]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(str(path), None, f"cannot read: {exc.strerror}") from exc
    return parse_catalogue(text, str(path))


@lru_cache
def _cached(path: str) -> tuple[Kpi, ...]:
    return tuple(load_catalogue(Path(path)))


def catalogue() -> tuple[Kpi, ...]:
    """The catalogue in force (CLAIMWATCH_KPI_CATALOGUE), loaded once per process."""
    return _cached(str(get_settings().kpi_catalogue))


def by_code() -> dict[str, Kpi]:
    return {kpi.code: kpi for kpi in catalogue()}

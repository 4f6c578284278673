"""The appraisal scheme (质量挂钩考核方案) as YAML, validated with file and line, and the registry of metric sources.

A scheme (``defaults/people/appraisal.yaml``; versions stored in :class:`AppraisalScheme`)::

    version: "2026.11-1"
    min_scored_weight: 50          # below this share of weight with enough data, a person is not scored
    stars: [{stars: 5, min_score: 95}, {stars: 4, min_score: 90}, …]
    groups:                        # one per staff kind (optionally narrowed to job titles)
      - kind: employee
        job_titles: [理赔员]        # optional; the first group that matches a person applies
        metrics:
          - code: sla_on_time      # a registered metric source
            weight: 30             # the weights of a group sum to 100
            direction: higher      # higher | lower is better
            floor: 80              # linear: floor → 0 points, ceiling → 100 points (reversed for lower)
            ceiling: 100
            min_volume: 5          # fewer records than this: the metric is shown but not scored

The weights are renormalised over the metrics that have enough data, so a person with no surveys this month is
scored on the rest. Peer percentile and stars come from the score (:mod:`claimwatch.people.appraisal`).

Metric sources
--------------
``people`` sits below ``policies`` in the layers, so the agent metrics (sales flags, cooling-off cancellations,
mis-selling complaints) are computed by ``policies`` and registered here, as subject kinds are in
:mod:`claimwatch.subjects.registry`: a source module calls :func:`register_metric_source` at import time and
:mod:`claimwatch.appraisal_sources` (top layer) imports those modules; :func:`metric_sources` loads it once by
name. A source computes one metric for everybody of a month in a few GROUP BY queries (never per person).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy.orm import Session

from claimwatch.audit.hashing import sha256_hex
from claimwatch.config import PACKAGE_DIR
from claimwatch.errors import Invalid
from claimwatch.yaml_source import ConfigFileError, Mapping, line_of
from claimwatch.yaml_source import Sequence as YamlSequence
from claimwatch.yaml_source import load as load_yaml

DEFAULT_SCHEME = PACKAGE_DIR / "defaults" / "people" / "appraisal.yaml"
STAFF_KINDS = ("employee", "agent")
DIRECTIONS = ("higher", "lower")
MAX_SCHEME_FILE = 64 * 1024
MAX_GROUPS = 50
MAX_METRICS = 30

# -- metric sources ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRef:
    """One active staff member being scored."""

    staff_id: int
    code: str
    kind: str  # employee | agent
    user_id: int | None
    org_unit_id: int | None
    job_title: str | None = None


@dataclass(frozen=True)
class MonthWindow:
    """The tenant-local calendar month being scored: dates for Date columns, UTC instants for datetimes."""

    tenant_id: int
    month: dt.date  # the first day (AppraisalScorecard.month)
    start_on: dt.date
    end_on: dt.date  # the first day of the next month (exclusive)
    start_at: dt.datetime  # local midnight of start_on, in UTC
    end_at: dt.datetime  # local midnight of end_on, in UTC (exclusive)

    @property
    def label(self) -> str:
        return f"{self.month.year}-{self.month.month:02d}"


@dataclass(frozen=True)
class MetricValue:
    """A metric's raw value for one person (``None``: no data), the number of records it rests on, and what was
    counted: ``basis`` a msgid with ``%(name)s`` placeholders filled from ``params`` (numbers only)."""

    value: float | None
    volume: int
    basis: str = ""
    params: dict[str, int | float | str] = field(default_factory=dict)


class MetricSource(Protocol):
    """A frozen dataclass or a plain class with these attributes and ``compute`` satisfies it."""

    @property
    def code(self) -> str: ...

    @property
    def label(self) -> str: ...  # msgid

    @property
    def unit(self) -> str: ...  # percent | count | per100 | score

    @property
    def staff_kinds(self) -> frozenset[str]: ...

    def compute(self, session: Session, window: MonthWindow, people: Sequence[PersonRef]) -> dict[int, MetricValue]: ...


_SOURCES: dict[str, MetricSource] = {}
_loaded = False


def register_metric_source(source: MetricSource) -> MetricSource:
    _SOURCES[source.code] = source
    return source


def metric_sources() -> dict[str, MetricSource]:
    """Every registered source (the wiring module is loaded by name once, as the subject kinds are)."""
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module("claimwatch.people.appraisal")  # the handler metrics
        try:
            importlib.import_module("claimwatch.appraisal_sources")
        except ModuleNotFoundError as exc:  # pragma: no cover - the wiring module is part of the package
            if exc.name != "claimwatch.appraisal_sources":
                raise
    return dict(_SOURCES)


def month_window(tenant_id: int, month: dt.date, zone: dt.tzinfo) -> MonthWindow:
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    start = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(following, dt.time(), zone).astimezone(dt.UTC)
    return MonthWindow(tenant_id, first, first, following, start, end)


def parse_month(text: str | None, field_name: str = "month") -> dt.date:
    """``YYYY-MM`` → the month's first day; anything else is :class:`claimwatch.errors.Invalid`."""
    raw = (text or "").strip()
    parts = raw.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4 or not 1 <= int(parts[1]) <= 12:
        raise Invalid(field_name, f"{raw[:20]!r} is not a month YYYY-MM")
    year = int(parts[0])
    if not 2000 <= year <= 2999:
        raise Invalid(field_name, f"{raw[:20]!r} is not a month YYYY-MM")
    return dt.date(year, int(parts[1]), 1)


def shift_month(month: dt.date, steps: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + steps
    return dt.date(index // 12, index % 12 + 1, 1)


# -- the scheme ----------------------------------------------------------------------------------------------


class SchemeError(ConfigFileError):
    """``field`` is what :class:`claimwatch.errors.Invalid` names (``metrics`` for a weight table that does not
    sum to 100)."""

    def __init__(self, source: str, line: int | None, problem: str, field_name: str = "content") -> None:
        super().__init__(source, line, problem)
        self.field = field_name


@dataclass(frozen=True)
class MetricRule:
    code: str
    weight: float
    direction: str
    floor: float
    ceiling: float
    min_volume: int

    def points(self, value: float) -> float:
        """0–100 on the linear scale between floor and ceiling (reversed when lower is better)."""
        span = self.ceiling - self.floor
        share = (value - self.floor) / span if self.direction == "higher" else (self.ceiling - value) / span
        return round(100.0 * min(1.0, max(0.0, share)), 2)


@dataclass(frozen=True)
class Group:
    kind: str
    job_titles: frozenset[str]
    metrics: tuple[MetricRule, ...]

    def applies(self, kind: str, job_title: str | None) -> bool:
        return self.kind == kind and (not self.job_titles or (job_title or "") in self.job_titles)


@dataclass(frozen=True)
class Scheme:
    version: str
    digest: str
    min_scored_weight: float
    stars: tuple[tuple[int, float], ...]  # (stars, min score), highest first
    groups: tuple[Group, ...]

    def group_for(self, kind: str, job_title: str | None) -> Group | None:
        return next((g for g in self.groups if g.applies(kind, job_title)), None)

    def stars_for(self, score: float | None) -> int:
        if score is None:
            return 0
        return next((stars for stars, minimum in self.stars if score >= minimum), 0)

    def codes(self) -> set[str]:
        return {m.code for g in self.groups for m in g.metrics}


def _fail(source: str, node: Any, problem: str, key: str | None = None, field_name: str = "content") -> SchemeError:
    return SchemeError(source, line_of(node, key), problem, field_name)


def _number(source: str, node: Mapping, key: str, *, default: float | None = None, low: float | None = None) -> float:
    value = node.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(source, node, f"'{key}' must be a number", key)
    if low is not None and value < low:
        raise _fail(source, node, f"'{key}' must be at least {low:g}", key)
    return float(value)


_TOP_KEYS = {"version", "min_scored_weight", "stars", "groups"}
_GROUP_KEYS = {"kind", "job_titles", "metrics"}
_METRIC_KEYS = {"code", "weight", "direction", "floor", "ceiling", "min_volume"}


def _unknown(source: str, node: Mapping, known: set[str], what: str) -> None:
    for key in node:
        if key not in known:
            raise _fail(source, node, f"unknown key {key!r} in {what} (known: {', '.join(sorted(known))})", str(key))


def _metric(source: str, node: Any, seen: set[str]) -> MetricRule:
    if not isinstance(node, Mapping):
        raise SchemeError(source, line_of(node), "each metric is a mapping (code, weight, direction, floor, ceiling)")
    _unknown(source, node, _METRIC_KEYS, "metric")
    code = node.get("code")
    if not isinstance(code, str) or not code.strip():
        raise _fail(source, node, "'code' is required", "code")
    code = code.strip()
    if code in seen:
        raise _fail(source, node, f"metric {code!r} appears twice in the group", "code")
    seen.add(code)
    weight = _number(source, node, "weight", low=0)
    direction = node.get("direction", "higher")
    if direction not in DIRECTIONS:
        raise _fail(source, node, f"'direction' must be higher or lower, not {direction!r}", "direction")
    floor = _number(source, node, "floor")
    ceiling = _number(source, node, "ceiling")
    if ceiling <= floor:
        raise _fail(source, node, "'ceiling' must be above 'floor'", "ceiling")
    min_volume = node.get("min_volume", 1)
    if isinstance(min_volume, bool) or not isinstance(min_volume, int) or min_volume < 0:
        raise _fail(source, node, "'min_volume' must be a whole number ≥ 0", "min_volume")
    return MetricRule(code, weight, str(direction), floor, ceiling, min_volume)


def _group(source: str, node: Any) -> Group:
    if not isinstance(node, Mapping):
        raise SchemeError(source, line_of(node), "each group is a mapping (kind, metrics)")
    _unknown(source, node, _GROUP_KEYS, "group")
    kind = node.get("kind")
    if kind not in STAFF_KINDS:
        raise _fail(source, node, f"'kind' must be one of {', '.join(STAFF_KINDS)}, not {kind!r}", "kind")
    titles = node.get("job_titles", [])
    if not isinstance(titles, list) or not all(isinstance(t, str) and t.strip() for t in titles):
        raise _fail(source, node, "'job_titles' must be a list of job titles", "job_titles")
    metrics_node = node.get("metrics")
    if not isinstance(metrics_node, YamlSequence) or not metrics_node:
        raise _fail(source, node, "'metrics' must be a non-empty list", "metrics", "metrics")
    if len(metrics_node) > MAX_METRICS:
        raise _fail(source, node, f"at most {MAX_METRICS} metrics", "metrics", "metrics")
    seen: set[str] = set()
    metrics = tuple(_metric(source, m, seen) for m in metrics_node)
    total = sum(m.weight for m in metrics)
    if abs(total - 100.0) > 1e-6:
        raise SchemeError(
            source, line_of(node, "metrics"), f"the weights of the {kind} metrics sum to {total:g}, not 100", "metrics"
        )
    return Group(str(kind), frozenset(t.strip() for t in titles), metrics)


def parse_scheme(text: str, source: str) -> Scheme:
    """A scheme from YAML text; every error names ``source:line`` (and the field, ``metrics`` for the weights)."""
    doc = load_yaml(text, source, SchemeError)
    if not isinstance(doc, Mapping):
        raise SchemeError(source, 1, "an appraisal scheme is a mapping (version, stars, groups)")
    _unknown(source, doc, _TOP_KEYS, "the scheme")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, str | int | float) or not str(version).strip():
        raise _fail(source, doc, "'version' is required", "version")
    if len(str(version).strip()) > 64:
        raise _fail(source, doc, "'version' must be at most 64 characters", "version")
    min_weight = _number(source, doc, "min_scored_weight", default=50, low=0)
    if min_weight > 100:
        raise _fail(source, doc, "'min_scored_weight' must be at most 100", "min_scored_weight")
    stars_node = doc.get("stars", [])
    if not isinstance(stars_node, YamlSequence):
        raise _fail(source, doc, "'stars' must be a list of {stars, min_score}", "stars")
    stars: list[tuple[int, float]] = []
    for entry in stars_node:
        if not isinstance(entry, Mapping) or set(entry) != {"stars", "min_score"}:
            raise SchemeError(source, line_of(entry) or line_of(stars_node), "each star level is {stars, min_score}")
        count = entry["stars"]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 5:
            raise _fail(source, entry, "'stars' must be 1 to 5", "stars")
        minimum = _number(source, entry, "min_score", low=0)
        if minimum > 100:
            raise _fail(source, entry, "'min_score' must be at most 100", "min_score")
        stars.append((count, minimum))
    ordered = sorted(stars, key=lambda s: -s[0])
    rising = all(a[1] > b[1] for a, b in zip(ordered, ordered[1:], strict=False))
    if len({s for s, _ in stars}) != len(stars) or not rising:
        raise _fail(source, doc, "star levels must be distinct, more stars needing a higher score", "stars")
    groups_node = doc.get("groups")
    if not isinstance(groups_node, YamlSequence) or not groups_node:
        raise _fail(source, doc, "'groups' must be a non-empty list (one per staff kind)", "groups")
    if len(groups_node) > MAX_GROUPS:
        raise _fail(source, doc, f"at most {MAX_GROUPS} groups", "groups")
    groups = tuple(_group(source, g) for g in groups_node)
    return Scheme(str(version).strip(), sha256_hex(text), min_weight, tuple(ordered), groups)


@lru_cache(maxsize=32)
def parsed(content: str, source: str = "appraisal.yaml") -> Scheme:
    """A stored version parsed once per process (versions are immutable rows)."""
    return parse_scheme(content, source)


def default_text() -> str:
    return DEFAULT_SCHEME.read_text(encoding="utf-8")


# -- scoring (pure) ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredMetric:
    code: str
    value: float | None
    volume: int
    points: float | None  # None: not scored (no data, too little, or no source)
    weight: float  # the scheme's weight
    contribution: float | None  # points × effective weight / 100
    basis: str
    params: dict[str, int | float | str]
    reason: str | None  # no_data | low_volume | no_source

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "value": self.value,
            "volume": self.volume,
            "points": self.points,
            "weight": self.weight,
            "contribution": self.contribution,
            "basis": self.basis,
            "params": dict(self.params),
            "reason": self.reason,
        }


def score_person(
    scheme: Scheme, group: Group, values: dict[str, MetricValue | None]
) -> tuple[float | None, list[ScoredMetric]]:
    """The person's score (0–100, None when less than ``min_scored_weight`` of the weight has data) and each
    metric's points. ``values[code]`` None means no source is registered for the code."""
    rows: list[tuple[MetricRule, MetricValue | None, float | None, str | None]] = []
    for rule in group.metrics:
        found = values.get(rule.code)
        if found is None:
            rows.append((rule, None, None, "no_source"))
        elif found.value is None:
            rows.append((rule, found, None, "no_data"))
        elif found.volume < rule.min_volume:
            rows.append((rule, found, None, "low_volume"))
        else:
            rows.append((rule, found, rule.points(found.value), None))
    scored_weight = sum(rule.weight for rule, _, points, _ in rows if points is not None)
    score = None
    if scored_weight > 0 and scored_weight >= scheme.min_scored_weight:
        score = round(sum(rule.weight * p for rule, _, p, _ in rows if p is not None) / scored_weight, 1)
    metrics = [
        ScoredMetric(
            code=rule.code,
            value=None if found is None else found.value,
            volume=0 if found is None else found.volume,
            points=points,
            weight=rule.weight,
            contribution=(
                round(points * rule.weight / scored_weight, 2) if points is not None and score is not None else None
            ),
            basis="" if found is None else found.basis,
            params={} if found is None else dict(found.params),
            reason=reason,
        )
        for rule, found, points, reason in rows
    ]
    return score, metrics


def percentiles(scores: dict[int, float]) -> dict[int, float]:
    """Each person's percentile rank among ``scores`` (share below plus half the ties, including oneself)."""
    ordered = sorted(scores.values())
    size = len(ordered)
    result = {}
    for key, own in scores.items():
        below = sum(1 for s in ordered if s < own)
        equal = sum(1 for s in ordered if s == own)
        result[key] = round(100.0 * (below + 0.5 * equal) / size, 1)
    return result


def distribution(scores: Sequence[float], width: int = 10) -> list[int]:
    """How many scores fall in each band of ``width`` points (0–9, 10–19, … 90–100)."""
    bands = [0] * (100 // width)
    for score in scores:
        bands[min(len(bands) - 1, int(score // width))] += 1
    return bands

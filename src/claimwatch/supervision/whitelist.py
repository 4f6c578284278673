"""The claim-service whitelist (理赔服务白名单, DESIGN M15): the rule as data, checked monthly from the KPI snapshot.

The rule (``defaults/supervision/whitelist.yaml``, validated with file and line) names the months (12) and the
conditions every one of those months must pass: a KPI at or better than its target (the timeliness indicators),
or strictly better than the industry's figure of that month (complaints per 10 000 policies below the 行业平均水平:
every insurer's complaints over every insurer's policies). :func:`compute_month` evaluates it for every insurer
and stores a :class:`~claimwatch.supervision.models.WhitelistStatus` per insurer and month: whether it qualifies,
the change from the month before (entered | exited | kept | out), the reason in words (zh and en) and the months
that decided it with their values, and records it in the insurer's audit chain with the rule's SHA-256.

Read models for the public page (:func:`latest_month`, :func:`statuses`, :func:`changes`) and an insurer's
history (:func:`history`) are here too. Nothing in this module opens a transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import sha256_hex
from claimwatch.config import PACKAGE_DIR
from claimwatch.db import utc_now
from claimwatch.errors import Invalid
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi.engine import BadPeriod, Period, Scope, compute
from claimwatch.kpi.loader import Kpi
from claimwatch.kpi.queries import format_target, format_value
from claimwatch.supervision.models import WhitelistStatus
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.yaml_source import ConfigFileError, Mapping, line_of
from claimwatch.yaml_source import Sequence as YamlSequence
from claimwatch.yaml_source import load as load_yaml

RULE_FILE = PACKAGE_DIR / "defaults" / "supervision" / "whitelist.yaml"
COMPARES = ("target", "industry")
MISSING = ("fail", "skip")
CHANGES = ("entered", "exited", "kept", "out")
MAX_MONTHS = 36
AUDIT_KIND = "supervision.whitelist"
_TOP_KEYS = {"code", "version", "title", "months", "conditions"}
_CONDITION_KEYS = {"kpi", "compare", "missing"}
# How many failing months a reason names before "and N more".
REASON_MONTHS = 3


class WhitelistRuleError(ConfigFileError):
    pass


@dataclass(frozen=True)
class Condition:
    kpi: Kpi
    compare: str  # target | industry
    missing: str  # fail | skip
    line: int = 0

    def bound(self, industry: float | None) -> float | None:
        return self.kpi.target if self.compare == "target" else industry

    def passes(self, value: float, bound: float) -> bool:
        """At or better than the target; strictly better than the industry, unless both are at the best a value
        can be (a month without any complaint: no insurer can be below the industry's zero)."""
        if self.compare == "target":
            return value >= bound if self.kpi.better == "higher" else value <= bound
        if value == bound == self._best():
            return True
        return value > bound if self.kpi.better == "higher" else value < bound

    def _best(self) -> float | None:
        if self.kpi.better == "lower":
            return 0.0
        return 100.0 if self.kpi.unit == "%" else None

    def describe(self, locale: str) -> str:
        name = self.kpi.name(locale)
        if self.compare == "target":
            target = format_target(self.kpi, self.kpi.target, locale)
            return f"{name}达到目标（{target}）" if locale == "zh" else f"{name} at target ({target})"
        if locale == "zh":
            return f"{name}{'高于' if self.kpi.better == 'higher' else '低于'}当月行业平均"
        return f"{name} {'above' if self.kpi.better == 'higher' else 'below'} the industry average of the month"


@dataclass(frozen=True)
class Rule:
    code: str
    version: int
    title_zh: str
    title_en: str
    months: int
    conditions: tuple[Condition, ...]
    sha256: str
    source: str

    def title(self, locale: str) -> str:
        return self.title_zh if locale == "zh" else self.title_en

    def describe(self, locale: str) -> str:
        """The rule in one sentence."""
        parts = [condition.describe(locale) for condition in self.conditions]
        if locale == "zh":
            return f"连续 {self.months} 个月每月：" + "；".join(parts) + "。"
        return f"Every month of the last {self.months}: " + "; ".join(parts) + "."


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> WhitelistRuleError:
    return WhitelistRuleError(source, line_of(node, key), problem)


def _condition(source: str, node: Any, catalogue: dict[str, Kpi]) -> Condition:
    if not isinstance(node, Mapping):
        raise WhitelistRuleError(source, line_of(node), "each condition is a mapping (kpi, compare, missing)")
    for key in node:
        if key not in _CONDITION_KEYS:
            known = ", ".join(sorted(_CONDITION_KEYS))
            raise _fail(source, node, f"unknown key {key!r} in a condition (known: {known})", key)
    code = node.get("kpi")
    kpi = catalogue.get(code) if isinstance(code, str) else None
    if kpi is None:
        raise _fail(source, node, f"kpi: unknown KPI {code!r} (not in the KPI catalogue)", "kpi")
    if not kpi.available:
        raise _fail(source, node, f"kpi: {code!r} has no data yet (source: pending)", "kpi")
    compare = node.get("compare")
    if compare not in COMPARES:
        raise _fail(source, node, f"compare must be one of {', '.join(COMPARES)}, not {compare!r}", "compare")
    if compare == "target" and kpi.target is None:
        raise _fail(
            source, node, f"compare: {code!r} has no target in the catalogue: compare with the industry", "compare"
        )
    if compare == "industry" and kpi.denominator is None:
        raise _fail(
            source, node, f"compare: {code!r} is a count: only a rate or a mean compares with the industry", "compare"
        )
    missing = node.get("missing", "fail")
    if missing not in MISSING:
        raise _fail(source, node, f"missing must be one of {', '.join(MISSING)}, not {missing!r}", "missing")
    return Condition(kpi, str(compare), str(missing), line_of(node) or 0)


def parse(text: str, source: str, catalogue: dict[str, Kpi] | None = None) -> Rule:
    """A whitelist rule; every error names ``source:line``."""
    doc = load_yaml(text, source, WhitelistRuleError)
    if not isinstance(doc, Mapping):
        raise WhitelistRuleError(source, 1, "a whitelist rule is a mapping (code, version, title, months, conditions)")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(source, doc, f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})", key)
    code = doc.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 32:
        raise _fail(source, doc, "'code' is required (text of at most 32 characters)", "code")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail(source, doc, f"'version' is a whole number from 1, not {version!r}", "version")
    title = doc.get("title")
    if (
        not isinstance(title, Mapping)
        or set(title) != {"zh", "en"}
        or not all(isinstance(title[k], str) and title[k].strip() for k in ("zh", "en"))
    ):
        raise _fail(source, doc, "'title' takes zh and en", "title")
    months = doc.get("months")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise _fail(source, doc, f"'months' is a whole number 1–{MAX_MONTHS}, not {months!r}", "months")
    entries = doc.get("conditions")
    if not isinstance(entries, YamlSequence) or not entries:
        raise _fail(source, doc, "'conditions' is a non-empty list", "conditions")
    known = catalogue if catalogue is not None else kpi_loader.by_code()
    conditions: list[Condition] = []
    for node in entries:
        condition = _condition(source, node, known)
        if any(c.kpi.code == condition.kpi.code for c in conditions):
            raise _fail(source, node, f"kpi: {condition.kpi.code!r} is named twice", "kpi")
        conditions.append(condition)
    return Rule(
        code=code.strip(),
        version=version,
        title_zh=str(title["zh"]).strip(),
        title_en=str(title["en"]).strip(),
        months=months,
        conditions=tuple(conditions),
        sha256=sha256_hex(text),
        source=source,
    )


def load(path: Path) -> Rule:
    return parse(path.read_text(encoding="utf-8"), str(path))


@lru_cache
def default_rule() -> Rule:
    return load(RULE_FILE)


# -- evaluation (pure over a snapshot connection) -----------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One condition in one month: ``status`` ok | fails | no_data | skipped (no data, and the rule skips it)."""

    kpi: str
    compare: str
    value: float | None
    bound: float | None
    status: str

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skipped")

    def as_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi,
            "compare": self.compare,
            "value": None if self.value is None else round(self.value, 4),
            "bound": None if self.bound is None else round(self.bound, 4),
            "status": self.status,
        }


@dataclass(frozen=True)
class MonthResult:
    month: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "ok": self.ok, "checks": [check.as_dict() for check in self.checks]}


@dataclass
class Values:
    """The rule's KPIs per insurer and month (``insurer[(tenant_id, kpi, month)]``) and the industry's."""

    insurer: dict[tuple[int, str, str], float | None]
    industry: dict[tuple[str, str], float | None]


def month_values(con: duckdb.DuckDBPyConnection, rule: Rule, periods: Sequence[Period], now: dt.datetime) -> Values:
    """Two passes of the KPI engine over the months: by insurer, and the whole industry pooled."""
    kpis = [condition.kpi for condition in rule.conditions]
    every = Scope(tenant_ids=None)
    by_tenant = compute(con, kpis, periods, every, ("tenant",), now)
    pooled = compute(con, kpis, periods, every, (), now)
    insurer = {(int(v.key[0]), v.kpi, v.period): v.value for v in by_tenant.values if v.key and v.key[0]}
    industry = {(v.kpi, v.period): v.value for v in pooled.values}
    return Values(insurer, industry)


def evaluate_month(rule: Rule, tenant_id: int, month: str, values: Values) -> MonthResult:
    checks = []
    for condition in rule.conditions:
        code = condition.kpi.code
        value = values.insurer.get((tenant_id, code, month))
        bound = condition.bound(values.industry.get((code, month)))
        if value is None or bound is None:
            status = "skipped" if condition.missing == "skip" else "no_data"
        else:
            status = "ok" if condition.passes(value, bound) else "fails"
        checks.append(Check(code, condition.compare, value, bound, status))
    return MonthResult(month, tuple(checks))


def qualifies(results: Sequence[MonthResult], months: int) -> bool:
    return len(results) == months and all(result.ok for result in results)


def change_of(now: bool, before: bool) -> str:
    if now:
        return "kept" if before else "entered"
    return "exited" if before else "out"


def _check_words(check: Check, catalogue: dict[str, Kpi], locale: str) -> str:
    kpi = catalogue.get(check.kpi)
    if kpi is None:
        return check.kpi
    name = kpi.name(locale)
    if check.status == "no_data":
        return f"{name}无数据" if locale == "zh" else f"{name}: no data"
    value = format_value(kpi, check.value, locale)
    if check.compare == "target":
        target = format_target(kpi, check.bound, locale)
        return f"{name} {value}，未达目标 {target}" if locale == "zh" else f"{name} {value} misses its target {target}"
    bound = format_value(kpi, check.bound, locale)
    if locale == "zh":
        return f"{name} {value}，未{'高于' if kpi.better == 'higher' else '低于'}行业 {bound}"
    return f"{name} {value} not {'above' if kpi.better == 'higher' else 'below'} the industry's {bound}"


def reason(rule: Rule, change: str, results: Sequence[MonthResult], locale: str) -> str:
    """Why an insurer is on the whitelist or not, naming the months that decided it."""
    catalogue = {condition.kpi.code: condition.kpi for condition in rule.conditions}
    first, last = (results[0].month, results[-1].month) if results else ("", "")
    if locale == "zh":
        lead = {"entered": "进入白名单：", "kept": "保持在白名单：", "exited": "退出白名单：", "out": "未入白名单："}[
            change
        ]
    else:
        lead = {
            "entered": "Entered the whitelist: ",
            "kept": "Stays on the whitelist: ",
            "exited": "Left the whitelist: ",
            "out": "Not on the whitelist: ",
        }[change]
    if change in ("entered", "kept"):
        if locale == "zh":
            return f"{lead}{first} 至 {last} 连续 {len(results)} 个月每月均满足全部条件。"
        return f"{lead}all {len(results)} months {first} – {last} met every condition."
    failing = [result for result in results if not result.ok]
    if not failing and len(results) < rule.months:
        if locale == "zh":
            return f"{lead}仅有 {len(results)} 个月可评，需连续 {rule.months} 个月。"
        return f"{lead}only {len(results)} of the {rule.months} months can be assessed."
    parts = []
    for result in failing[-REASON_MONTHS:][::-1]:  # the latest first
        words = ("；" if locale == "zh" else "; ").join(
            _check_words(check, catalogue, locale) for check in result.checks if not check.ok
        )
        parts.append(f"{result.month}：{words}" if locale == "zh" else f"{result.month}: {words}")
    more = len(failing) - len(parts)
    text = lead + ("。" if locale == "zh" else ". ").join(parts)
    if more > 0:
        text += f"；另有 {more} 个月未达标" if locale == "zh" else f"; and {more} more month{'s' if more > 1 else ''}"
    return text + ("。" if locale == "zh" else ".")


def reason_text(status: WhitelistStatus, locale: str) -> str:
    """The stored reason in ``locale`` (stored as JSON ``{"zh": …, "en": …}``)."""
    try:
        found = json.loads(status.reason)
    except ValueError:
        return status.reason
    if isinstance(found, dict):
        return str(found.get(locale) or found.get("en") or "")
    return status.reason


# -- the monthly computation ---------------------------------------------------------------------------------


def parse_month(text: str | Period) -> Period:
    if isinstance(text, Period):
        if text.kind != "month":
            raise Invalid("month", f"a month like 2026-11, not {text.label}")
        return text
    try:
        period = Period.parse(str(text)[:8])
    except BadPeriod as exc:
        raise Invalid("month", f"month {text!r} must be YYYY-MM") from exc
    if period.kind != "month":
        raise Invalid("month", f"month {text!r} must be YYYY-MM")
    return period


def last_complete_month(local_now: dt.datetime) -> Period:
    return Period.containing(local_now.date()).shift(-1)


def compute_month(
    session: Session,
    month: str | Period,
    *,
    actor: str = "system",
    rule: Rule | None = None,
    root: Path | None = None,
) -> list[WhitelistStatus]:
    """Every insurer's whitelist standing for ``month`` (a month the snapshot has seen end), stored (replacing an
    earlier computation of that month) and recorded in each insurer's audit chain. The change is judged against
    the stored standing of the month before, or, when that month was never computed, against the same rule over
    the months before. The session must be allowed to write every insurer's rows (a system context)."""
    rule = rule or default_rule()
    period = parse_month(month)
    with kpi_service.opened(root) as snap:
        if period.end > snap.local_now.date():
            raise Invalid(
                "month",
                f"{period.label} has not ended in the KPI snapshot taken at {snap.local_now:%Y-%m-%d %H:%M}: "
                "take a snapshot after the month ends",
            )
        window = period.trailing(rule.months + 1)  # the month before's window too
        values = month_values(snap.con, rule, window, snap.local_now)
    label = period.label
    previous_label = period.shift(-1).label
    rows = session.scalars(select(WhitelistStatus).where(WhitelistStatus.month.in_([label, previous_label])))
    existing: dict[tuple[int, str], WhitelistStatus] = {(row.tenant_id, row.month): row for row in rows}
    # Months the insurer has no data at all for, before its first month with data, cannot be assessed: the
    # window then has fewer months than the rule asks.
    first_seen: dict[int, str] = {}
    for tenant_id, _code, month_label in values.insurer:
        if month_label < first_seen.get(tenant_id, "9999-99"):
            first_seen[tenant_id] = month_label
    saved: list[WhitelistStatus] = []
    for tenant in tenancy_repository.all_tenants(session):
        start = first_seen.get(tenant.id, label)
        results = [evaluate_month(rule, tenant.id, p.label, values) for p in window if p.label >= start]
        current = [r for r in results if r.month != window[0].label]
        before = [r for r in results if r.month != label]
        now_ok = qualifies(current, rule.months)
        stored_before = existing.get((tenant.id, previous_label))
        was_ok = stored_before.qualifies if stored_before is not None else qualifies(before, rule.months)
        change = change_of(now_ok, was_ok)
        words = {locale: reason(rule, change, current, locale) for locale in ("zh", "en")}
        row = existing.get((tenant.id, label))
        if row is None:
            row = WhitelistStatus(tenant_id=tenant.id, month=label)
            session.add(row)
        row.qualifies = now_ok
        row.change = change
        row.reason = json.dumps(words, ensure_ascii=False)
        row.months = [result.as_dict() for result in current]
        row.rule_sha256 = rule.sha256
        row.computed_at = utc_now()
        audit_service.record(
            session,
            tenant.id,
            AUDIT_KIND,
            label,
            actor,
            {
                "month": label,
                "qualifies": now_ok,
                "change": change,
                "rule": rule.code,
                "rule_version": rule.version,
                "rule_sha256": rule.sha256,
                "failing_months": [r.month for r in current if not r.ok],
            },
        )
        saved.append(row)
    session.flush()
    return saved


# -- read models ---------------------------------------------------------------------------------------------


def computed_months(session: Session, limit: int = 24) -> list[str]:
    rows = session.scalars(select(WhitelistStatus.month).distinct().order_by(WhitelistStatus.month.desc()).limit(limit))
    return list(rows)


def latest_month(session: Session) -> str | None:
    found = computed_months(session, 1)
    return found[0] if found else None


@dataclass(frozen=True)
class Standing:
    tenant_id: int
    code: str
    name: str
    month: str
    qualifies: bool
    change: str
    reason: str
    months: list[dict[str, Any]]
    rule_sha256: str


def _standing(row: WhitelistStatus, names: dict[int, tuple[str, str]], locale: str) -> Standing:
    code, name = names.get(row.tenant_id, (str(row.tenant_id), ""))
    return Standing(
        row.tenant_id, code, name, row.month, row.qualifies, row.change, reason_text(row, locale), row.months,
        row.rule_sha256,
    )  # fmt: skip


def _names(session: Session) -> dict[int, tuple[str, str]]:
    return {tenant_id: (code, name) for tenant_id, code, name in tenancy_repository.tenant_codes_and_names(session)}


def statuses(session: Session, month: str, locale: str) -> list[Standing]:
    """Every insurer's standing in ``month``: those on the whitelist first, then by code."""
    names = _names(session)
    rows = session.scalars(select(WhitelistStatus).where(WhitelistStatus.month == month))
    found = [_standing(row, names, locale) for row in rows]
    return sorted(found, key=lambda s: (not s.qualifies, s.code))


def changes(session: Session, last_month: str, count: int = 12, locale: str = "zh") -> list[Standing]:
    """Entries and exits of the ``count`` months up to ``last_month``, the latest first."""
    first = parse_month(last_month).shift(-(count - 1)).label
    names = _names(session)
    rows = session.scalars(
        select(WhitelistStatus)
        .where(WhitelistStatus.month >= first, WhitelistStatus.month <= last_month)
        .where(WhitelistStatus.change.in_(("entered", "exited")))
    )
    found = [_standing(row, names, locale) for row in rows]
    return sorted(found, key=lambda s: (s.month, s.code), reverse=True)


def history(session: Session, tenant_id: int, locale: str, count: int = 12) -> list[Standing]:
    """An insurer's last ``count`` computed months, the latest first."""
    names = _names(session)
    rows = session.scalars(
        select(WhitelistStatus)
        .where(WhitelistStatus.tenant_id == tenant_id)
        .order_by(WhitelistStatus.month.desc())
        .limit(count)
    )
    return [_standing(row, names, locale) for row in rows]


def standing(session: Session, tenant_id: int, month: str | None, locale: str) -> Standing | None:
    """One insurer's standing in ``month`` (default: its latest)."""
    query = select(WhitelistStatus).where(WhitelistStatus.tenant_id == tenant_id)
    if month:
        query = query.where(WhitelistStatus.month == month)
    row = session.scalars(query.order_by(WhitelistStatus.month.desc()).limit(1)).first()
    return None if row is None else _standing(row, _names(session), locale)

"""Scorecard flags (考核预警): a provider whose month falls below the thresholds of
``defaults/providers/scorecard.yaml`` is flagged for review (:class:`ProviderFlag`, one per provider and month),
and a reviewer decides: keep, warn, or suspend (through the register's ``set_status``: a suspended provider gets
no new tasks). Every flag and every decision is in the audit chain.

The thresholds are data, read with file:line errors; ``CLAIMWATCH_POLICY_OVERRIDES_DIR/providers/scorecard.yaml``
replaces them for the platform when present.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.config import PACKAGE_DIR, get_settings
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Invalid, NotFound
from claimwatch.providers import scorecards
from claimwatch.providers import service as provider_service
from claimwatch.providers.models import Provider, ProviderFlag
from claimwatch.yaml_source import ConfigFileError, Mapping, line_of
from claimwatch.yaml_source import load as load_yaml

RULES_FILE = PACKAGE_DIR / "defaults" / "providers" / "scorecard.yaml"
FIGURES = ("on_time_rate", "standard_rate", "upheld_rate", "complaints", "findings", "turnaround_days")
RATES = ("on_time_rate", "standard_rate", "upheld_rate")
DECISIONS = {"keep": "kept", "warn": "warned", "suspend": "suspended"}
OPEN = "open"


class ScorecardRulesError(ConfigFileError):
    pass


@dataclass(frozen=True)
class Rule:
    code: str
    figure: str
    below: float | None
    above: float | None
    label_zh: str
    label_en: str

    def label(self, locale: str) -> str:
        return self.label_zh if locale == "zh" else self.label_en

    def missed(self, value: float | None) -> bool:
        if value is None:
            return False
        return (self.below is not None and value < self.below) or (self.above is not None and value > self.above)


@dataclass(frozen=True)
class Rules:
    min_tasks: int
    rules: tuple[Rule, ...]

    def by_code(self) -> dict[str, Rule]:
        return {rule.code: rule for rule in self.rules}


def parse_rules(text: str, source: str) -> Rules:
    document = load_yaml(text, source, ScorecardRulesError)

    def fail(node: Any, message: str, key: str | None = None) -> ScorecardRulesError:
        return ScorecardRulesError(source, line_of(node, key), message)

    if not isinstance(document, Mapping):
        raise fail(document, "the file must be a mapping with min_tasks and rules")
    for key in document:
        if key not in ("min_tasks", "rules"):
            raise fail(document, f"unknown key '{key}' (allowed: min_tasks, rules)", key)
    min_tasks = document.get("min_tasks", 1)
    if not isinstance(min_tasks, int) or isinstance(min_tasks, bool) or min_tasks < 1:
        raise fail(document, "min_tasks must be a whole number ≥ 1", "min_tasks")
    entries = document.get("rules")
    if not isinstance(entries, list) or not entries:
        raise fail(document, "'rules' must be a non-empty list", "rules")
    rules: list[Rule] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise fail(entries, "each rule must be a mapping with code, figure, below or above, label")
        for key in entry:
            if key not in ("code", "figure", "below", "above", "label"):
                raise fail(entry, f"unknown key '{key}' (allowed: code, figure, below, above, label)", key)
        code = entry.get("code")
        if not isinstance(code, str) or not code or code in {rule.code for rule in rules}:
            raise fail(entry, "each rule needs a code of its own", "code")
        figure = entry.get("figure")
        if figure not in FIGURES:
            raise fail(entry, f"'figure' must be one of {', '.join(FIGURES)}, not {figure!r}", "figure")
        limits = {}
        for key in ("below", "above"):
            value = entry.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
                raise fail(entry, f"'{key}' must be a number ≥ 0", key)
            limits[key] = None if value is None else float(value)
        if (limits["below"] is None) == (limits["above"] is None):
            raise fail(entry, "a rule has exactly one of below and above", "code")
        label = entry.get("label")
        if not isinstance(label, Mapping) or not all(
            isinstance(label.get(k), str) and label.get(k) for k in ("zh", "en")
        ):
            raise fail(entry, "'label' must be a mapping with zh and en", "label")
        rules.append(Rule(code, str(figure), limits["below"], limits["above"], label["zh"], label["en"]))
    return Rules(min_tasks, tuple(rules))


def _rules_path() -> Path:
    override = get_settings().policy_overrides_dir
    if override is not None:
        candidate = Path(override) / "providers" / "scorecard.yaml"
        if candidate.is_file():
            return candidate
    return RULES_FILE


@lru_cache
def _load(path: str) -> Rules:
    return parse_rules(Path(path).read_text(encoding="utf-8"), path)


def rules() -> Rules:
    return _load(str(_rules_path()))


def missed_rules(found: scorecards.Figures, config: Rules) -> list[str]:
    """The codes of the rules a month's figures miss. A rate is judged only on enough tasks (``min_tasks``):
    the on-time and standard rates on the tasks due with a verdict, the upheld rate on the month's reports."""
    missed = []
    for rule in config.rules:
        if rule.figure in ("on_time_rate", "standard_rate") and found.judged < config.min_tasks:
            continue
        if rule.figure == "upheld_rate" and found.reported < config.min_tasks:
            continue
        if rule.missed(found.figure(rule.figure)):
            missed.append(rule.code)
    return missed


def evaluate(
    session: Session, tenant_id: int, period: str, *, now: dt.datetime | None = None, actor: str = "system"
) -> list[ProviderFlag]:
    """Flags the providers whose month ``period`` misses a threshold; returns the flags written or updated.

    Idempotent: a flag still open has its figures and reasons brought up to date (and is dropped from the result
    when nothing changed); a reviewed flag stays as decided. Each new flag is recorded in the audit chain."""
    now = now or utc_now()
    config = rules()
    existing = {
        flag.provider_id: flag for flag in session.scalars(select(ProviderFlag).where(ProviderFlag.period == period))
    }
    written: list[ProviderFlag] = []
    for card in scorecards.compute(session, tenant_id, period):
        reasons = missed_rules(card.figures, config)
        if not reasons:
            continue
        figures = card.figures.as_dict() | {
            "peer_median_on_time": card.peers.median_on_time,
            "peer_rank": card.peers.rank,
            "peers": card.peers.size,
        }
        flag = existing.get(card.provider.id)
        if flag is not None:
            if flag.status != OPEN or (flag.reasons == reasons and flag.figures == figures):
                continue
            flag.figures, flag.reasons = figures, reasons
            written.append(flag)
            continue
        flag = ProviderFlag(
            tenant_id=tenant_id,
            provider_id=card.provider.id,
            period=period,
            figures=figures,
            reasons=reasons,
            status=OPEN,
            flagged_at=now,
        )
        session.add(flag)
        session.flush()
        audit_service.record(
            session,
            tenant_id,
            "provider.flagged",
            card.provider.code,
            actor,
            {"provider": card.provider.code, "period": period, "reasons": reasons, "figures": figures},
        )
        written.append(flag)
    session.flush()
    return written


def get_flag(session: Session, flag_id: int) -> ProviderFlag:
    flag = session.get(ProviderFlag, flag_id)
    if flag is None:
        raise NotFound("flag", f"no provider flag {flag_id}")
    return flag


def review(
    session: Session,
    principal: Principal,
    flag_id: int,
    decision: str,
    note: str | None,
    *,
    at: dt.datetime | None = None,
) -> ProviderFlag:
    """The review of an open flag: ``keep`` (no action), ``warn`` (recorded warning) or ``suspend`` (the provider
    is suspended with the note as its reason: no new tasks). A note is required to warn or suspend. Audited."""
    principal.require(Permission.REVIEW_PROVIDERS)
    flag = get_flag(session, flag_id)
    if decision not in DECISIONS:
        raise Invalid("decision", f"decision {decision!r} must be one of {', '.join(DECISIONS)}")
    note = (note or "").strip()[:4000] or None
    if decision != "keep" and note is None:
        raise Invalid("note", f"say why ({decision}): the note is the provider's reason")
    if flag.status != OPEN:
        raise Conflict("status", f"this flag was already reviewed ({flag.status})")
    provider = session.get(Provider, flag.provider_id)
    if provider is None:
        raise NotFound("provider", f"no provider {flag.provider_id}")
    if decision == "suspend" and provider.status != "suspended":
        provider_service.set_status(session, principal, provider.code, "suspended", note or "", at=at)
    flag.status = DECISIONS[decision]
    flag.reviewed_by = principal.actor
    flag.reviewed_at = at or utc_now()
    flag.review_note = note
    audit_service.record(
        session,
        flag.tenant_id,
        "provider.flag_reviewed",
        provider.code,
        principal.actor,
        {"provider": provider.code, "period": flag.period, "decision": decision, "note": note},
    )
    session.flush()
    return flag


def open_flags(session: Session) -> list[tuple[ProviderFlag, Provider]]:
    """Open flags, newest month first, then by provider code (the tenant's, or every tenant's for a regulator)."""
    rows = session.execute(
        select(ProviderFlag, Provider)
        .join(Provider, Provider.id == ProviderFlag.provider_id)
        .where(ProviderFlag.status == OPEN)
        .order_by(ProviderFlag.period.desc(), Provider.code)
    )
    return [(flag, provider) for flag, provider in rows]


def recent_reviewed(session: Session, limit: int = 20) -> list[tuple[ProviderFlag, Provider]]:
    rows = session.execute(
        select(ProviderFlag, Provider)
        .join(Provider, Provider.id == ProviderFlag.provider_id)
        .where(ProviderFlag.status != OPEN)
        .order_by(ProviderFlag.reviewed_at.desc())
        .limit(limit)
    )
    return [(flag, provider) for flag, provider in rows]

"""What the triage pages show (read models; the mode switch delegates to the service): the claim page's triage
and risk panel, and the rule-set versions with the monitor-mode comparison. The catastrophe pages read
:mod:`claimwatch.triage.catastrophe_queries`.

Labels are ``N_`` msgids translated here; a rule's name is its YAML's, in the page's language."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Principal
from claimwatch.cases.models import Claim
from claimwatch.cases.repository import ROUTES
from claimwatch.db import utc_now
from claimwatch.risk import page_queries as risk_page_queries
from claimwatch.triage import catastrophe_queries, repository
from claimwatch.triage import loader as triage_loader
from claimwatch.triage import service as triage_service
from claimwatch.triage.models import TriageDecision, TriageRuleSet
from claimwatch.triage.rules import RuleSet
from claimwatch.web.i18n import N_, translate
from claimwatch.yaml_source import ConfigFileError

NORMAL, FAST_TRACK, GREEN, MANUAL_REVIEW = ROUTES
ROUTE_LABELS: dict[str, str] = {
    NORMAL: N_("Normal"),
    FAST_TRACK: N_("Fast track (三免)"),
    GREEN: N_("Green channel"),
    MANUAL_REVIEW: N_("Manual review"),
}
PRIORITY_LABELS: dict[int, str] = {
    0: N_("Normal"),
    1: N_("Vulnerable customer"),
    2: N_("Major case"),
    3: N_("Catastrophe"),
}
MODE_LABELS: dict[str, str] = {"monitor": N_("Monitor only"), "active": N_("Active")}
VERSIONS_SHOWN = 50


def route_label(route: str | None, locale: str) -> str:
    return translate(locale, ROUTE_LABELS.get(route or NORMAL, route or NORMAL))


# --- the claim page's panel --------------------------------------------------------------------------------


def rules_url(rule_set_id: int) -> str:
    return f"/triage/rules?set={rule_set_id}"


def _rule_names(rule_set: TriageRuleSet | None, locale: str) -> dict[str, str]:
    """Each rule's name in ``locale`` from the version's own content (the names it was decided under)."""
    if rule_set is None:
        return {}
    parsed = _parsed(rule_set)
    return {} if parsed is None else {rule.code: rule.label(locale) for rule in parsed.rules}


def _parsed(rule_set: TriageRuleSet) -> RuleSet | None:
    """A stored version parsed again (cached by the loader); None if it no longer parses (a fact removed since),
    in which case the pages show the rules' codes."""
    try:
        return triage_loader.parsed(rule_set.content, rule_set.source or "triage_rule_sets", rule_set.mode)
    except ConfigFileError:
        return None


def _fired(items: list[dict[str, Any]] | None, names: dict[str, str], locale: str) -> list[dict[str, Any]]:
    return [
        {
            "code": str(item.get("code", "")),
            "name": names.get(str(item.get("code", "")), str(item.get("code", ""))),
            "route": item.get("route") or NORMAL,
            "route_label": route_label(item.get("route"), locale),
        }
        for item in items or []
    ]


def _decision(session: Session, decision_id: int) -> TriageDecision | None:
    # A query, not session.get: the tenant scoping of db.py applies.
    return session.execute(select(TriageDecision).where(TriageDecision.id == decision_id)).scalar_one_or_none()


def claim_panel(session: Session, claim: Claim, locale: str, with_risk: bool) -> dict[str, Any] | None:
    """The claim's route, priority, latest decision (rules fired by name, would-be route in monitor mode, the
    rule-set version), its catastrophe event (with the advance-payment prompt while the claim is open) and, with
    ``with_risk`` (the viewer may see risk), its latest risk score. None when triage never ran on the claim."""
    decision = _decision(session, claim.triage_decision_id) if claim.triage_decision_id else None
    risk = risk_page_queries.claim_risk(session, claim, locale) if with_risk else None
    event = catastrophe_queries.claim_catastrophe(session, claim, locale)
    if decision is None and risk is None and event is None and claim.route == NORMAL:
        return None
    rule_set = repository.rule_set(session, decision.rule_set_id) if decision is not None else None
    monitor = decision is not None and decision.mode == "monitor"
    return {
        "route": claim.route,
        "route_label": route_label(claim.route, locale),
        "priority": claim.priority,
        "priority_label": translate(locale, PRIORITY_LABELS.get(claim.priority, PRIORITY_LABELS[0])),
        "vulnerable": claim.vulnerable,
        "would_be_route": decision.would_be_route if monitor and decision is not None else None,
        "would_be_label": route_label(decision.would_be_route, locale) if decision is not None else "",
        "decided_at": decision.decided_at if decision is not None else None,
        "rule_set_version": rule_set.version if rule_set is not None else None,
        "rule_set_url": rules_url(rule_set.id) if rule_set is not None else "",
        "rule_set_mode": rule_set.mode if rule_set is not None else "",
        "rule_set_mode_label": translate(locale, MODE_LABELS.get(rule_set.mode, rule_set.mode)) if rule_set else "",
        "fired": _fired(decision.fired if decision else None, _rule_names(rule_set, locale), locale),
        "note": decision.reason if decision is not None else None,
        "catastrophe": event,
        "risk": risk,
    }


# --- rule-set versions and the monitor-mode comparison -----------------------------------------------------


def _version(row: TriageRuleSet, current_id: int | None, locale: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "version": row.version,
        "url": rules_url(row.id),
        "mode": row.mode,
        "mode_label": translate(locale, MODE_LABELS.get(row.mode, row.mode)),
        "rule_count": row.rule_count,
        "digest": row.digest,
        "source": row.source,
        "loaded_at": row.loaded_at,
        "loaded_by": row.loaded_by,
        "active_from": row.active_from,
        "current": row.id == current_id,
    }


def _rules(row: TriageRuleSet, locale: str) -> list[dict[str, Any]]:
    parsed = _parsed(row)
    if parsed is None:
        return []
    return [
        {
            "code": rule.code,
            "name": rule.label(locale),
            "route": rule.route,
            "route_label": route_label(rule.route, locale),
            "priority_label": translate(locale, PRIORITY_LABELS[rule.priority]) if rule.priority else "",
            "when": rule.when.describe(),
        }
        for rule in parsed.rules
    ]


def comparison(session: Session, since: dt.datetime, until: dt.datetime, locale: str) -> dict[str, Any]:
    """The service's monitor-mode comparison over [since, until) (:func:`triage.service.comparison`), labelled:
    per rule, how often it would fire and decide, how many of those claims got that route in fact, and what
    became of them; the would-be × actual route matrix."""
    found = triage_service.comparison(session, since, until)
    names: dict[str, str] = {}
    for row in repository.rule_sets(session, VERSIONS_SHOWN):
        names = _rule_names(row, locale) | names  # the newest version's name wins
    rules = [
        stats
        | {
            "name": names.get(stats["code"], stats["code"]),
            "route_label": route_label(stats["route"], locale),
            "same": stats["actual_routes"].get(stats["route"], 0),
        }
        for stats in found["rules"]
    ]
    agreement = found["agreement"]
    return found | {
        "rules": rules,
        "differ": found["decisions"] - round((agreement or 0) * found["decisions"]),
        "agreement_pct": None if agreement is None else round(agreement * 100, 1),
        "modes": [(mode, translate(locale, MODE_LABELS.get(mode, mode)), n) for mode, n in found["modes"].items()],
        "routes": [(route, route_label(route, locale)) for route in ROUTES],
    }


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


def rules_page(
    session: Session,
    chosen: int | None,
    since: dt.date,
    until: dt.date,
    zone: ZoneInfo,
    locale: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The versions newest first (the one in force marked), the chosen version's rules (default: the one in
    force) and the comparison of the decisions taken over the local days ``since``–``until``."""
    now = now or utc_now()
    rows = repository.rule_sets(session, VERSIONS_SHOWN)
    current = repository.rule_set_in_force(session, now)
    selected = repository.rule_set(session, chosen) if chosen is not None else current
    page: dict[str, Any] = {
        "versions": [_version(row, current.id if current else None, locale) for row in rows],
        "selected": None,
        "comparison": None,
        "since": since.isoformat(),
        "until": until.isoformat(),
    }
    if selected is not None:
        page["selected"] = _version(selected, current.id if current else None, locale) | {
            "rules": _rules(selected, locale)
        }
    start, end = _local_midnight(since, zone), _local_midnight(until + dt.timedelta(days=1), zone)
    page["comparison"] = comparison(session, start, end, locale) if rows else None
    return page


def set_mode(session: Session, principal: Principal, mode: str) -> int:
    """Switch the version in force to ``mode`` (a new version row, audited by the service); the row's id."""
    return int(triage_service.set_mode(session, principal, mode).id)

"""Tasks a claim sends by itself (``defaults/providers/task_rules.yaml``): when a claim of some lines enters a
state (with a reported amount of at least …), a task of a kind goes to a provider chosen by the rule — the least
busy provider that may take it for the claim's region and line, or the one the claim's report names (a hospital,
a repair shop). Read with the configuration reader (file:line errors); an insurer's own file replaces the bundled
one whole (``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/provider_rules/<TENANT_CODE>.yaml``).

:func:`on_case_events` runs in the case-event transaction (``providers.subscriptions``). A rule that finds no
provider, or whose task is refused (the provider was suspended meanwhile, the calendar year is missing), sends
nothing and leaves the claim's change alone: it is logged, and staff can send the task by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases.events import CaseChange
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.errors import Problem
from claimwatch.providers import loader, queries, task_service
from claimwatch.providers import service as provider_service
from claimwatch.providers.models import Provider, ProviderTask
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.workflow import service as workflow_service
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

log = structlog.get_logger("claimwatch.providers.rules")

RULES_FILE = PACKAGE_DIR / "defaults" / "providers" / "task_rules.yaml"
OVERRIDES_SUBDIR = "provider_rules"
LEAST_BUSY, FROM_REPORT = "least_busy", "from_report"
CHOOSERS = (LEAST_BUSY, FROM_REPORT)
_RULE_KEYS = {"code", "name", "when", "send", "enabled"}
_WHEN_KEYS = {"lines", "enters", "amount_at_least"}
_SEND_KEYS = {"kind", "provider", "report_field", "instructions"}
# A task of the kind in one of these states means the claim has it already.
_ENDED = (task_service.CANCELLED, task_service.DECLINED)


class TaskRuleError(ConfigFileError):
    pass


@dataclass(frozen=True)
class TaskRule:
    code: str
    name_zh: str
    name_en: str
    lines: frozenset[str]
    enters: str
    amount_at_least_fen: int | None
    kind: str
    provider: str  # least_busy | from_report
    report_field: str | None
    instructions: str | None
    enabled: bool = True
    source: str = ""

    def matches(self, change: CaseChange) -> bool:
        if not self.enabled or change.line not in self.lines:
            return False
        if change.to_status != self.enters or change.from_status == change.to_status:
            return False
        if self.amount_at_least_fen is not None:
            return change.amount_fen is not None and change.amount_fen >= self.amount_at_least_fen
        return True


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> TaskRuleError:
    return TaskRuleError(source, line_of(node, key), problem)


def _rule(source: str, node: Any, kinds: set[str]) -> TaskRule:
    if not isinstance(node, Mapping):
        raise TaskRuleError(source, line_of(node), "each rule must be a mapping")
    unknown = sorted(set(node) - _RULE_KEYS)
    if unknown:
        raise _fail(source, node, f"unknown keys {unknown} (known: {sorted(_RULE_KEYS)})", unknown[0])
    code = node.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        raise _fail(source, node, "code must be a text of at most 64 characters", "code")
    name = node.get("name")
    if not isinstance(name, Mapping) or not all(isinstance(name.get(k), str) and name.get(k) for k in ("zh", "en")):
        raise _fail(source, node, "name must give zh and en", "name")
    when, send = node.get("when"), node.get("send")
    if not isinstance(when, Mapping):
        raise _fail(source, node, "when must be a mapping (lines, enters, amount_at_least)", "when")
    if not isinstance(send, Mapping):
        raise _fail(source, node, "send must be a mapping (kind, provider, …)", "send")
    for mapping, known in ((when, _WHEN_KEYS), (send, _SEND_KEYS)):
        extra = sorted(set(mapping) - known)
        if extra:
            raise _fail(source, mapping, f"unknown keys {extra} (known: {sorted(known)})", extra[0])
    workflows = workflow_service.registry()
    lines = when.get("lines")
    if not isinstance(lines, Sequence) or not lines or any(line not in workflows for line in lines):
        raise _fail(source, when, f"lines must list lines of business (known: {', '.join(sorted(workflows))})", "lines")
    enters = when.get("enters")
    if not isinstance(enters, str) or any(enters not in workflows[line].states for line in lines):
        raise _fail(source, when, f"enters must be a state of every listed line, not {enters!r}", "enters")
    amount = when.get("amount_at_least")
    amount_fen: int | None = None
    if amount is not None:
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            value = Decimal(-1)
        if isinstance(amount, bool) or value < 0:
            raise _fail(source, when, f"amount_at_least must be an amount in CNY, not {amount!r}", "amount_at_least")
        amount_fen = int(value * 100)
    kind = send.get("kind")
    if kind not in kinds:
        raise _fail(source, send, f"unknown task kind {kind!r} (known: {', '.join(sorted(kinds))})", "kind")
    chooser = send.get("provider")
    if chooser not in CHOOSERS:
        raise _fail(source, send, f"provider must be one of {', '.join(CHOOSERS)}, not {chooser!r}", "provider")
    report_field = send.get("report_field")
    if chooser == FROM_REPORT and not (isinstance(report_field, str) and report_field):
        raise _fail(source, send, "from_report needs report_field (the report detail naming the provider)", "provider")
    instructions = send.get("instructions")
    if instructions is not None and (not isinstance(instructions, str) or len(instructions) > 2000):
        raise _fail(source, send, "instructions must be a text of at most 2000 characters", "instructions")
    enabled = node.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(source, node, "enabled must be true or false", "enabled")
    return TaskRule(
        code=code.strip(),
        name_zh=name["zh"],
        name_en=name["en"],
        lines=frozenset(lines),
        enters=enters,
        amount_at_least_fen=amount_fen,
        kind=str(kind),
        provider=str(chooser),
        report_field=report_field if chooser == FROM_REPORT else None,
        instructions=instructions,
        enabled=enabled,
        source=f"{source}:{line_of(node)}",
    )


def parse(text: str, source: str, kinds: set[str] | None = None) -> list[TaskRule]:
    """A rule file: ``version`` and ``rules``; every error names file and line."""
    known = kinds if kinds is not None else set(loader.base_catalogue().kinds)
    doc = load_yaml(text, source, TaskRuleError)
    if not isinstance(doc, Mapping) or "rules" not in doc or set(doc) - {"version", "rules"}:
        raise TaskRuleError(source, 1, "a task rule file is a mapping with 'version' and 'rules'")
    entries = doc["rules"]
    if not isinstance(entries, Sequence):
        raise _fail(source, doc, "'rules' must be a list", "rules")
    rules: list[TaskRule] = []
    seen: set[str] = set()
    for node in entries:
        rule = _rule(source, node, known)
        if rule.code in seen:
            raise _fail(source, node, f"duplicate rule {rule.code!r}", "code")
        seen.add(rule.code)
        rules.append(rule)
    return rules


@lru_cache
def base_rules() -> tuple[TaskRule, ...]:
    return tuple(parse(RULES_FILE.read_text(encoding="utf-8"), str(RULES_FILE)))


@lru_cache(maxsize=64)
def _cached(path: Path, _mtime: int) -> tuple[TaskRule, ...]:
    return tuple(parse(path.read_text(encoding="utf-8"), str(path)))


def rules_for(tenant_code: str | None) -> tuple[TaskRule, ...]:
    path = tenant_override(OVERRIDES_SUBDIR, tenant_code)
    return _cached(path, path.stat().st_mtime_ns) if path is not None else base_rules()


# -- running ----------------------------------------------------------------------------------------------


def _least_busy(
    session: Session,
    tenant_id: int,
    rule: TaskRule,
    claim: Claim,
    serving: dict[tuple[str, str | None, str], list[Provider]],
) -> Provider | None:
    """``serving``: the candidates already found in this batch, by (kind, region, line); the open-task counts are
    read each time, since a task sent earlier in the batch makes its provider busier."""
    key = (rule.kind, claim.region_code, claim.line)
    if key not in serving:
        serving[key] = provider_service.serving(
            session, tenant_id, kind=rule.kind, region=claim.region_code, line=claim.line
        )
    candidates = serving[key]
    if not candidates:
        return None
    counts = queries.open_task_counts(session, [p.id for p in candidates])
    return min(candidates, key=lambda p: (counts.get(p.id, 0), p.code))


def _reported_details(session: Session, claim_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The details of each claim's report (its ``reported`` event's data), one query for the batch."""
    found: dict[int, dict[str, Any]] = {}
    if not claim_ids:
        return found
    rows = session.execute(
        select(CaseEvent.claim_id, CaseEvent.data)
        .where(CaseEvent.claim_id.in_(sorted(claim_ids)), CaseEvent.event_type == "reported")
        .order_by(CaseEvent.id)
    )
    for claim_id, raw in rows:
        if claim_id in found:
            continue  # the first report counts
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        details = data.get("details") if isinstance(data, dict) else None
        found[claim_id] = details if isinstance(details, dict) else {}
    return found


def _named(rule: TaskRule, details: dict[str, Any]) -> str | None:
    """The provider code or name the claim's report gives in the rule's field, if any."""
    named = details.get(rule.report_field or "")
    return named.strip() if isinstance(named, str) and named.strip() else None


def _providers_named(session: Session, tenant_id: int, names: set[str]) -> dict[str, Provider]:
    """The registered provider each name (a code, or a name) stands for, the oldest first when several do."""
    if not names:
        return {}
    found: dict[str, Provider] = {}
    wanted = sorted(names)
    query = (
        select(Provider)
        .where(Provider.tenant_id == tenant_id, Provider.code.in_(wanted) | Provider.name.in_(wanted))
        .order_by(Provider.id)
    )
    for provider in session.execute(query).scalars():
        for key in (provider.code, provider.name):
            if key in names:
                found.setdefault(key, provider)
    return found


def _open_tasks(session: Session, claim_ids: set[int]) -> set[tuple[int, str]]:
    """(claim, kind) of the claims' tasks that are not cancelled or declined: the claim has that task already."""
    if not claim_ids:
        return set()
    rows = session.execute(
        select(ProviderTask.claim_id, ProviderTask.kind).where(
            ProviderTask.claim_id.in_(sorted(claim_ids)), ProviderTask.status.not_in(_ENDED)
        )
    )
    return {(claim_id, kind) for claim_id, kind in rows}


def on_case_events(session: Session, tenant_id: int, changes: list[CaseChange]) -> int:
    """Send the tasks the rules call for; returns how many were sent."""
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    rules = [r for r in rules_for(tenant.code if tenant is not None else None) if r.enabled]
    if not rules:
        return 0
    kinds = loader.task_kinds(session, tenant_id)
    # The rules are pure tests of the change; what they need from the database is read once for the batch.
    matched = [(change, rule) for change in changes for rule in rules if rule.kind in kinds and rule.matches(change)]
    if not matched:
        return 0
    claim_ids = {change.claim_id for change, _ in matched}
    claims = {
        claim.id: claim for claim in session.execute(select(Claim).where(Claim.id.in_(sorted(claim_ids)))).scalars()
    }
    has_task = _open_tasks(session, claim_ids)
    details = _reported_details(session, {change.claim_id for change, rule in matched if rule.provider != LEAST_BUSY})
    names = {
        (claim_id, rule.code): _named(rule, details.get(claim_id, {}))
        for claim_id, rule in {(change.claim_id, rule) for change, rule in matched if rule.provider != LEAST_BUSY}
    }
    providers = _providers_named(session, tenant_id, {name for name in names.values() if name is not None})
    serving: dict[tuple[str, str | None, str], list[Provider]] = {}
    sent = 0
    for change, rule in matched:
        claim = claims.get(change.claim_id)
        if claim is None or (claim.id, rule.kind) in has_task:
            continue
        if rule.provider == LEAST_BUSY:
            provider = _least_busy(session, tenant_id, rule, claim, serving)
        else:
            name = names[(claim.id, rule.code)]
            provider = providers.get(name) if name is not None else None
        if provider is None:  # no eligible provider (none serves the region, or the report names none)
            continue
        principal = Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor=f"rule:{rule.code}")
        try:
            with session.begin_nested():
                task_service.send_task(
                    session,
                    principal,
                    claim_number=claim.number,
                    provider_code=provider.code,
                    kind=rule.kind,
                    instructions=rule.instructions,
                    rule=rule.code,
                    at=change.at,
                )
        except Problem as refused:
            log.info("task rule refused", rule=rule.code, claim=claim.number, reason=str(refused))
            continue
        has_task.add((claim.id, rule.kind))
        sent += 1
    return sent

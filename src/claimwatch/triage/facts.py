"""Building :class:`claimwatch.risk.facts.ClaimFacts` for claims: from the claim row, its reported event's
``data`` (the report's details and the claimant's age) and a few history lookups on the contact index.

At report time the ingesting call hands over keyed hashes of the claimant's phone, ID number, bank account and
name (``CaseChange.contact_hashes``); they are written to ``triage_contacts`` first, so claims of the same batch
count each other. A re-evaluation or a replay reads the stored report data and contacts instead, and counts
only what was reported before the claim (``as of`` its report time), so a replay sees what the report saw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.cases.models import Claim
from claimwatch.risk.facts import ClaimFacts
from claimwatch.tenancy.service import tenant_zone
from claimwatch.triage import repository
from claimwatch.triage.models import TriageDecision

REPEAT_WINDOW = dt.timedelta(days=365)  # repeat claimant: same phone or ID within 12 months
SHARED_WINDOW = dt.timedelta(days=365)  # shared contact: same phone, bank or ID as another claimant
PROVIDER_WINDOW = dt.timedelta(days=90)  # repair shop / hospital concentration
NIGHT_FROM, NIGHT_UNTIL = 22, 6  # local hours
_IDENTIFIERS = ("phone", "id", "bank")


@dataclass(frozen=True)
class Report:
    """What a claim's report brought: the stored event data and, at report time, the identifier hashes."""

    data: Mapping[str, Any]
    hashes: Mapping[str, str] | None = None  # phone, id, bank, name (keyed hashes); None: read the index


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _flag(details: Mapping[str, Any], key: str) -> bool:
    return details.get(key) is True


def record_contacts(session: Session, tenant_id: int, claims: Sequence[Claim], reports: Mapping[int, Report]) -> None:
    """Index the new claims' identifiers (hashes only) and providers; called once, at report time (or let
    :func:`report_facts` write them with its history read)."""
    repository.insert_contacts(session, contact_rows(tenant_id, claims, reports))


def contact_rows(tenant_id: int, claims: Sequence[Claim], reports: Mapping[int, Report]) -> list[tuple[Any, ...]]:
    """The contact-index rows of new claims (``repository.CONTACT_COLUMNS``)."""
    rows: list[tuple[Any, ...]] = []
    for claim in claims:
        report = reports.get(claim.id)
        if report is None or report.hashes is None:
            continue
        identity = report.hashes.get("name") or ""
        for kind in _IDENTIFIERS:
            value = report.hashes.get(kind)
            if value:
                rows.append((tenant_id, claim.id, kind, value, identity, claim.region_code, claim.reported_at))
        provider = (report.data.get("details") or {}).get("provider")
        if provider:
            rows.append((tenant_id, claim.id, "provider", provider, identity, claim.region_code, claim.reported_at))
    return rows


def build_facts(
    session: Session,
    tenant_id: int,
    claims: Sequence[Claim],
    reports: Mapping[int, Report] | None = None,
    *,
    investigation: Mapping[int, bool] | None = None,
) -> dict[int, ClaimFacts]:
    """Facts for each claim, by claim id. ``reports`` defaults to the stored reported events' data;
    ``investigation`` overrides the fact per claim (a re-evaluation on entering an investigation status)."""
    return _build(session, tenant_id, claims, reports, investigation, with_state=False)[0]


def report_facts(
    session: Session, tenant_id: int, claims: Sequence[Claim], reports: Mapping[int, Report]
) -> tuple[dict[int, ClaimFacts], repository.TenantState]:
    """:func:`record_contacts` then :func:`build_facts` at report time, with the insurer's state
    (``repository.tenant_state``: the active risk model, the catastrophe events' etag): the contacts' insert,
    the history and the state in one round trip where the database allows (``repository.history``)."""
    contacts = contact_rows(tenant_id, claims, reports)
    found, state = _build(session, tenant_id, claims, reports, None, with_state=True, new_contacts=contacts)
    return found, state if state is not None else repository.tenant_state(session, tenant_id)


def _build(
    session: Session,
    tenant_id: int,
    claims: Sequence[Claim],
    reports: Mapping[int, Report] | None,
    investigation: Mapping[int, bool] | None,
    *,
    with_state: bool,
    new_contacts: Sequence[tuple[Any, ...]] = (),
) -> tuple[dict[int, ClaimFacts], repository.TenantState | None]:
    if not claims:
        repository.insert_contacts(session, list(new_contacts))
        return {}, None
    if reports is None:
        stored = repository.report_data(session, [c.id for c in claims])
        reports = {c.id: Report(stored.get(c.id, {})) for c in claims}
    zone = tenant_zone(session, tenant_id)
    orgs = repository.org_codes(session, (c.org_unit_id for c in claims))
    history = _History.read(session, claims, reports, with_state=with_state, new_contacts=new_contacts)
    authority = handler_authority(session, tenant_id, claims)
    found: dict[int, ClaimFacts] = {}
    for claim in claims:
        report = reports.get(claim.id) or Report({})
        facts = _one(claim, report.data, zone, orgs)
        fill_handler_headroom(facts, authority.get(claim.id))
        history.fill(claim, facts)
        if investigation and investigation.get(claim.id):
            facts.investigation = True
        found[claim.id] = facts
    return found, history.state


def handler_authority(session: Session, tenant_id: int, claims: Sequence[Claim]) -> dict[int, int]:
    """Each assigned claim's handler's amount authority (fen), where the handler has one: asked of the domain
    that keeps handler profiles (``reactions.HANDLER_AUTHORITY``; assignment sits above triage). No statement
    for claims without a handler (every claim at report time)."""
    limits = authority_by_user(session, tenant_id, {c.assignee_id for c in claims if c.assignee_id is not None})
    return {c.id: limits[c.assignee_id] for c in claims if c.assignee_id is not None and c.assignee_id in limits}


def authority_by_user(session: Session, tenant_id: int, users: Iterable[int]) -> dict[int, int]:
    """The amount authority (fen) of each of ``users`` that has one (no statement for none)."""
    wanted = sorted(set(users))
    limits: dict[int, int] = {}
    if wanted:
        for answer in reactions.publish(reactions.HANDLER_AUTHORITY, session, tenant_id, wanted):
            limits.update(answer or {})
    return limits


def fill_handler_headroom(facts: ClaimFacts, authority_fen: int | None) -> None:
    """``authority_headroom_pct`` from the claim's handler: (authority − amount) ÷ authority, negative when the
    amount is above it. Without a handler or a limit it stays unknown and the scorer takes the nearest tier of
    the red-flag file (``authority_limits_cny``)."""
    if authority_fen is None or authority_fen <= 0 or facts.amount_cny is None:
        return
    limit = authority_fen / 100
    facts.authority_headroom_pct = round((limit - facts.amount_cny) / limit, 6)


def facts_from_decisions(
    session: Session,
    tenant_id: int,
    claims: Sequence[Claim],
    latest: Mapping[int, TriageDecision],
    *,
    investigation: Mapping[int, bool] | None = None,
) -> dict[int, ClaimFacts]:
    """Facts for a re-evaluation from each claim's latest decision: what the report and the history as of the
    report said does not change, so only the fields the claim itself holds are taken again (amount, line,
    catastrophe, risk, region, org unit); the authority headroom is computed again from the new amount.
    A claim without a stored decision gets :func:`build_facts`."""
    missing = [claim for claim in claims if claim.id not in latest]
    found = build_facts(session, tenant_id, missing, investigation=investigation) if missing else {}
    have = [claim for claim in claims if claim.id in latest]
    orgs = repository.org_codes(session, (c.org_unit_id for c in have))
    authority = handler_authority(session, tenant_id, have)
    for claim in have:
        facts = ClaimFacts.from_dict(latest[claim.id].facts or {})
        amount_fen = claim.assessed_amount_fen if claim.assessed_amount_fen is not None else claim.reported_amount_fen
        facts.line = claim.line
        facts.amount_cny = amount_fen / 100 if amount_fen is not None else None
        facts.authority_headroom_pct = None
        fill_handler_headroom(facts, authority.get(claim.id))
        facts.catastrophe = claim.catastrophe_id is not None
        facts.risk_score = claim.risk_score
        facts.risk_level = claim.risk_level
        facts.region = claim.region_code
        facts.org_unit = orgs.get(claim.org_unit_id) if claim.org_unit_id is not None else None
        if investigation and investigation.get(claim.id):
            facts.investigation = True
        found[claim.id] = facts
    return found


def _one(claim: Claim, data: Mapping[str, Any], zone: ZoneInfo, orgs: Mapping[int, str]) -> ClaimFacts:
    details: Mapping[str, Any] = data.get("details") or {}
    amount_fen = claim.assessed_amount_fen if claim.assessed_amount_fen is not None else claim.reported_amount_fen
    reported_local = claim.reported_at.astimezone(zone)
    accident = _instant(details.get("accident_at"))
    accident_local = accident.astimezone(zone) if accident is not None else None
    accident_day = accident_local.date() if accident_local is not None else reported_local.date()
    policy_start = _date(details.get("policy_start"))
    reinstated = _date(details.get("reinstated_on"))
    age = data.get("claimant_age")
    return ClaimFacts(
        line=claim.line,
        amount_cny=amount_fen / 100 if amount_fen is not None else None,
        claim_type=details.get("claim_type"),
        liability_clear=details.get("liability_clear") if isinstance(details.get("liability_clear"), bool) else None,
        injury=_flag(details, "injury"),
        death=_flag(details, "death"),
        serious_injury=_flag(details, "serious_injury"),
        investigation=_flag(details, "investigation"),
        coverage=details.get("coverage") or data.get("coverage"),
        policy_start=policy_start,
        days_since_policy_start=(accident_day - policy_start).days if policy_start is not None else None,
        reinstated_days=(accident_day - reinstated).days if reinstated is not None else None,
        claimant_age=age if isinstance(age, int) and not isinstance(age, bool) else None,
        disability=_flag(details, "disability"),
        electronic_only=_flag(details, "electronic_only"),
        report_delay_days=(reported_local.date() - accident_day).days if accident_local is not None else None,
        accident_at=accident_local.replace(tzinfo=None) if accident_local is not None else None,
        night=accident_local is not None and (accident_local.hour >= NIGHT_FROM or accident_local.hour < NIGHT_UNTIL),
        weekend=accident_local is not None and accident_local.weekday() >= 5,
        provider=details.get("provider"),
        catastrophe=claim.catastrophe_id is not None,
        risk_score=claim.risk_score,
        risk_level=claim.risk_level,
        org_unit=orgs.get(claim.org_unit_id) if claim.org_unit_id is not None else None,
        region=claim.region_code,
        channel=details.get("channel"),
    )


@dataclass
class _History:
    """The contact index around a batch of claims: own identifiers, and every contact sharing one."""

    own: dict[int, dict[str, str]]  # claim id -> kind -> value (and "name" -> identity)
    matches: dict[tuple[str, str], list[tuple[int, str, dt.datetime]]]  # (kind, value) -> (claim, identity, at)
    region_totals: dict[str, int]
    state: repository.TenantState | None = None  # read along when asked (report time), else None

    @classmethod
    def read(
        cls,
        session: Session,
        claims: Sequence[Claim],
        reports: Mapping[int, Report],
        *,
        with_state: bool = False,
        new_contacts: Sequence[tuple[Any, ...]] = (),
    ) -> _History:
        """``new_contacts``: the claims' contact rows, written before (or with) the read so it counts them."""
        own: dict[int, dict[str, str]] = {}
        missing: list[int] = []
        for claim in claims:
            report = reports.get(claim.id)
            if report is not None and report.hashes is not None:
                values = {k: v for k, v in report.hashes.items() if k in (*_IDENTIFIERS, "name") and v}
                provider = (report.data.get("details") or {}).get("provider")
                if provider:
                    values["provider"] = provider
                own[claim.id] = values
            else:
                missing.append(claim.id)
        for contact in repository.contacts_of(session, missing) if missing else []:
            values = own.setdefault(contact.claim_id, {})
            values[contact.kind] = contact.value
            values["name"] = contact.identity
        earliest = min(c.reported_at for c in claims)
        wanted: dict[str, set[str]] = {}
        for values in own.values():
            for kind, value in values.items():
                if kind != "name":
                    wanted.setdefault(kind, set()).add(value)
        matches: dict[tuple[str, str], list[tuple[int, str, dt.datetime]]] = {}
        regions = {c.region_code for c in claims if c.region_code and "provider" in own.get(c.id, {})}
        if not wanted:
            repository.insert_contacts(session, list(new_contacts))
            return cls(own, matches, {})
        since = earliest - max(REPEAT_WINDOW, SHARED_WINDOW)
        latest = max(c.reported_at for c in claims)
        # The contacts sharing a value, the region totals of providers (and the tenant state): one round trip.
        found, totals, state = repository.history(
            session,
            claims[0].tenant_id,
            wanted,
            since,
            regions,
            earliest - PROVIDER_WINDOW,
            latest,
            with_state=with_state,
            new_contacts=new_contacts,
        )
        for kind, value, claim_id, identity, at in found:
            matches.setdefault((kind, value), []).append((claim_id, identity, at))
        return cls(own, matches, totals, state)

    def fill(self, claim: Claim, facts: ClaimFacts) -> None:
        values = self.own.get(claim.id)
        if not values:
            return
        as_of = claim.reported_at
        me = values.get("name", "")
        repeat: set[int] = set()
        others: set[str] = set()
        for kind in _IDENTIFIERS:
            value = values.get(kind)
            if not value:
                continue
            for claim_id, identity, at in self.matches.get((kind, value), ()):
                if claim_id == claim.id or at > as_of:
                    continue
                if kind in ("phone", "id") and at >= as_of - REPEAT_WINDOW and identity == me:
                    repeat.add(claim_id)
                if at >= as_of - SHARED_WINDOW and identity != me:
                    others.add(identity)
        facts.repeat_claimant_count = len(repeat)
        facts.shared_contact_count = len(others)
        provider = values.get("provider")
        if provider:
            count = sum(
                1
                for claim_id, _, at in self.matches.get(("provider", provider), ())
                if as_of - PROVIDER_WINDOW <= at <= as_of
            )
            facts.provider_claim_count = count
            total = self.region_totals.get(claim.region_code or "")
            facts.provider_share = round(count / total, 4) if total else None

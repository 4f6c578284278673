"""Sampling plans and draws (抽检方案与抽样): create a plan (validated against the subject kind, the scorecard
and the insurer's staff), draw its sample, and give each sampled case to an inspector. No HTTP, never
commits.

A draw is reproducible: the seed (random 63-bit when not given), the population count per stratum, the
allocation and a digest of the sample are kept on the draw row and written to the audit chain, so the same
plan drawn again with the same seed over the same population yields the same records (the draw reads the
smallest seeded-rotated permanent random numbers, ``inspections/draw.py``).

Sampling stays unbiased: conflicts of interest are handled at assignment. A case goes to the eligible
inspector with the fewest cases of this draw so far (the most constrained cases first); an inspector who
handled the case (``SubjectKind.handled_by``), or (``exclude_own_unit``) whose org unit is the case's unit or
above it, is not eligible. A case nobody may take stays in the sample, unassigned, and is shown as such.

Lock order: the tenant's audit-chain head first (so two workers drawing the same plan and period queue
behind each other and the second sees the first's draw), then the plan's rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import tenant_context, utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.inspections import draw as sampler
from claimwatch.inspections import repository, scorecards, statistics
from claimwatch.inspections.models import InspectionDraw, InspectionPlan
from claimwatch.inspections.schemas import STRATUM_COLUMNS, PlanDefinition
from claimwatch.subjects import registry as subjects
from claimwatch.subjects.periods import period_dates

SYSTEM_ACTOR = "system:inspections"
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Stratum:
    key: tuple[Any, ...]  # the values of the stratum columns (org unit id, line, region)
    name: str  # "org=PICC-GD|line=motor" ("" when not stratified): kept on each inspection
    population: int
    sample: int = 0
    rate_prior: float | None = None
    prior_source: str | None = None  # "history" (earlier inspections of the plan) | "expected"


# -- plans ----------------------------------------------------------------------------------------------


def _tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "inspection plans belong to one insurer; this account belongs to none")
    return principal.tenant_id


def _actor(session: Session, principal_or_actor: Principal | str) -> tuple[int, str]:
    if isinstance(principal_or_actor, Principal):
        if not principal_or_actor.can(Permission.MANAGE_INSPECTION_PLANS):
            raise Forbidden("role", f"role {principal_or_actor.role.value!r} may not manage inspection plans")
        return _tenant_of(principal_or_actor), principal_or_actor.actor
    tenant_id = tenant_context(session).tenant_id
    if tenant_id is None:
        raise Forbidden("tenant", "a draw runs for one insurer")
    return tenant_id, principal_or_actor


def check_definition(
    session: Session, tenant_id: int, definition: PlanDefinition, now: dt.datetime | None = None
) -> Any:
    """Everything the schema cannot check alone: the subject kind, the scorecard (and its kind), the population
    filter (each key and value, by the kind), the target's score, the inspectors. Returns the population
    SELECT."""
    kind = subjects.get(definition.subject_kind)
    try:
        card = scorecards.load(definition.scorecard)
    except NotFound as exc:
        raise Invalid("scorecard", exc.message) from None
    if card.subject_kind != kind.code:
        raise Invalid("scorecard", f"scorecard {card.code!r} is for {card.subject_kind}s, not {kind.code}s")
    if "score" in definition.population:
        raise Invalid("population.score", "the score is the target's (target: {rule: top_k, k, score})")
    if definition.schedule != "none" and definition.population.get("period"):
        raise Invalid("population.period", "a periodic plan draws the previous month or quarter: give no period")
    population = kind.population(session, tenant_id, _filters(definition), now or utc_now())
    _inspectors(session, tenant_id, definition)
    return population


def _filters(definition: PlanDefinition, period: str | None = None) -> dict[str, Any]:
    filters = dict(definition.population)
    if period is not None:
        filters["period"] = period
    if definition.target is not None and definition.target.score:
        filters["score"] = definition.target.score
    return filters


def create_plan(
    session: Session,
    principal: Principal,
    definition: PlanDefinition,
    *,
    source: str = "manual",
    source_ref: str | None = None,
) -> InspectionPlan:
    """Record a plan (audited). Refused, naming the field, for an unknown kind, scorecard, filter key or
    inspector, or a code already used; nothing is written then."""
    tenant_id, actor = _actor(session, principal)
    audit_service.open_chain(session, tenant_id).close()  # the chain first (lock order)
    if repository.plan_by_code(session, definition.code) is not None:
        raise Conflict("code", f"a plan {definition.code!r} already exists")
    check_definition(session, tenant_id, definition)
    now = utc_now()
    plan = InspectionPlan(
        tenant_id=tenant_id,
        code=definition.code,
        name=definition.name,
        subject_kind=definition.subject_kind,
        scorecard_code=definition.scorecard,
        definition=definition.model_dump_json(),
        schedule=definition.schedule,
        source=source,
        source_ref=source_ref,
        active=True,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "inspection.plan_created",
        f"plan:{plan.code}",
        actor,
        {"plan": plan.code, "source": source, "source_ref": source_ref, "definition": definition.model_dump()},
    )
    return plan


def definition_of(plan: InspectionPlan) -> PlanDefinition:
    return PlanDefinition.model_validate_json(plan.definition)


def get_plan(session: Session, code: str) -> InspectionPlan:
    plan = repository.plan_by_code(session, code)
    if plan is None:
        raise NotFound("code", f"no inspection plan {code!r}")
    return plan


# -- drawing ---------------------------------------------------------------------------------------------


def _sample_size(definition: PlanDefinition, total: int) -> int:
    size = definition.size
    assert size is not None
    if size.fixed is not None:
        return min(size.fixed, total)
    if size.share is not None:
        return min(total, max(1, math.ceil(size.share * total)))
    assert size.confidence is not None and size.margin is not None
    rate = size.expected_error_rate or definition.expected_error_rate
    return min(total, max(1, statistics.sample_size(total, size.confidence, size.margin, rate)))


def _stratum_name(dimensions: Sequence[str], key: tuple[Any, ...], org_codes: Mapping[int, str]) -> str:
    parts = []
    for dimension, value in zip(dimensions, key, strict=True):
        shown = org_codes.get(value, str(value)) if dimension == "org" and value is not None else value
        parts.append(f"{dimension}={'' if shown is None else shown}")
    return "|".join(parts)[:120]


def _priors(
    session: Session, plan: InspectionPlan, definition: PlanDefinition, strata: Mapping[tuple[Any, ...], Stratum]
) -> dict[tuple[Any, ...], tuple[float, str]]:
    """Neyman priors per stratum: the plan's earlier error rate there (shrunk towards the expected rate by one
    pseudo-inspection, so 0 % or 100 % never removes a stratum), else the expected error rate."""
    history = repository.prior_error_rates(session, plan.id)
    expected = definition.expected_error_rate
    priors: dict[tuple[Any, ...], tuple[float, str]] = {}
    for key, stratum in strata.items():
        inspected, errors = history.get(stratum.name, (0, 0))
        if inspected:
            priors[key] = ((errors + expected) / (inspected + 1), "history")
        else:
            priors[key] = (expected, "expected")
    return priors


def _digest(kind: str, ids: Sequence[int]) -> str:
    return hashlib.sha256(",".join(f"{kind}:{i}" for i in sorted(ids)).encode()).hexdigest()


def draw_sample(
    session: Session,
    principal_or_actor: Principal | str,
    plan_id: int,
    *,
    period: str | None = None,
    seed: int | None = None,
    now: dt.datetime | None = None,
) -> InspectionDraw:
    """Draw the plan's sample, create one inspection per sampled record and assign inspectors.

    ``period`` (2026-11, 2026-Q4) draws that period's population and keys the draw by it: a plan draws a
    period once (409 on ``period`` the second time). Without it the plan's own filter is drawn as an ad-hoc
    draw (``adhoc-<n>``). A filter that matches nothing is refused (422 on ``population``)."""
    tenant_id, actor = _actor(session, principal_or_actor)
    now = now or utc_now()
    audit_service.open_chain(session, tenant_id).close()  # the chain first: concurrent draws queue here
    plan = repository.plan_by_id(session, plan_id)
    if plan is None or plan.tenant_id != tenant_id:
        raise NotFound("plan", f"no inspection plan {plan_id}")
    if not plan.active:
        raise Conflict("plan", f"plan {plan.code!r} is inactive")
    if seed is not None and not 0 <= seed < 2**63:
        raise Invalid("seed", "the seed is an integer in [0, 2**63)")
    definition = definition_of(plan)
    if period is not None:
        period_dates(period, "period")
        if repository.draw_for_period(session, plan.id, period) is not None:
            raise Conflict("period", f"plan {plan.code!r} has already drawn period {period}")
        key_period = period
    else:
        key_period = f"adhoc-{repository.count_draws(session, plan.id) + 1}"
    seed = secrets.randbits(63) if seed is None else seed
    kind = subjects.get(plan.subject_kind)
    filters = _filters(definition, period)
    population = kind.population(session, tenant_id, filters, now)

    dimensions = list(definition.strata) if definition.method == "stratified" else []
    by = [STRATUM_COLUMNS[dimension] for dimension in dimensions]
    counts = sampler.count_strata(session, population, by)
    total = sum(counts.values())
    if total == 0:
        raise Invalid("population", "the plan's filter matches nothing: no record to sample")
    org_codes = {unit_id: unit.code for unit_id, unit in repository.org_units(session).items()}
    strata = {
        key: Stratum(key, _stratum_name(dimensions, key, org_codes), count) for key, count in counts.items() if count
    }
    priors: dict[tuple[Any, ...], tuple[float, str]] = {}
    if definition.method == "targeted":
        assert definition.target is not None
        if definition.target.rule == "top_k":
            assert definition.target.k is not None
            drawn = {(): list(sampler.top_by_score(session, population, definition.target.k))}
        else:
            drawn = sampler.draw(session, population, [], {(): total}, seed, counts=counts)
        sizes = {(): len(drawn[()])}
    else:
        n = _sample_size(definition, total)
        if dimensions:
            if definition.allocation == "neyman":
                priors = _priors(session, plan, definition, strata)
            rates = {key: prior[0] for key, prior in priors.items()} or None
            sizes = statistics.allocate(
                {key: s.population for key, s in strata.items()}, n, definition.allocation, rates
            )
        else:
            sizes = {(): n}
        drawn = sampler.draw(session, population, by, sizes, seed, counts=counts)
    strata = {
        key: Stratum(
            key,
            stratum.name,
            stratum.population,
            len(drawn.get(key, [])) if dimensions else sum(len(rows) for rows in drawn.values()),
            priors.get(key, (None, None))[0],
            priors.get(key, (None, None))[1],
        )
        for key, stratum in strata.items()
    }
    rows = [(strata[key].name if dimensions else "", row) for key, found in drawn.items() for row in found]
    ids = [int(row["subject_id"]) for _, row in rows]
    if not ids:
        raise Invalid("population", "the plan's filter matches nothing to sample")

    assignment = assign_inspectors(session, tenant_id, definition, kind, rows, seed)
    due_at = now + dt.timedelta(days=definition.due_days)
    strata_json = [
        {
            "key": s.name,
            "values": [v for v in s.key],
            "population": s.population,
            "sample": s.sample,
            "rate_prior": s.rate_prior,
            "prior_source": s.prior_source,
        }
        for s in sorted(strata.values(), key=lambda s: s.name)
    ]
    parameters = {
        "definition": definition.model_dump(),
        "filters": filters,
        "by": by,
        "sizes": [{"key": strata[k].name if k in strata else "", "n": v} for k, v in sorted(sizes.items(), key=str)],
        "inspectors": assignment.inspectors,
    }
    record = InspectionDraw(
        tenant_id=tenant_id,
        plan_id=plan.id,
        period=key_period,
        seed=seed,
        population_count=total,
        sample_count=len(ids),
        strata=json.dumps(strata_json, ensure_ascii=False, default=str),
        parameters=json.dumps(parameters, ensure_ascii=False, default=str, sort_keys=True),
        drawn_by=actor,
        drawn_at=now,
    )
    session.add(record)
    session.flush()
    card = scorecards.load(plan.scorecard_code)
    repository.insert_inspections(
        session,
        [
            {
                "tenant_id": tenant_id,
                "plan_id": plan.id,
                "draw_id": record.id,
                "subject_kind": kind.code,
                "subject_id": int(row["subject_id"]),
                "stratum": stratum_name,
                "org_unit_id": row["org_unit_id"],
                "line": row["line"],
                "region_code": row["region_code"],
                "handler_id": row["handler_id"],
                "inspector_id": assignment.chosen.get(int(row["subject_id"])),
                "scorecard_code": card.code,
                "scorecard_digest": card.digest,
                "status": "assigned",
                "due_at": due_at,
                "needs_review": False,
                "created_at": now,
            }
            for stratum_name, row in rows
        ],
    )
    record.audit_seq = audit_service.record(
        session,
        tenant_id,
        "inspection.draw",
        f"plan:{plan.code}",
        actor,
        {
            "plan": plan.code,
            "draw": record.id,
            "period": key_period,
            "seed": str(seed),
            "method": definition.method,
            "allocation": definition.allocation if dimensions else None,
            "filters": {key: str(value) for key, value in filters.items()},
            "population": total,
            "strata": [{k: v for k, v in s.items() if k != "values"} for s in strata_json],
            "sample": len(ids),
            "sample_digest": _digest(kind.code, ids),
            "unassigned": len(ids) - len(assignment.chosen),
            "due_at": due_at.isoformat(),
        },
    )
    return record


# -- assignment ------------------------------------------------------------------------------------------


@dataclass
class Assignment:
    chosen: dict[int, int]  # subject id -> inspector user id
    inspectors: list[str]  # usernames considered
    refused: dict[int, str]  # subject id -> why nobody may take it


def _inspectors(session: Session, tenant_id: int, definition: PlanDefinition) -> list[Any]:
    found = repository.inspectors(session, tenant_id, definition.inspectors or None)
    if definition.inspectors:
        by_name = {user.username: user for user in found}
        for index, name in enumerate(definition.inspectors):
            user = by_name.get(name)
            if user is None:
                raise Invalid(f"inspectors.{index}", f"no staff member {name!r} at this insurer")
            if not user.active:
                raise Invalid(f"inspectors.{index}", f"{name!r} is not active")
            if not repository.may_inspect(user):
                raise Invalid(f"inspectors.{index}", f"{name!r} is a {user.role.value}, not an inspector")
    return found


def assign_inspectors(
    session: Session,
    tenant_id: int,
    definition: PlanDefinition,
    kind: subjects.SubjectKind,
    rows: Sequence[tuple[str, Any]],
    seed: int,
) -> Assignment:
    """Balanced assignment under the conflict rules; deterministic for a seed."""
    people = _inspectors(session, tenant_id, definition)
    ids = [int(row["subject_id"]) for _, row in rows]
    units = {int(row["subject_id"]): row["org_unit_id"] for _, row in rows}
    handled = kind.handled_by(session, tenant_id, ids)
    paths = {unit_id: unit.path for unit_id, unit in repository.org_units(session).items()}
    order = sorted(user.id for user in people)
    random.Random(seed).shuffle(order)
    rank = {user_id: index for index, user_id in enumerate(order)}

    def eligible(subject_id: int) -> list[int]:
        result = []
        case_path = paths.get(units[subject_id]) if units[subject_id] is not None else None
        for user in people:
            if user.id in handled.get(subject_id, set()):
                continue
            if definition.exclude_own_unit and user.org_unit_id is not None and case_path is not None:
                own_path = paths.get(user.org_unit_id)
                if own_path is not None and case_path.startswith(own_path):
                    continue
            result.append(user.id)
        return result

    options = {subject_id: eligible(subject_id) for subject_id in ids}
    load = dict.fromkeys(order, 0)
    chosen: dict[int, int] = {}
    refused: dict[int, str] = {}
    position = {subject_id: index for index, subject_id in enumerate(ids)}
    for subject_id in sorted(ids, key=lambda s: (len(options[s]), position[s])):
        candidates = options[subject_id]
        if not candidates:
            refused[subject_id] = "no inspector without a conflict of interest" if people else "no inspector"
            continue
        pick = min(candidates, key=lambda user_id: (load[user_id], rank[user_id]))
        chosen[subject_id] = pick
        load[pick] += 1
    _even_out(ids, options, chosen, load, rank)
    return Assignment(chosen, [user.username for user in people], refused)


def _even_out(
    ids: Sequence[int],
    options: Mapping[int, list[int]],
    chosen: dict[int, int],
    load: dict[int, int],
    rank: Mapping[int, int],
) -> None:
    """The greedy pass can leave an inspector two or more cases ahead of another one who could take some of
    the work, directly or along a chain (A's case to B, one of B's to C). Shift one case along the shortest
    such chain from the busiest inspector, in a fixed order, until no chain evens the load further."""
    while True:
        if not load or max(load.values()) - min(load.values()) < 2:
            return
        held: dict[int, list[int]] = {}
        for subject_id in ids:
            if subject_id in chosen:
                held.setdefault(chosen[subject_id], []).append(subject_id)
        for source in sorted(load, key=lambda u: (-load[u], rank[u])):
            path = _chain(source, held, options, load, rank)
            if path:
                for subject_id, target in path:
                    load[chosen[subject_id]] -= 1
                    chosen[subject_id] = target
                    load[target] += 1
                break
        else:
            return


def _chain(
    source: int,
    held: Mapping[int, list[int]],
    options: Mapping[int, list[int]],
    load: Mapping[int, int],
    rank: Mapping[int, int],
) -> list[tuple[int, int]] | None:
    """Breadth first from ``source``: the moves (case, new inspector) ending at an inspector with at least two
    cases fewer than ``source``; None when there is no such chain."""
    previous: dict[int, tuple[int, int] | None] = {source: None}  # inspector -> (case moved to it, from whom)
    frontier = [source]
    while frontier:
        following = []
        for holder in frontier:
            for subject_id in held.get(holder, []):
                if len(previous) == len(load):
                    break
                for target in sorted(options[subject_id], key=lambda u: rank[u]):
                    if target in previous:
                        continue
                    previous[target] = (subject_id, holder)
                    if load[target] + 1 < load[source]:
                        moves = []
                        node: int | None = target
                        while node is not None and previous[node] is not None:
                            moved, before = previous[node]  # type: ignore[misc]
                            moves.append((moved, node))
                            node = before
                        return list(reversed(moves))
                    following.append(target)
        frontier = following
    return None

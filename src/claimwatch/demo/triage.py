"""Demo: triage at report time (issue 15), through the real services. Per insurer:

- the default triage rules (``defaults/triage/rules.yaml``) are put in force in **active** mode by the insurer's
  admin (a version in the audit chain; ``/triage/rules`` lists it and compares its decisions);
- a typhoon is declared over the insurer's first branch's region for motor and property, from ten days ago,
  still going on: that region's claims with an accident in the period join its green channel at once
  (``/triage/catastrophes``), and their handlers are prompted to consider an advance payment;
- a day's fresh reports arrive through the event import, each triaged as it is reported: small motor damage
  with clear liability and small medical claims on the 三免 fast track (the rule that fired on the claim page),
  claims soon after inception, reported late, at night (high risk: they wait in the review queue 核查 with
  their reasons), a death case and an elderly claimant (green channel), two claims in the typhoon's region, and a
  small motor claim reported 30 hours ago that nobody has touched: its 24-hour clock is yellow whatever the day
  (the history's open clocks, swept long after the data set's end, are mostly red);
- the newest rejected claim's refusal notice (保险法 art. 24) is recorded as sent by post, with its EMS tracking
  number (the claim page's "Notices sent by post").

Run after the demo events and the risk history (``demo/risk.py``): the scores then come from the trained model
too. Re-running changes nothing: an insurer whose demo reports exist already is skipped.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import Principal
from claimwatch.cases.models import Claim
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import CHINA, GIVEN, SURNAMES, DemoSpec, id_number
from claimwatch.demo.organisation import DemoTenant
from claimwatch.imports import jobs as import_jobs
from claimwatch.imports import service as import_service
from claimwatch.notify import service as notify_service
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.triage import catastrophes
from claimwatch.triage import service as triage_service

SEED_OFFSET = 1515  # this module's own random stream
FAST_MOTOR, FAST_MEDICAL, RISKY, CATASTROPHE_CLAIMS = 8, 4, 3, 2
TYPHOONS = {"440000": "台风“海燕”", "330000": "台风“梅花”", "350000": "台风“杜苏芮”"}


@dataclass
class Loaded:
    rule_sets: int = 0
    events: list[str] = field(default_factory=list)
    joined: int = 0
    reports: int = 0
    routes: dict[str, int] = field(default_factory=dict)
    reviews: int = 0
    posted: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        routes = ", ".join(f"{route} {count}" for route, count in sorted(self.routes.items()))
        return [
            f"triage: default rules in force (active) for {self.rule_sets} insurers",
            f"catastrophe events: {', '.join(self.events) or 'none'}; {self.joined} existing claims joined",
            f"triaged reports: {self.reports} new claims ({routes}); {self.reviews} risk reviews waiting",
            f"refusal notices sent by post: {', '.join(self.posted) or 'none'}",
        ]


def _admin(tenant: DemoTenant) -> Principal:
    with unit_of_work(TenantContext.system_reader()) as session:
        user = auth_repository.user_by_username(session, f"{tenant.code.lower()}.admin")
        assert user is not None, f"demo admin of {tenant.code} missing: run the demo setup first"
        return auth_service.principal_for_user(user, session)


def _claimant(rng: random.Random, region: str, birth: dt.date) -> dict[str, str]:
    return {
        "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
        "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
        "id_number": id_number(region[:2] + "0101", birth, rng.randrange(1000)),
    }


def _report(
    rng: random.Random,
    tenant: DemoTenant,
    serial: int,
    at: dt.datetime,
    line: str,
    amount: float,
    details: dict[str, Any],
    branch_index: int = 0,
    birth: dt.date | None = None,
) -> dict[str, Any]:
    branch = tenant.branches[branch_index % len(tenant.branches)]
    birth = birth or dt.date(1965, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 35))
    number = f"{tenant.code}-TRI-{serial:03d}"
    return {
        "event_id": f"{number}-r",
        "claim_number": number,
        "type": "reported",
        "occurred_at": at.isoformat(),
        "claim": {
            "line": line,
            "policy_number": f"P{tenant.code}T{rng.randrange(10**11):011d}",
            "org_code": branch.code,
            "region_code": branch.region_code,
            "claimant": _claimant(rng, branch.region_code, birth),
            "reported_amount": f"{amount:.2f}",
            "details": details,
        },
    }


def reports(tenant: DemoTenant, seed: int, now: dt.datetime) -> Iterator[dict[str, Any]]:
    """The insurer's fresh reports of the last day, in time order (the import wants each claim's events in order)."""
    rng = random.Random(f"{seed + SEED_OFFSET}:{tenant.code}")
    today = now.astimezone(CHINA).date()
    old_policy = lambda: (today - dt.timedelta(days=rng.randint(200, 1500))).isoformat()  # noqa: E731
    events: list[dict[str, Any]] = []
    serial = 0

    def at(hours_ago: float) -> dt.datetime:
        return (now - dt.timedelta(hours=hours_ago)).astimezone(CHINA)

    def day_accident(report: dt.datetime) -> str:
        return report.replace(hour=rng.randint(9, 17), minute=rng.randrange(60)).isoformat()

    for _ in range(FAST_MOTOR):  # 三免: motor vehicle damage, clear liability, ≤ 5 000 CNY
        serial += 1
        when = at(rng.uniform(2, 22))
        details = {
            "claim_type": "vehicle_damage",
            "liability_clear": True,
            "injury": False,
            "death": False,
            "policy_start": old_policy(),
            "accident_at": (when - dt.timedelta(hours=rng.uniform(1, 4))).isoformat(),
            "electronic_only": True,
        }
        events.append(_report(rng, tenant, serial, when, "motor", rng.uniform(600, 4800), details, serial))
    for _ in range(FAST_MEDICAL):  # 三免: medical ≤ 3 000 CNY, no investigation
        serial += 1
        when = at(rng.uniform(2, 22))
        details = {"claim_type": "medical", "policy_start": old_policy(), "electronic_only": True}
        events.append(_report(rng, tenant, serial, when, "medical", rng.uniform(300, 2900), details, serial))
    for _ in range(RISKY):  # soon after inception, reported weeks later, a night accident: 50 red-flag points
        serial += 1
        when = at(rng.uniform(2, 22))
        accident = dt.datetime.combine(today - dt.timedelta(days=rng.randint(15, 25)), dt.time(23, 20), CHINA)
        details = {
            "claim_type": "vehicle_damage",
            "liability_clear": False,
            "policy_start": (accident.date() - dt.timedelta(days=rng.randint(3, 20))).isoformat(),
            "accident_at": accident.isoformat(),
        }
        events.append(_report(rng, tenant, serial, when, "motor", rng.uniform(18000, 60000), details, serial))
    serial += 1  # a death: a major case, green channel
    when = at(rng.uniform(2, 22))
    details = {"claim_type": "death", "death": True, "policy_start": old_policy(), "accident_at": day_accident(when)}
    events.append(_report(rng, tenant, serial, when, "accident", 400000.0, details, 1))
    serial += 1  # an elderly claimant (born 1948: over 65 by the ID number's birth date), green channel
    when = at(rng.uniform(2, 22))
    details = {"claim_type": "medical", "policy_start": old_policy()}
    events.append(_report(rng, tenant, serial, when, "medical", 8600.0, details, 2, birth=dt.date(1948, 5, 17)))
    for line in ("motor", "property")[:CATASTROPHE_CLAIMS]:  # in the typhoon's region and period
        serial += 1
        when = at(rng.uniform(2, 22))
        details = {"claim_type": "vehicle_damage" if line == "motor" else "property", "policy_start": old_policy()}
        details["accident_at"] = (when - dt.timedelta(days=rng.randint(1, 5))).isoformat()
        events.append(_report(rng, tenant, serial, when, line, rng.uniform(6000, 90000), details, 0))
    serial += 1  # small motor damage, liability unclear, reported yesterday and not touched since
    when = at(30)
    details = {
        "claim_type": "vehicle_damage",
        "liability_clear": False,
        "policy_start": old_policy(),
        "accident_at": (when - dt.timedelta(hours=20)).replace(hour=14, minute=10).isoformat(),
    }
    events.append(_report(rng, tenant, serial, when, "motor", rng.uniform(1500, 4500), details, 1))
    events.sort(key=lambda event: event["occurred_at"])
    yield from events


def _loaded_already(tenant_id: int, code: str) -> bool:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return session.execute(select(Claim.id).where(Claim.number == f"{code}-TRI-001")).first() is not None


def _rules_in_force(tenant_id: int, admin: Principal) -> bool:
    """The default rules, active; nothing when the insurer has an active version in force already."""
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        current = triage_service.in_force(session)
        if current is not None and current.mode == "active":
            return False
        if current is not None:
            triage_service.set_mode(session, admin, "active")
        else:
            triage_service.load_rule_set(session, admin, mode="active")
        return True


def _declare(tenant_id: int, tenant: DemoTenant, admin: Principal, today: dt.date) -> catastrophes.Joined:
    region = tenant.branches[0].region_code
    declaration = catastrophes.Declaration(
        code=f"TY-{today:%Y}-{tenant.code}",
        name=TYPHOONS.get(region, "台风"),
        name_en="Typhoon (demo)",
        kind="typhoon",
        region_codes=[region],
        lines=["motor", "property"],
        starts_on=today - dt.timedelta(days=10),
        note="演示数据：台风登陆，沿海地区车辆和财产损失集中报案",
    )
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return catastrophes.declare(session, admin, declaration)


def _outcome(tenant_id: int, code: str, loaded: Loaded) -> None:
    from claimwatch.risk.models import RiskReview  # noqa: PLC0415 - only for the summary line

    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        for (route,) in session.execute(select(Claim.route).where(Claim.number.like(f"{code}-TRI-%"))):
            loaded.routes[route] = loaded.routes.get(route, 0) + 1
        loaded.reviews += len(session.execute(select(RiskReview.id).where(RiskReview.status == "open")).all())


def _post_a_refusal(tenant_id: int, code: str, now: dt.datetime) -> str | None:
    """The newest rejected claim's refusal notice, recorded as posted by the branch's claims desk the day after."""
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        claim = session.execute(
            select(Claim).where(Claim.status == notify_service.REFUSED_STATUS).order_by(Claim.id.desc()).limit(1)
        ).scalar_one_or_none()
        if claim is None:
            return None
        posted_at = min(claim.updated_at + dt.timedelta(days=1), now)
        notify_service.record_posted(
            session, claim.id, claim.number, f"{code.lower()}.admin", f"EA{claim.id:09d}CN", posted_at, "中国邮政 EMS"
        )
        return claim.number


def load(spec: DemoSpec, now: dt.datetime | None = None) -> Loaded:
    """Rules in force, a typhoon and a day's triaged reports for every demo insurer."""
    now = now or utc_now()
    today = now.astimezone(CHINA).date()
    loaded = Loaded()
    for tenant in spec.tenants:
        with unit_of_work(TenantContext.system_context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant.code)
        if found is None or _loaded_already(found.id, tenant.code):
            continue
        admin = _admin(tenant)
        loaded.rule_sets += int(_rules_in_force(found.id, admin))
        declared = _declare(found.id, tenant, admin, today)
        loaded.events.append(declared.event.code)
        loaded.joined += declared.claims
        rows = (import_service.validate_row(n, event) for n, event in enumerate(reports(tenant, spec.seed, now), 1))
        result = import_jobs.import_rows(rows, import_service.integration_principal(found.id, "demo-triage"))
        if not result.committed:
            first = result.rejects[0]
            raise RuntimeError(f"demo triage reports rejected at {first.line} ({first.event_id}): {first.reason}")
        loaded.reports += result.applied
        _outcome(found.id, tenant.code, loaded)
        if (posted := _post_a_refusal(found.id, tenant.code, now)) is not None:
            loaded.posted.append(posted)
    return loaded

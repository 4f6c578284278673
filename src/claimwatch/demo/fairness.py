"""Demo: a handler out of line with the peers on the same case mix (降赔惜赔), and the flag that finds them.

In the generated history every insurer's handlers now and then pay a claim below its assessed amount or cut an
assessed amount after verification (a deductible, a salvage value found later). One PICC handler,
``picc.adjuster07``, is far stricter than the peers: about a third of the claims the others would pay they reject
at approval, half of those rejections citing no policy clause, and they pay short or cut after review much more
often. :func:`skew` rewrites a claim's generated events accordingly, drawing from the claim's own random stream
(``<seed>:<claim number>:fairness``), so every other event of a seed stays as it was.

:func:`load` (after the history is loaded) computes the 降赔惜赔 comparison for each insurer's last two complete
quarters of the data window and opens the targeted inspection of PICC's strict handler (their rejections of the
latest quarter), as the quality manager would from /risk/fairness.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claimwatch.demo.generator import DemoSpec

STRICT_HANDLERS = {"PICC": "picc.adjuster07"}
STRICT_REJECT = 0.35  # of the claims the strict handler takes to approval: rejected there instead
UNCLEAR_SHARE = 0.5  # of the strict handler's own rejections: no policy clause in the reason
SHORT_PAY = (0.03, 0.3)  # paid below the assessed amount: (everyone, the strict handler)
REVIEW_CUT = (0.02, 0.25)  # assessed amount lowered after verification: (everyone, the strict handler)
CLAUSE_REASONS = (
    "依据保险条款第五条，本次事故属于责任免除情形",
    "依据保险条款第十二条，驾驶人无有效驾驶证，不予赔付",
)
UNCLEAR_REASONS = ("材料不足，不予赔付", "经审核不符合理赔条件", "损失与本次事故无关")


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def skew(events: list[dict[str, Any]], seed: int, number: str, adjuster: str) -> None:
    """Rewrite one claim's generated events in place (same event ids and times, or fewer events)."""
    rng = random.Random(f"{seed}:{number}:fairness")
    strict = adjuster in STRICT_HANDLERS.values()
    approval = next(
        (i for i, e in enumerate(events) if e["type"] == "transition" and e.get("to_status") == "approval"), None
    )
    if strict and approval is not None and rng.random() < STRICT_REJECT:
        reasons = UNCLEAR_REASONS if rng.random() < UNCLEAR_SHARE else CLAUSE_REASONS
        events[approval] = {**events[approval], "to_status": "rejected", "reason": rng.choice(reasons)}
        del events[approval + 1 :]
        return
    paid = next((e for e in events if e["type"] == "amounts" and "paid_amount" in e), None)
    if paid is None:
        return
    amount = Decimal(paid["paid_amount"])
    if rng.random() < REVIEW_CUT[strict]:
        # Lowered at payment time, after verification: the claim is paid what the cut assessment says.
        amount = amount * Decimal(str(round(rng.uniform(0.6, 0.9), 2)))
        paid["assessed_amount"] = _money(amount)
        paid["paid_amount"] = _money(amount)
    if rng.random() < SHORT_PAY[strict]:
        paid["paid_amount"] = _money(amount * Decimal(str(round(rng.uniform(0.6, 0.9), 2))))


@dataclass
class Loaded:
    runs: list[str] = field(default_factory=list)  # "PICC 2026-Q3: 3 flags"
    flagged: list[str] = field(default_factory=list)  # "PICC 2026-Q3 handler:picc.adjuster07 rejection"
    plans: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        found = [f"降赔惜赔: {', '.join(self.runs) or 'no period computed'}"]
        found += [f"  flagged {flag}" for flag in self.flagged]
        found.append(f"  targeted inspections: {', '.join(self.plans) or 'none'}")
        found += [f"  not opened: {reason}" for reason in self.refused]
        return found


def demo_quarters(spec: DemoSpec) -> list[str]:
    """The last two complete quarters of the data window, oldest first."""
    _, end = spec.window()
    year, quarter = end.year, (end.month - 1) // 3 + 1
    if end.month % 3 or (end + dt.timedelta(days=1)).day != 1:  # the window ends inside a quarter
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    previous = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return [f"{previous[0]}-Q{previous[1]}", f"{year}-Q{quarter}"]


def load(spec: DemoSpec, now: dt.datetime | None = None) -> Loaded:
    from claimwatch.auth import repository as auth_repository
    from claimwatch.auth import service as auth_service
    from claimwatch.db import TenantContext, unit_of_work, utc_now
    from claimwatch.errors import Problem
    from claimwatch.risk import fairness

    now = now or utc_now()
    loaded = Loaded()
    quarters = demo_quarters(spec)
    for tenant in spec.tenants:
        with unit_of_work(TenantContext.system_context()) as session:
            from claimwatch.tenancy import repository as tenancy_repository

            found = tenancy_repository.tenant_by_code(session, tenant.code)
            qm = auth_repository.user_by_username(session, f"{tenant.code.lower()}.qm")
            if found is None or qm is None:
                continue
            tenant_id, principal = found.id, auth_service.principal_for_user(qm)
        for period in quarters:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                summary = fairness.run_period(session, tenant_id, period, principal.actor, now=now)
                loaded.runs.append(f"{tenant.code} {period}: {len(summary.flagged)} flags")
                flags = [(row.id, row.unit_kind, row.unit_label, row.measure) for row in summary.flagged]
            loaded.flagged += [f"{tenant.code} {period} {kind}:{label} {measure}" for _, kind, label, measure in flags]
            strict = STRICT_HANDLERS.get(tenant.code)
            if period != quarters[-1] or strict is None:
                continue
            for flag_id, kind, label, measure in flags:
                if (kind, label, measure) != ("handler", strict, "rejection"):
                    continue
                try:
                    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                        loaded.plans += fairness.open_plans(session, principal, flag_id, now=now)
                except Problem as exc:
                    loaded.refused.append(f"{tenant.code} {label}: {exc.field}: {exc.message}")
    return loaded

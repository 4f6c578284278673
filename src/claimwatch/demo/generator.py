"""Synthetic but realistic claim event streams, deterministic for a seed.

Claims arrive on the Chinese calendar (fewer on weekends and public holidays, except motor
accidents, which happen every day), peak in office hours, have log-normal amounts by line of
business, and walk their line's workflow with waits for missing materials, fast tracks, rework,
rejections, withdrawals and reopenings. Each tenant's stream is generated on its own, in report
order, with constant memory per claim, so 10 M claims stream straight to a file.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import chinese_calendar
import numpy as np

from claimwatch.demo import fairness as demo_fairness
from claimwatch.demo import risk as demo_risk
from claimwatch.demo.organisation import DEMO_TENANTS, DemoTenant

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
HOUR = 3600.0
DAY = 24 * HOUR

# line: (share of claims, log-normal median CNY, sigma, weekend factor, holiday factor)
LINES: dict[str, tuple[float, float, float, float, float]] = {
    "motor": (0.70, 3000.0, 1.0, 0.85, 0.75),
    "medical": (0.13, 2500.0, 1.1, 0.45, 0.30),
    "accident": (0.07, 6000.0, 1.2, 0.70, 0.60),
    "property": (0.06, 30000.0, 1.5, 0.40, 0.30),
    "life": (0.04, 120000.0, 1.0, 0.35, 0.25),
}
# Reports per hour of day (local time): night lull, morning and afternoon office peaks.
HOURLY = np.array([1, 1, 1, 1, 1, 2, 3, 6, 9, 11, 11, 9, 6, 8, 10, 10, 9, 8, 6, 5, 4, 3, 2, 1], dtype=float)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文斌宇浩凯欣怡晨阳子涵"
# Each cites the policy clause it rests on (保险法 art. 24); demo/fairness.py's strict handler sometimes does not.
REJECT_REASONS = (
    "依据保险条款第四条，不属于保险责任范围",
    "依据保险条款第二条，出险时保单已失效",
    "依据保险条款第十条，事故与投保标的不符",
    "依据保险条款第七条，存在责任免除约定情形",
)
WITHDRAW_REASONS = ("客户主动撤案", "损失轻微，客户自行处理", "重复报案")
REOPEN_REASONS = ("客户补充新的医疗发票", "复核发现理算有误", "客户对拒赔提出异议，经复核重开")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def default_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The twelve whole months before the current one: the data set's 'now' is the window's end."""
    today = today or dt.datetime.now(CHINA).date()
    end = today.replace(day=1) - dt.timedelta(days=1)
    start = _add_months(end.replace(day=1), -11)
    return start, end


@dataclass(frozen=True)
class DemoSpec:
    claims: int
    seed: int = 7
    start: dt.date | None = None
    end: dt.date | None = None
    tenants: tuple[DemoTenant, ...] = field(default=DEMO_TENANTS)

    def window(self) -> tuple[dt.date, dt.date]:
        start, end = default_window()
        start = self.start or start
        end = self.end or (end if self.start is None else min(end, _add_months(start, 12) - dt.timedelta(days=1)))
        if end < start:
            raise ValueError(f"the window ends ({end}) before it starts ({start})")
        for day in (start, end):
            try:
                chinese_calendar.is_workday(day)
            except NotImplementedError as exc:
                raise ValueError(f"no Chinese calendar data for {day.year}: {exc}") from exc
        return start, end

    def claims_per_tenant(self) -> list[int]:
        counts = [int(self.claims * tenant.share) for tenant in self.tenants]
        counts[0] += self.claims - sum(counts)
        return counts


def _add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    return day.replace(year=day.year + year, month=month + 1, day=1)


def id_number(area_code: str, birth: dt.date, serial: int) -> str:
    """An 18-digit resident ID number (6-digit area code) with a valid GB 11643 check digit."""
    body = f"{area_code}{birth:%Y%m%d}{serial:03d}"
    total = sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def _day_weights(days: list[dt.date], weekend: float, holiday: float) -> np.ndarray:
    by_kind = {"workday": 1.0, "holiday": holiday, "weekend": weekend}
    weights = np.array([by_kind[_day_kind(day)] for day in days])
    return weights / weights.sum()


@functools.lru_cache(maxsize=4096)
def _day_kind(day: dt.date) -> str:
    """workday (including 调休 make-up working days), holiday (a public holiday) or weekend. Cached: the weights
    are drawn for every tenant and kind of event over the same window's days (~30 × 365 calendar look-ups)."""
    try:
        if chinese_calendar.is_workday(day):
            return "workday"
        return "holiday" if _is_public_holiday(day) else "weekend"
    except NotImplementedError as exc:
        raise ValueError(f"no Chinese calendar data for {day.year}: {exc}") from exc


def _is_public_holiday(day: dt.date) -> bool:
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    return bool(on_holiday and name)


class _ClaimWalk:
    """Emits one claim's events along its workflow, stopping at the data set's 'now'."""

    def __init__(self, rng: random.Random, tenant: str, number: str, horizon: float) -> None:
        self.rng = rng
        self.tenant = tenant
        self.number = number
        self.horizon = horizon
        self.events: list[dict[str, Any]] = []
        self.clock = 0.0
        self.open = True

    def emit(self, event_type: str, at: float, **fields: Any) -> bool:
        if at > self.horizon:
            self.open = False
            return False
        self.clock = at
        event: dict[str, Any] = {
            "event_id": f"{self.number}-{len(self.events) + 1:02d}",
            "claim_number": self.number,
            "tenant": self.tenant,
            "type": event_type,
            "occurred_at": dt.datetime.fromtimestamp(round(at), CHINA).isoformat(),
        }
        event.update(fields)
        self.events.append(event)
        return True

    def move(self, status: str, after_hours: tuple[float, float], reason: str | None = None) -> bool:
        if not self.open:
            return False
        low, high = after_hours
        delay = self.rng.uniform(low, high) * HOUR
        fields: dict[str, Any] = {"to_status": status}
        if reason:
            fields["reason"] = reason
        return self.emit("transition", self.clock + delay, **fields)

    def note(self, event_type: str, after_hours: float, **fields: Any) -> bool:
        return self.open and self.emit(event_type, self.clock + after_hours * HOUR, **fields)


def _tier_hours(amount: float) -> tuple[float, float]:
    """Hours per handling step, by tier: calibrated so most claims meet the platform's timeliness
    targets (small 24 h, large 7 working days) and a realistic minority does not."""
    if amount < 5000:
        return 0.1, 3.2
    if amount < 50000:
        return 1.0, 16.0
    return 4.0, 40.0


# One branch per insurer has a bad last six weeks: a storm brings it half of the insurer's claims and every
# step takes several times longer (a backlog), so the demo's p-chart alerts fire on its small-claim
# timeliness and a quality manager has a special inspection to open. The storm draws from its own random
# stream, so every other claim of a seed stays as it was.
TROUBLED_BRANCHES = {"PICC": "PICC-SC", "PAIC": "PAIC-SH"}
TROUBLED_DAYS = 45
TROUBLED_SHARE = 0.5  # of the storm weeks' claims moved to the troubled branch
TROUBLED_SLOWDOWN = 5.0

# One branch per insurer handles every claim more slowly (about 60 % of its small claims within 24 h instead of over
# 90 %). In the whole month before the one its improvement action was raised in (LAGGING_RAISED_DAYS before Do
# ended) it fell further behind: a share of the insurer's other claims that month came to it (a surge) and every step
# took longer still (a backlog), so the p-chart alert on its small-claim timeliness fires for that month even at a
# few thousand demo claims, and the quality manager raises the action from that alert. PICC's got back to normal
# the day Do ended (LAGGING_FIXED_DAYS before the data set's end); PAIC's never did: slower still for three months
# after Do, then as slow as before (over the after window about as slow as over the months before, backlog month
# included, so its Check is no regression to the mean): demo/improvement.py checks both actions, improved and no
# significant change. The slow walks and the surge draw from their own random streams (as the storm), so every other
# claim of a seed stays as it was (those moved in the surge month aside).
LAGGING_BRANCHES = {"PICC": "PICC-JS", "PAIC": "PAIC-ZJ"}
LAGGING_FIXED = {"PICC": True, "PAIC": False}
LAGGING_FIXED_DAYS = 150
LAGGING_RAISED_DAYS = 30
LAGGING_SLOWDOWN = 1.4
LAGGING_UNFIXED_SLOWDOWN = 1.6  # PAIC's, the LAGGING_UNFIXED_DAYS after Do ended
LAGGING_UNFIXED_DAYS = 90
LAGGING_SURGE_SHARE = 0.4  # of the other branches' claims in the surge month moved to the slow branch
LAGGING_SURGE_SLOWDOWN = 2.2

# The model insurer (标杆公司): every handling step takes half as long (the same draws, scaled) and a withdrawal
# comes within the day, so its small claims meet the 24-hour target month after month; demo/complaints.py gives
# it fewer complaints on a larger book. Over the demo's twelve months it is the one insurer on the claim-service
# whitelist (demo/supervision.py). Its claims draw from the same random stream as before.
MODEL_TENANT = "CPIC"
MODEL_SPEED = 0.5
MODEL_WITHDRAW_HOURS = (1.0, 20.0)


def lagging(spec: DemoSpec, tenant_code: str) -> tuple[str, dt.date | None] | None:
    """The insurer's slow branch and the day its claims became as quick as the others' (None: never)."""
    code = LAGGING_BRANCHES.get(tenant_code)
    if code is None:
        return None
    fixed = lagging_do_ended(spec) if LAGGING_FIXED.get(tenant_code) else None
    return code, fixed


def lagging_do_ended(spec: DemoSpec) -> dt.date:
    """The day the slow branches' improvement actions ended Do (PICC's branch got back to normal that day)."""
    _, end = spec.window()
    return end + dt.timedelta(days=1 - LAGGING_FIXED_DAYS)


def lagging_alert_month(spec: DemoSpec) -> tuple[dt.date, dt.date]:
    """The slow branches' surge month (first and last day): the whole month before the actions were raised."""
    raised = lagging_do_ended(spec) - dt.timedelta(days=LAGGING_RAISED_DAYS)
    last = raised.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def _walk(walk: _ClaimWalk, line: str, amount: float, adjuster: str, slowdown: float = 1.0) -> None:
    rng = walk.rng
    low, high = _tier_hours(amount)
    step = (low * slowdown, high * slowdown)
    walk.note("assigned", rng.uniform(0.05, 1.0), assignee=adjuster)
    if not walk.move("accepted", (0.1, 4.0)) or not walk.move("initial_review", step):
        return
    if rng.random() < 0.03:
        walk.move("withdrawn", (1.0, 72.0) if slowdown >= 1.0 else MODEL_WITHDRAW_HOURS, rng.choice(WITHDRAW_REASONS))
        return
    rounds = 0
    while rng.random() < (0.35 if rounds == 0 else 0.2) and rounds < 3:
        rounds += 1
        if not walk.move("awaiting_materials", step) or not walk.move("initial_review", (24.0, 240.0)):
            return
    fast_track = line != "life" and amount < 5000 and rng.random() < 0.6
    if not fast_track:
        if not walk.move("investigation", step):
            return
        if rng.random() < 0.1:
            if not walk.move("awaiting_materials", step) or not walk.move("investigation", (24.0, 168.0)):
                return
        if rng.random() < 0.04:
            walk.move("rejected", step, rng.choice(REJECT_REASONS))
            _maybe_reopen(walk, line, amount)
            return
    _settle(walk, amount, step)
    _maybe_reopen(walk, line, amount)


def _settle(walk: _ClaimWalk, amount: float, step: tuple[float, float]) -> None:
    rng = walk.rng
    if not walk.move("assessment", step):
        return
    assessed = round(amount * rng.uniform(0.7, 1.0), 2)
    walk.note("amounts", rng.uniform(0.1, 2.0), assessed_amount=f"{assessed:.2f}")
    if not walk.move("verification", step):
        return
    if rng.random() < 0.08:  # sent back: rework
        if not walk.move("assessment", step) or not walk.move("verification", step):
            return
    if rng.random() < 0.05:
        walk.move("rejected", step, rng.choice(REJECT_REASONS))
        return
    if not walk.move("approval", step) or not walk.move("payment", step):
        return
    walk.note("amounts", rng.uniform(*step), paid_amount=f"{assessed:.2f}")
    walk.move("closed", step)


def _maybe_reopen(walk: _ClaimWalk, line: str, amount: float) -> None:
    if walk.open and walk.rng.random() < 0.02:
        if walk.move("reopened", (72.0, 720.0), walk.rng.choice(REOPEN_REASONS)):
            _settle(walk, amount, _tier_hours(amount))


def iter_tenant_events(spec: DemoSpec, tenant_index: int) -> Iterator[dict[str, Any]]:
    """One tenant's events, claim by claim in order of report time."""
    tenant = spec.tenants[tenant_index]
    count = spec.claims_per_tenant()[tenant_index]
    if count <= 0:
        return
    start, end = spec.window()
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    horizon = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), CHINA).timestamp() - 1
    horizon = min(horizon, dt.datetime.now(dt.UTC).timestamp())
    day_zero = dt.datetime.combine(start, dt.time(), CHINA).timestamp()
    troubled_from = horizon - TROUBLED_DAYS * DAY

    generator = np.random.default_rng([spec.seed, tenant_index])
    line_names = list(LINES)
    shares = np.array([LINES[name][0] for name in line_names])
    line_of = generator.choice(len(line_names), size=count, p=shares / shares.sum())
    report_at = np.empty(count)
    amounts = np.empty(count)
    for index, name in enumerate(line_names):
        mask = line_of == index
        size = int(mask.sum())
        _, median, sigma, weekend, holiday = LINES[name]
        day_index = generator.choice(len(days), size=size, p=_day_weights(days, weekend, holiday))
        hour = generator.choice(24, size=size, p=HOURLY / HOURLY.sum())
        report_at[mask] = day_zero + day_index * DAY + hour * HOUR + generator.uniform(0, HOUR, size)
        amounts[mask] = np.round(generator.lognormal(np.log(median), sigma, size), 2)
    amounts = np.maximum(amounts, 50.0)
    order = np.argsort(report_at, kind="stable")

    branch_weights = list(itertools.accumulate(b.weight for b in tenant.branches))
    troubled_branch = next((b for b in tenant.branches if b.code == TROUBLED_BRANCHES.get(tenant.code)), None)
    storm_rng = random.Random(f"{spec.seed}:{tenant.code}:storm")
    slow = lagging(spec, tenant.code)
    do_ended = dt.datetime.combine(lagging_do_ended(spec), dt.time(), CHINA).timestamp()
    slow_branch = next((b for b in tenant.branches if slow is not None and b.code == slow[0]), None)
    surge_first, surge_last = lagging_alert_month(spec)
    surge_from = dt.datetime.combine(surge_first, dt.time(), CHINA).timestamp()
    surge_until = dt.datetime.combine(surge_last + dt.timedelta(days=1), dt.time(), CHINA).timestamp()
    surge_rng = random.Random(f"{spec.seed}:{tenant.code}:lagging")
    adjusters = tenant.adjusters()
    rng = random.Random(f"{spec.seed}:{tenant.code}")
    risk_rng = random.Random(f"{spec.seed}:{tenant.code}:risk")  # report details (demo/risk.py), own stream
    frequent: list[dict[str, str]] = []  # claimants who claim again and again (demo/risk.py)
    for serial, claim_index in enumerate(order, start=1):
        line = line_names[int(line_of[claim_index])]
        amount = float(amounts[claim_index])
        branch = tenant.branches[bisect.bisect(branch_weights, rng.random() * branch_weights[-1])]
        org_code = branch.code
        if branch.sub_branches and rng.random() < 0.4:
            org_code = rng.choice(branch.sub_branches)[0]
        troubled = (
            troubled_branch is not None
            and float(report_at[claim_index]) > troubled_from
            and (branch is troubled_branch or storm_rng.random() < TROUBLED_SHARE)
        )
        if troubled and troubled_branch is not None:
            branch, org_code = troubled_branch, troubled_branch.code
        surging = (
            not troubled
            and slow_branch is not None
            and surge_from <= float(report_at[claim_index]) < surge_until
            and (branch is slow_branch or surge_rng.random() < LAGGING_SURGE_SHARE)
        )
        if surging and slow_branch is not None and branch is not slow_branch:
            branch, org_code = slow_branch, slow_branch.code
        reported_at = float(report_at[claim_index])
        number = f"{tenant.code}{dt.datetime.fromtimestamp(reported_at, CHINA):%Y%m%d}{serial:07d}"
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
        claimant = {
            "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
            "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            "id_number": id_number(branch.region_code[:2] + "0101", birth, rng.randrange(1000)),
        }
        claimant = demo_risk.maybe_repeat_claimant(risk_rng, claimant, frequent)
        walk = _ClaimWalk(rng, tenant.code, number, horizon)
        walk.emit(
            "reported",
            reported_at,
            claim={
                "line": line,
                "policy_number": f"P{tenant.code}{rng.randrange(10**12):012d}",
                "org_code": org_code,
                "region_code": branch.region_code,
                "claimant": claimant,
                "reported_amount": f"{amount:.2f}",
                "details": demo_risk.report_details(risk_rng, tenant.code, line, branch.region_code, reported_at),
            },
        )
        adjuster = rng.choice(adjusters)
        slowdown = TROUBLED_SLOWDOWN if troubled else LAGGING_SURGE_SLOWDOWN if surging else 1.0
        if slowdown == 1.0 and slow is not None and branch.code == slow[0]:
            if reported_at < do_ended:
                slowdown = LAGGING_SLOWDOWN
            elif slow[1] is None and reported_at < do_ended + LAGGING_UNFIXED_DAYS * DAY:
                slowdown = LAGGING_UNFIXED_SLOWDOWN
            elif slow[1] is None:
                slowdown = LAGGING_SLOWDOWN
        if slowdown != 1.0:
            # Walk as usual to keep the main stream's draws, then replace the events with the slow walk.
            _walk(walk, line, amount, adjuster)
            walk.events[1:] = []
            walk.clock, walk.open, walk.rng = reported_at, True, random.Random(f"{spec.seed}:{number}")
            _walk(walk, line, amount, adjuster, slowdown)
            walk.rng = rng
        else:
            _walk(walk, line, amount, adjuster, MODEL_SPEED if tenant.code == MODEL_TENANT else 1.0)
        # 降赔惜赔: one strict handler, and everyone's occasional short payment (its own random stream).
        demo_fairness.skew(walk.events, spec.seed, number, adjuster)
        yield from walk.events


def iter_claim_events(spec: DemoSpec, tenant_code: str | None = None) -> Iterator[dict[str, Any]]:
    """Every tenant's stream one after the other (or just one tenant's)."""
    for index, tenant in enumerate(spec.tenants):
        if tenant_code is None or tenant.code == tenant_code:
            yield from iter_tenant_events(spec, index)


def to_json_line(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"

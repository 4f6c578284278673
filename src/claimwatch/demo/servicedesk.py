"""Demo: the customer-service desk (issue 17, DESIGN M19, M6 peaks) at PICC (``STORY_TENANTS``), through the real
services except the history, which is written in bulk:

- Knowledge base (``kb.importer``): ``defaults/kb/sample_articles.yaml`` imported and published by the quality
  manager two months ago, except one article imported 14 months ago and never reviewed since (the stale report
  lists it); the service agent's new version of another article waits for review (``kb.service``).
- History (the fast path, :func:`_history`): 26 weeks of service requests up to now with a weekly pattern, dips
  on public holidays, a surge on the first working days after one and a slow rise into the year end. It writes
  what intake, reply, resolve and close write — the request rows (phone encrypted, keyed hash, masked name, jieba
  keywords), their events, their two clocks computed by the SLA engine with the servicedesk's own policies
  (``servicedesk.clocks.response_policy`` and the category's resolution target; stopped met or breached), one audit
  entry per state change — but in bulk, with no outbox messages (these replies were sent long ago). Requests of
  the last hours are still open, their clocks running; a few are past their deadline.
- Peak mode (``servicedesk.peak.declare``): a period after the latest long holiday in the history (declared when
  it started) and one declared two days ago by the supervisor for a cold wave (寒潮暴雪) on the claim-reporting and
  enquiry queues. Requests received inside them carry ``peak_period_id`` and the 36-hour target; the KPIs report
  them in their own column, while policy-change requests of the same days, not covered, breached the normal 24 h.
- Today's handling (``servicedesk.service``): the agent answers an enquiry with the first suggested article
  (``kb.search.suggest``; ``articles_used``; "was this helpful": yes), resolves and closes it; answers two requests
  received 30 hours ago under peak relief (on time at peak, late by the normal target); a dissatisfied customer's
  request is escalated into a complaint; two policy changes stay unanswered past 24 h; the clock sweep
  (``servicedesk.jobs.run_clocks``) tells handler and supervisors.
- Forecasts (``forecasts.service.run_forecast``): the requests and the claims of the whole insurer, 8 weeks ahead,
  with the back-test MAPE (the weekly worker pass adds one per team). The roster of the next 8 weeks
  (``forecasts.service.import_roster``, one CSV) is flat: every working day gets the forecast's median working day
  plus 15 % (Saturdays, Sundays and holidays theirs), each team its share — so Mondays, the day after a holiday and
  the later weeks of a rising forecast fall short and need more staff (``plan_for``'s peak days).

Call after ``demo_people_policies`` and before ``demo_supervision`` (its evidence heads cover every audit entry):
``demo_servicedesk.load(spec)``. Re-running changes nothing: an insurer with service requests is skipped.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import canonical_json, sha256_hex
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import Principal
from claimwatch.calendar import service as calendar_service
from claimwatch.calendar.workdays import Unit, WorkCalendar
from claimwatch.complaints.terms import stored_terms
from claimwatch.config import PACKAGE_DIR
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import DemoSpec
from claimwatch.demo.people_policies import STORY_TENANTS
from claimwatch.errors import Problem
from claimwatch.forecasts import series
from claimwatch.forecasts import service as forecasts_service
from claimwatch.kb import importer as kb_importer
from claimwatch.kb import search as kb_search
from claimwatch.kb import service as kb_service
from claimwatch.kb import stale as kb_stale
from claimwatch.kb.schemas import VersionIn
from claimwatch.privacy import field_cipher, keyed_hash, mask_name
from claimwatch.servicedesk import categories as sd_categories
from claimwatch.servicedesk import clocks as sd_clocks
from claimwatch.servicedesk import jobs as sd_jobs
from claimwatch.servicedesk import kpis as sd_kpis
from claimwatch.servicedesk import peak as sd_peak
from claimwatch.servicedesk import service as sd_service
from claimwatch.servicedesk.models import PeakPeriod, ServiceRequest, ServiceRequestClock, ServiceRequestEvent
from claimwatch.servicedesk.schemas import CustomerIn, ServiceRequestIn
from claimwatch.sla import engine
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import Policy
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone

T = TypeVar("T")
SAMPLE_ARTICLES = PACKAGE_DIR / "defaults" / "kb" / "sample_articles.yaml"
STALE_ARTICLE = "POL-006"  # 纸质保单补发: imported 14 months ago, never reviewed since
DRAFT_ARTICLE = "INV-001"  # its new version (全电发票) waits for the quality manager's review
HISTORY_WEEKS = 26
WEEKDAY_VOLUME = 36.0  # a typical Wednesday's requests at the demo insurer
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
# Monday … Sunday on a working day (a 调休 weekend working day counts as a working day at 0.85)
WEEKDAY_FACTOR = (1.25, 1.05, 1.0, 0.95, 0.9, 0.4, 0.3)
HOLIDAY_FACTOR, MAKEUP_FACTOR, AFTER_HOLIDAY = 0.3, 0.85, (1.8, 1.3)
# Requests per hour of the day (local): the hotline's office-hour peaks, the app at night.
HOURLY = np.array([1, 1, 0.5, 0.5, 0.5, 1, 2, 5, 10, 12, 11, 9, 6, 8, 10, 10, 9, 7, 5, 4, 4, 3, 2, 1])
# (category, share, channel weights phone/wechat/public/api)
CATEGORY_MIX = (("enquiry", 0.34), ("claim_report", 0.26), ("policy_change", 0.2), ("documents", 0.12),
                ("dissatisfaction", 0.08))  # fmt: skip
CHANNEL_MIX = (("phone", 0.55), ("wechat", 0.25), ("public", 0.12), ("api", 0.08))
PRIORITY_MIX = (("normal", 0.92), ("urgent", 0.065), ("emergency", 0.015))
# A few typical requests per category: subject, description, the answer's resolution code (first contact).
TEXTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "enquiry": (
        ("犹豫期退保咨询", "上周刚买的医疗险，犹豫期是多长时间？犹豫期内退保有没有损失？", "answered"),
        ("续期扣款失败", "续期保费扣款失败了，银行卡余额是够的，怎么办？有宽限期吗？", "answered"),
        ("开发票", "交了保费想开发票，单位报销需要增值税专用发票怎么开？", "answered"),
        ("电子保单下载", "电子保单在哪里下载打印？", "answered"),
        ("客服电话", "你们的客服电话是多少，晚上有人接听吗？", "answered"),
        ("车险续保保费上涨", "今年车险续保保费为什么涨了，去年只出了一次险。", "referred"),
    ),
    "claim_report": (
        ("交通事故怎么报案", "刚刚发生交通事故，追尾了前车，怎么报案？需要报警吗？", "report_taken"),
        ("住院理赔", "家人住院了，医疗险需要先报案吗？报案有没有时间限制？", "answered"),
        ("理赔进度查询", "上个月报的案，理赔多长时间能赔下来？怎么查询理赔进度？", "progress_told"),
        ("理赔材料", "医疗险理赔需要准备哪些材料？发票丢了怎么办？", "answered"),
        ("外地出险", "在外地出差时车被剐蹭，在外地出险了怎么处理？", "report_taken"),
    ),
    "policy_change": (
        ("变更联系电话", "手机号换了，想变更保单的联系电话和通讯地址。", "done"),
        ("变更受益人", "想把保单的身故受益人改成我女儿，怎样变更受益人？", "done"),
        ("变更扣款账户", "续期扣款的银行账户要换成新卡，怎么变更？", "done"),
        ("车辆过户", "车卖了已经过户，车险怎么办，可以批改吗？", "materials_missing"),
    ),
    "documents": (
        ("补发保单", "纸质保单丢失了，可以补发吗？", "sent"),
        ("完税凭证", "车险的发票和车船税完税凭证在哪里下载？", "sent"),
        ("保单证明", "办签证需要保险证明，能开具英文的保单证明吗？", "sent"),
    ),
    "dissatisfaction": (
        ("热线难打通", "客服热线打了三次都没人接，很不满意，希望改进。", "explained"),
        ("理赔等太久", "理赔材料交齐半个月了还没有结果，对处理速度很不满意。", "resolved"),
        ("业务员承诺不符", "业务员当初承诺的收益和合同不一样，要求给个说法。", "escalated"),
    ),
}
ANSWERS = {  # the reply the history's handler wrote (the story's come from the knowledge base)
    "enquiry": "您好，您咨询的问题已电话解答，详细说明可在官方APP“常见问题”中查看。",
    "claim_report": "您好，已为您登记/查询，理赔专员将与您联系，请保持电话畅通。",
    "policy_change": "您好，您的保全申请已受理，办理结果将以短信通知。",
    "documents": "您好，所需单证已发送至您预留的联系方式。",
    "dissatisfaction": "您好，非常抱歉给您带来不便，您反映的情况已记录并转相关部门跟进。",
}
PEAK_REASON = (
    "寒潮暴雪致车险出险及报案咨询量激增（约为平日2.5倍），开放队列超出当班处理能力，启动服务应急预案：报案咨询与一般"
    "咨询首次响应时限临时放宽至36小时，紧急与加急请求不适用。"
)
HOLIDAY_PEAK_REASON = (
    "长假后首个工作日起积压咨询集中涌入，队列超出排班能力，报案咨询与一般咨询首次响应时限放宽至36小时。"
)
PEAK_CATEGORIES = ["claim_report", "enquiry"]
DRAFT_ANSWER = (
    "自2026年起我司全面开具数电发票（全电发票）：交费成功后可在APP“发票服务”中填写抬头和税号申请，发票将发送至您的邮箱并可在"
    "税务数字账户查询；数电发票与纸质发票具有同等效力，单位报销无需再打印盖章。"
)
ROSTER_MARGIN = 1.15  # the roster covers a typical day of its kind plus this margin
STAFF_ACTOR = "demo:history"  # who the bulk history's audit entries name as their writer


@dataclass
class Loaded:
    articles: int = 0
    stale: list[str] = field(default_factory=list)
    waiting_review: list[str] = field(default_factory=list)
    history: int = 0
    open_now: int = 0
    peaks: list[str] = field(default_factory=list)
    answered_with_article: list[str] = field(default_factory=list)  # "SR-… ← POL-… (helpful)"
    relieved: list[str] = field(default_factory=list)  # answered after 24 h, before 36 h, under peak relief
    overdue: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)  # "SR-… → TS…"
    kpis: list[str] = field(default_factory=list)
    forecasts: list[str] = field(default_factory=list)
    roster_days: int = 0
    gap_days: list[str] = field(default_factory=list)
    swept: str = ""
    refused: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [
            f"knowledge base: {self.articles} articles published; stale {', '.join(self.stale) or 'none'}; "
            f"waiting for review {', '.join(self.waiting_review) or 'none'}",
            f"service requests: {self.history} in 26 weeks of history, {self.open_now} open; peaks "
            f"{'; '.join(self.peaks) or 'none'}",
            f"answered with a suggested article: {', '.join(self.answered_with_article) or 'none'}; "
            f"on time only under peak relief: {', '.join(self.relieved) or 'none'}",
            f"overdue: {', '.join(self.overdue) or 'none'}; escalated: {', '.join(self.escalated) or 'none'}; "
            f"{self.swept}",
            f"forecasts: {'; '.join(self.forecasts) or 'none'}; roster {self.roster_days} team-days, "
            f"days needing more staff: {', '.join(self.gap_days) or 'none'}",
        ]
        lines += [f"  KPIs {line}" for line in self.kpis]
        lines += [f"  refused: {r}" for r in self.refused]
        return lines


# -- the cast ----------------------------------------------------------------------------------------------------


@dataclass
class _Cast:
    tenant_id: int
    code: str
    zone: dt.tzinfo
    today: dt.date
    agent: Principal  # 客服 picc.cs: answers, edits articles
    supervisor: Principal  # declares peak mode, rosters
    qm: Principal  # imports and approves articles
    agent_id: int
    calendar: WorkCalendar


def _principal(username: str) -> Principal | None:
    with unit_of_work(TenantContext.system_reader()) as session:
        user = auth_repository.user_by_username(session, username)
        return auth_service.principal_for_user(user, session) if user is not None else None


def _cast(code: str, now: dt.datetime) -> _Cast | None:
    with unit_of_work(TenantContext.system_context()) as session:
        tenant = tenancy_repository.tenant_by_code(session, code)
    if tenant is None:
        return None
    prefix = code.lower()
    agent, supervisor, qm = (_principal(f"{prefix}.{n}") for n in ("cs", "supervisor", "qm"))
    if agent is None or supervisor is None or qm is None or agent.user_id is None:
        return None
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        if session.scalar(select(func.count()).select_from(ServiceRequest)):
            return None  # loaded before
        zone = tenant_zone(session, tenant.id)
        calendar = calendar_service.get_calendar(session)
    today = now.astimezone(zone).date()
    return _Cast(tenant.id, code, zone, today, agent, supervisor, qm, agent.user_id, calendar)


def _run(cast: _Cast, step: Callable[[Session], T]) -> T:
    with unit_of_work(TenantContext.for_tenant(cast.tenant_id)) as session:
        return step(session)


def _at(cast: _Cast, day: dt.date, hour: float) -> dt.datetime:
    return (dt.datetime.combine(day, dt.time(), cast.zone) + dt.timedelta(hours=hour)).astimezone(dt.UTC)


# -- knowledge base ----------------------------------------------------------------------------------------------


def _split_articles(text: str, code: str) -> tuple[str, str]:
    """The sample file as two files: the one article ``code`` and all the others (same header)."""
    head, _, body = text.partition("articles:\n")
    blocks = body.split("\n  - code: ")
    first, rest = blocks[0], blocks[1:]
    one = [b for b in rest if b.split("\n", 1)[0].strip() == code]
    others = [b for b in rest if b.split("\n", 1)[0].strip() != code]

    def file(chosen: list[str]) -> str:
        return head + "articles:\n" + first + "".join(f"\n  - code: {b}" for b in chosen) + "\n"

    return file(one), file(others)


def _load_kb(cast: _Cast, now: dt.datetime, loaded: Loaded) -> None:
    stale, fresh = _split_articles(SAMPLE_ARTICLES.read_text(encoding="utf-8"), STALE_ARTICLE)

    def step(session: Session) -> None:
        old = kb_importer.import_articles(session, cast.qm, stale, "sample_articles.yaml", now=now - 425 * DAY)
        new = kb_importer.import_articles(session, cast.qm, fresh, "sample_articles.yaml", now=now - 60 * DAY)
        loaded.articles += old.created + new.created
        article = kb_service.get_article(session, DRAFT_ARTICLE)
        version = kb_service.save_draft(
            session, cast.agent, DRAFT_ARTICLE, VersionIn(question=article.title, answer=DRAFT_ANSWER)
        )
        kb_service.submit(session, cast.agent, version.id)
        loaded.waiting_review.append(f"{DRAFT_ARTICLE} v{version.version}")
        loaded.stale += [str(row["code"]) for row in kb_stale.report(session, now.date())]

    _run(cast, step)


# -- peak periods ------------------------------------------------------------------------------------------------


def _public_holiday(calendar: WorkCalendar, day: dt.date) -> bool:
    return not calendar.is_working_day(day) and day in calendar.names


def _after_holiday(calendar: WorkCalendar, day: dt.date) -> int:
    """1 on the first working day after a public holiday, 2 on the second, else 0."""
    if not calendar.is_working_day(day):
        return 0
    back = day - DAY
    if _public_holiday(calendar, back):
        return 1
    if calendar.is_working_day(back) and _public_holiday(calendar, back - DAY):
        return 2
    return 0


def _declare_peaks(cast: _Cast, first: dt.date, now: dt.datetime, loaded: Loaded) -> None:
    """The latest post-holiday surge of the history (declared when it began) and today's cold wave (two days ago)."""
    day = cast.today - 14 * DAY
    surge = None
    while day > first + 14 * DAY:
        if _after_holiday(cast.calendar, day) == 1 and _public_holiday(
            cast.calendar, day - 3 * DAY
        ):  # a holiday of three days or more
            surge = day
            break
        day -= DAY
    wanted = [(_at(cast, surge, 8), _at(cast, surge + 3 * DAY, 0), HOLIDAY_PEAK_REASON)] if surge else []
    start = now - 50 * HOUR
    wanted.append((start, now + 5 * DAY, PEAK_REASON))

    def step(session: Session) -> None:
        for starts_at, ends_at, reason in wanted:
            period = sd_peak.declare(
                session, cast.supervisor, starts_at, ends_at, PEAK_CATEGORIES, reason, 36, now=starts_at
            )
            loaded.peaks.append(
                f"#{period.id} {starts_at.astimezone(cast.zone):%Y-%m-%d %H:%M}–{ends_at.astimezone(cast.zone):%m-%d}"
            )

    _run(cast, step)


# -- the history (bulk) ------------------------------------------------------------------------------------------


def daily_volumes(
    calendar: WorkCalendar, first: dt.date, last: dt.date, seed: int, weekday_volume: float = WEEKDAY_VOLUME
) -> list[int]:
    """Requests per local day from ``first`` to ``last``: the weekly pattern, holidays (dips), the first working
    days after a holiday (surges), the eve of a holiday, and a rise of 15 % over the window. Deterministic."""
    generator = np.random.default_rng(seed)
    days = (last - first).days + 1
    counts = []
    for index in range(days):
        day = first + index * DAY
        if _public_holiday(calendar, day):
            factor = HOLIDAY_FACTOR
        elif calendar.is_working_day(day):
            factor = MAKEUP_FACTOR if day.weekday() >= 5 else WEEKDAY_FACTOR[day.weekday()]
            after = _after_holiday(calendar, day)
            factor *= AFTER_HOLIDAY[after - 1] if after else (1.15 if _public_holiday(calendar, day + DAY) else 1.0)
        else:
            factor = WEEKDAY_FACTOR[day.weekday()]
        trend = 1 + 0.15 * index / max(days - 1, 1)
        counts.append(int(generator.poisson(weekday_volume * factor * trend)))
    return counts


@dataclass
class _Planned:
    received_at: dt.datetime
    category: str
    priority: str
    channel: str
    text: tuple[str, str, str]
    responded_at: dt.datetime
    resolved_at: dt.datetime
    phone: str
    name: str


def _pick(generator: np.random.Generator, mix: tuple[tuple[str, float], ...]) -> str:
    names, weights = zip(*mix, strict=True)
    return str(generator.choice(names, p=np.array(weights) / sum(weights)))


def _plan_history(cast: _Cast, first: dt.date, counts: list[int], seed: int, peaks: list[PeakPeriod]) -> list[_Planned]:
    generator = np.random.default_rng(seed + 17)
    hours = HOURLY / HOURLY.sum()
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚"
    planned = []
    for index, count in enumerate(counts):
        day = first + index * DAY
        for _ in range(count):
            received = _at(cast, day, float(generator.choice(24, p=hours)) + float(generator.random()))
            category = _pick(generator, CATEGORY_MIX)
            priority = _pick(generator, PRIORITY_MIX)
            relieved = priority == "normal" and any(
                p.starts_at <= received < p.ends_at and category in p.categories for p in peaks
            )
            median = {"normal": 9.0 if relieved else 5.0, "urgent": 2.5, "emergency": 0.6}[priority]
            response = float(generator.lognormal(math.log(median), 0.65 if priority == "normal" else 0.5))
            resolve = response + float(generator.exponential(1.5 if category in ("enquiry", "claim_report") else 30.0))
            planned.append(
                _Planned(
                    received_at=received,
                    category=category,
                    priority=priority,
                    channel=_pick(generator, CHANNEL_MIX),
                    text=TEXTS[category][int(generator.integers(len(TEXTS[category])))],
                    responded_at=received + dt.timedelta(hours=response),
                    resolved_at=received + dt.timedelta(hours=resolve),
                    phone=f"13{int(generator.integers(10**9)):09d}",
                    name=str(generator.choice(list(surnames))) + str(generator.choice(list(given))) * 1,
                )
            )
    planned.sort(key=lambda p: p.received_at)
    return planned


_EVENT_COLUMNS = ("tenant_id", "request_id", "kind", "actor", "at", "text", "message_id", "detail")


def _clock_row(state: engine.ClockState) -> dict[str, Any]:
    row = {name: getattr(state, name) for name in engine.CLOCK_FIELDS if name not in ("id", "claim_id")}
    row["request_id"] = state.claim_id
    return row


def _finish(axis: Any, state: engine.ClockState, at: dt.datetime) -> None:
    """As the servicedesk's clocks stop one: met, or breached by how much."""
    engine.stop(axis, state, max(at, state.started_at))
    late = state.consumed - state.red_budget - state.extended
    state.outcome, state.missed_by = ("breached", late) if late > 1e-6 else ("met", None)
    state.next_check_at = None


def _history(cast: _Cast, spec: DemoSpec, now: dt.datetime, loaded: Loaded, weekday_volume: float) -> None:
    first = cast.today - HISTORY_WEEKS * 7 * DAY
    counts = daily_volumes(cast.calendar, first, cast.today, spec.seed, weekday_volume)

    def step(session: Session) -> None:
        writer = audit_service.open_chain(session, cast.tenant_id)  # first: the chain head is locked
        peaks = sd_peak.periods(session, cast.tenant_id)
        catalogue = sd_categories.for_tenant(session, cast.tenant_id)
        levels = sd_clocks.tenant_levels(session, cast.tenant_id)
        axes = sla_service.Axes(session, cast.tenant_id)
        cipher = field_cipher()
        planned = [p for p in _plan_history(cast, first, counts, spec.seed, peaks) if p.received_at < now - HOUR]
        keywords: dict[tuple[str, str], str] = {}
        rows: list[dict[str, Any]] = []
        sequence: dict[int, int] = {}
        for item in planned:
            year = item.received_at.astimezone(cast.zone).year
            sequence[year] = sequence.get(year, 0) + 1
            subject, description, _ = item.text
            terms = keywords.get((subject, description))
            if terms is None:
                terms = keywords[(subject, description)] = stored_terms(subject, description, None)
            answered = item.responded_at <= now
            resolved = item.resolved_at <= now
            period = next(
                (p for p in peaks if item.priority in levels.peak_priorities
                 and p.starts_at <= item.received_at < p.ends_at and item.category in p.categories),
                None,
            )  # fmt: skip
            rows.append(
                dict(
                    tenant_id=cast.tenant_id, number=f"SR-{year:04d}-{sequence[year]:06d}", channel=item.channel,
                    category=item.category, priority=item.priority, subject=subject, description=description,
                    keywords=terms or None, customer_name_masked=mask_name(item.name),
                    phone_enc=cipher.encrypt(item.phone), phone_hash=keyed_hash(item.phone),
                    customer_key=keyed_hash(item.phone), team=catalogue.categories[item.category].team,
                    handler_id=cast.agent_id if answered else None,
                    status="closed" if resolved else ("in_progress" if answered else "open"),
                    received_at=item.received_at, first_response_at=item.responded_at if answered else None,
                    resolved_at=item.resolved_at if resolved else None,
                    closed_at=item.resolved_at if resolved else None,
                    resolution_code=item.text[2] if resolved else None,
                    first_contact_resolved=(item.category in ("enquiry", "claim_report")) if resolved else None,
                    peak_period_id=period.id if period is not None else None,
                    articles_used=[], created_by=cast.agent.actor, created_at=item.received_at,
                    updated_at=min(item.resolved_at, now),
                )
            )  # fmt: skip
        if not rows:
            return
        session.execute(insert(ServiceRequest), rows)  # executemany: no per-row RETURNING
        ids = {number: id_ for number, id_ in session.execute(select(ServiceRequest.number, ServiceRequest.id))}
        by_id = {p.id: p for p in peaks}
        events: list[tuple[Any, ...]] = []
        clock_rows: list[dict[str, Any]] = []
        policies: dict[tuple[str, str, int | None], tuple[Policy, Policy]] = {}
        actor = cast.agent.actor
        for row in rows:
            number, request_id, received_at = row["number"], ids[row["number"]], row["received_at"]
            key = (row["category"], row["priority"], row["peak_period_id"])
            if key not in policies:
                period = by_id.get(row["peak_period_id"]) if row["peak_period_id"] else None
                policies[key] = (
                    sd_clocks.response_policy(levels, row["priority"], period),
                    _resolution_policy(session, cast.tenant_id, row["category"], levels),
                )
            response, resolution = policies[key]
            received = {k: row[k] for k in ("channel", "category", "priority", "team", "peak_period_id")}
            received["bulk"] = True
            events.append((cast.tenant_id, request_id, "received", actor, received_at, None, None, received))
            _audit(writer, "received", number, received)
            states = [
                engine.new_clock(axes(policy.unit), policy, cast.tenant_id, request_id, 1, received_at)
                for policy in (response, resolution)
            ]
            if row["first_response_at"] is not None:
                _finish(axes(response.unit), states[0], row["first_response_at"])
                events.append((cast.tenant_id, request_id, "replied", actor, row["first_response_at"],
                               ANSWERS[row["category"]], None, {"channels": ["sms"], "first": True}))  # fmt: skip
                _audit(writer, "replied", number, {"first_response": True, "bulk": True})
            if row["resolved_at"] is not None:
                _finish(axes(resolution.unit), states[1], row["resolved_at"])
                detail = {"code": row["resolution_code"], "fcr": row["first_contact_resolved"]}
                events.append((cast.tenant_id, request_id, "resolved", actor, row["resolved_at"], None, None, detail))
                events.append((cast.tenant_id, request_id, "closed", actor, row["resolved_at"], None, None, {}))
                _audit(writer, "resolved", number, detail)
                _audit(writer, "closed", number, {"bulk": True})
            clock_rows += [_clock_row(state) for state in states]
        writer.close()
        session.execute(insert(ServiceRequestEvent), [dict(zip(_EVENT_COLUMNS, e, strict=True)) for e in events])
        session.execute(insert(ServiceRequestClock), clock_rows)
        loaded.history += len(rows)

    _run(cast, step)


def _audit(writer: audit_service.ChainWriter, kind: str, number: str, payload: dict[str, Any]) -> None:
    """One entry as ``audit_service.record`` writes it, on the chain writer the bulk path holds."""
    text = canonical_json(payload)
    writer.append(f"servicedesk.{kind}", number, STAFF_ACTOR, sha256_hex(text), text)


def _resolution_policy(session: Session, tenant_id: int, category: str, levels: sd_clocks.ServiceLevels) -> Policy:
    """The resolution policy the servicedesk's clocks build for a category (``clocks.start_for``)."""
    amount, unit = sd_clocks.resolution_target(session, ServiceRequest(tenant_id=tenant_id, category=category), levels)
    return Policy(
        code=sd_clocks.RESOLUTION, name_zh="办结时效", name_en="Resolution",
        basis="服务时效 (service_levels.yaml / categories.yaml)", unit=Unit(unit),
        yellow=float(amount) * levels.yellow_share, red=float(amount),
    )  # fmt: skip


# -- today's handling (through the services) ---------------------------------------------------------------------


def _customer(index: int) -> CustomerIn:
    return CustomerIn(name=("陈晓梅", "刘建国", "黄丽娟", "周志强", "吴海燕", "郑文斌")[index % 6],
                      phone=f"1390000{7300 + index:04d}")  # fmt: skip


def _intake(session: Session, cast: _Cast, index: int, category: str, text: tuple[str, str, str],
            received_at: dt.datetime, channel: str = "phone") -> ServiceRequest:  # fmt: skip
    data = ServiceRequestIn(
        channel=channel, external_ref=f"DEMO-SR-{cast.code}-{index:03d}", received_at=received_at, category=category,
        subject=text[0], description=text[1], customer=_customer(index),
    )  # fmt: skip
    request, _ = sd_service.intake(session, cast.agent, data)
    return request


def _today(cast: _Cast, now: dt.datetime, loaded: Loaded) -> None:
    def answer_with_article(session: Session) -> None:
        text = (
            "犹豫期内退保",
            "上周五在银行买了一份医疗险，现在不想要了。犹豫期是多长时间？犹豫期内退保有没有损失？",
            "",
        )
        request = _intake(session, cast, 1, "enquiry", text, now - 3 * HOUR, channel="wechat")
        sd_service.assign(session, cast.agent, request.number, username=f"{cast.code.lower()}.cs")
        hits = kb_search.suggest(session, cast.tenant_id, f"{request.subject}\n{request.description}", on=cast.today)
        if not hits:
            loaded.refused.append(f"{cast.code} suggest: no article suggested for {request.number}")
            return
        best = hits[0]
        sd_service.reply(session, cast.agent, request.number, best.answer, articles_used=[best.article_id])
        kb_service.feedback(session, cast.agent, best.article_id, True, request_id=request.id)
        sd_service.resolve(session, cast.agent, request.number, "answered")
        sd_service.close(session, cast.agent, request.number)
        loaded.answered_with_article.append(f"{request.number} ← {best.code} {best.title} (helpful)")

    def under_peak(session: Session) -> None:
        # received 30 hours ago, inside the cold-wave peak: answered now, on time at 36 h, late by the normal 24 h
        for index, text in enumerate(TEXTS["claim_report"][:2], start=2):
            request = _intake(session, cast, index, "claim_report", text, now - 30 * HOUR)
            sd_service.reply(session, cast.agent, request.number, ANSWERS["claim_report"])
            loaded.relieved.append(f"{request.number} (peak #{request.peak_period_id})")
        # still waiting inside the peak: their 36 h run
        for index, text in enumerate(TEXTS["enquiry"][1:4], start=4):
            _intake(session, cast, index, "enquiry", text, now - (20 + 3 * index) * HOUR, channel="public")

    def normal_breach(session: Session) -> None:
        # policy changes are not covered by the peak: 24 h, and these two are past it
        for index, text in enumerate(TEXTS["policy_change"][:2], start=8):
            request = _intake(session, cast, index, "policy_change", text, now - (27 + 4 * index) * HOUR)
            sd_service.assign(session, cast.supervisor, request.number, username=f"{cast.code.lower()}.cs")
            loaded.overdue.append(request.number)

    def escalate(session: Session) -> None:
        text = TEXTS["dissatisfaction"][2]
        request = _intake(session, cast, 12, "dissatisfaction", text, now - 6 * HOUR)
        sd_service.reply(session, cast.agent, request.number, ANSWERS["dissatisfaction"])
        complaint = sd_service.escalate_to_complaint(session, cast.agent, request.number, "sales", None)
        sd_service.resolve(session, cast.agent, request.number, "escalated")
        loaded.escalated.append(f"{request.number} → {complaint.number}")

    for name, step in (("article", answer_with_article), ("peak", under_peak), ("overdue", normal_breach),
                       ("escalate", escalate)):  # fmt: skip
        try:
            _run(cast, step)
        except Problem as exc:
            loaded.refused.append(f"{cast.code} {name}: {exc.field}: {exc.message}")


def _report(cast: _Cast, now: dt.datetime, loaded: Loaded) -> None:
    swept = sd_jobs.run_clocks(now)
    loaded.swept = f"clock sweep: {swept.checked} due, {swept.yellow} reminders, {swept.red} overdue notices"

    def step(session: Session) -> None:
        loaded.open_now += int(
            session.scalar(
                select(func.count())
                .select_from(ServiceRequest)
                .where(ServiceRequest.status.in_(sd_service.OPEN_STATUSES))
            )
            or 0
        )
        months = {(p.starts_at.astimezone(cast.zone).year, p.starts_at.astimezone(cast.zone).month)
                  for p in sd_peak.periods(session, cast.tenant_id)}  # fmt: skip
        for year, month in sorted(months):
            kpis = sd_kpis.month_kpis(session, cast.tenant_id, year, month, now=now)
            loaded.kpis.append(f"{cast.code} {kpis.month}: normal {_column(kpis.normal)} | peak {_column(kpis.peak)}")

    _run(cast, step)


def _column(column: sd_kpis.Column) -> str:
    rate, overdue = column.on_time_rate, column.overdue_share
    return (
        f"{column.counted} requests, on time {'—' if rate is None else f'{rate:.1%}'}, "
        f"overdue {'—' if overdue is None else f'{overdue:.1%}'}, relieved {column.relieved}"
    )


# -- forecasts and the roster ------------------------------------------------------------------------------------


def _forecasts(cast: _Cast, now: dt.datetime, loaded: Loaded) -> None:
    """The insurer's request and claim forecasts (the weekly worker pass adds one per team), then the roster."""

    def run(session: Session) -> None:
        for name in (series.SERVICE_REQUESTS, series.CLAIMS):
            try:
                with session.begin_nested():
                    made = forecasts_service.run_forecast(session, cast.tenant_id, cast.supervisor.actor, name, "", now)
            except Problem as exc:
                loaded.forecasts.append(f"{name} refused ({exc.field})")
                continue
            mape = "—" if made.backtest_mape is None else f"{made.backtest_mape:.1f} %"
            loaded.forecasts.append(f"{name} next {made.horizon_days} days, back-test MAPE {mape}")

    _run(cast, run)

    def roster(session: Session) -> None:
        _, plan = forecasts_service.plan_for(session, cast.tenant_id, "", now)
        if plan is None or not plan.days:
            return
        shares = _team_shares(session, now)
        typical: dict[str, list[float]] = {}
        for day in plan.days:
            typical.setdefault(_kind(cast.calendar, dt.date.fromisoformat(day["day"])), []).append(day["hours_needed"])
        rows = ["team,day,staff,hours"]
        for day in plan.days:
            on = dt.date.fromisoformat(day["day"])
            usual = statistics.median(typical[_kind(cast.calendar, on)])
            for team, share in shares.items():
                staff, hours = _shift(usual * ROSTER_MARGIN * share)
                rows.append(f"{team},{on.isoformat()},{staff},{hours:g}")
        forecasts_service.import_roster(session, cast.supervisor, "\n".join(rows).encode(), now=now)
        loaded.roster_days += len(rows) - 1
        _, plan = forecasts_service.plan_for(session, cast.tenant_id, "", now)
        if plan is not None:
            loaded.gap_days += [f"{a:%m-%d}" if a == b else f"{a:%m-%d}–{b:%m-%d}" for a, b in plan.peak_windows()]

    _run(cast, roster)


def _kind(calendar: WorkCalendar, day: dt.date) -> str:
    """How a day is rostered: every working day alike (调休 weekend days too), Saturdays, Sundays, holidays."""
    if calendar.is_working_day(day):
        return "working"
    return "holiday" if _public_holiday(calendar, day) else ("saturday", "sunday")[day.weekday() == 6]


def _team_shares(session: Session, now: dt.datetime) -> dict[str, float]:
    """Each team's share of the requests of the last 8 weeks."""
    counts: dict[str, int] = {
        str(team): int(count)
        for team, count in session.execute(
            select(ServiceRequest.team, func.count())
            .where(ServiceRequest.received_at >= now - 56 * DAY, ServiceRequest.team.is_not(None))
            .group_by(ServiceRequest.team)
        )
    }
    total = sum(counts.values()) or 1
    return {str(team): count / total for team, count in sorted(counts.items())}


def _shift(hours: float) -> tuple[int, float]:
    """People and hours each covering ``hours`` of work: 8-hour shifts at most, to the quarter hour (a team with
    little work has one person part of the day on it)."""
    staff = max(1, math.ceil(hours / 8))
    each = max(0.25, round(hours / staff * 4) / 4)
    return staff, min(each, 24.0)


# -- the whole story ---------------------------------------------------------------------------------------------


def load(
    spec: DemoSpec,
    now: dt.datetime | None = None,
    codes: tuple[str, ...] = STORY_TENANTS,
    weekday_volume: float | None = None,
) -> Loaded:
    """The story at each demo insurer of ``codes`` the spec has (default PICC: the history costs a few seconds).
    ``weekday_volume``: a typical working day's requests; by default it follows the demo's size (one a day per 80
    claims, between 4 and 36: 36 for the default 3 000 claims)."""
    now = now or utc_now()
    if weekday_volume is None:
        weekday_volume = min(WEEKDAY_VOLUME, max(4.0, spec.claims / 80))
    loaded = Loaded()
    for tenant in (t for t in spec.tenants if t.code in codes):
        cast = _cast(tenant.code, now)
        if cast is not None:
            _story(cast, spec, now, loaded, weekday_volume)
    return loaded


def _story(cast: _Cast, spec: DemoSpec, now: dt.datetime, loaded: Loaded, weekday_volume: float) -> None:
    """One insurer's story; a step the services refuse is reported, and the others still run."""
    first = cast.today - HISTORY_WEEKS * 7 * DAY
    steps: list[tuple[str, Callable[[], None]]] = [
        ("knowledge base", lambda: _load_kb(cast, now, loaded)),
        ("peak periods", lambda: _declare_peaks(cast, first, now, loaded)),
        ("history", lambda: _history(cast, spec, now, loaded, weekday_volume)),
        ("today", lambda: _today(cast, now, loaded)),
        ("report", lambda: _report(cast, now, loaded)),
        ("forecasts", lambda: _forecasts(cast, now, loaded)),
    ]
    for name, step in steps:
        try:
            step()
        except Problem as exc:
            loaded.refused.append(f"{cast.code} {name}: {exc.field}: {exc.message}")

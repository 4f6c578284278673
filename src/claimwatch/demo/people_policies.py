"""Demo: sales and underwriting quality and the people who do the work (issue 18, DESIGN M18, M20), through the
real services. At PICC (``STORY_TENANTS``; ``load(..., codes=...)`` for others):

- People (``people.service``): the handlers (理赔员, their platform accounts), an underwriter (核保员, a new
  account ``<tenant>.underwriter``), the service agent who makes the revisit calls and six sales agents (代理人),
  the agents managed by a new sales manager ``<tenant>.sales``. Every one has a licence; agent 张伟's sales
  licence ran out 50 days ago (he kept selling: his later sales are flagged ``unlicensed_agent``), agent
  刘洋's runs out in 20 days (warned once by the licence pass, ``people.jobs.warn_expiring``).
- Training (``people.training``): the courses the rules name (``defaults/people/training.yaml``: IND-STAFF,
  IND-AGENT, COMPLIANCE, SALES-CONDUCT), a product course and the remedial course 理赔服务规范重点培训, with
  sessions and attendance. The second branch stays below 100 %: a handler hired 45 days ago without the
  induction and 张伟, whose yearly compliance course is overdue; the repeat offender of ``demo/sanctions.py``
  (adjuster05) still owes the remedial course the sanction made mandatory.
- Sales (``policies.sales``): three months of sales by the six agents, with 投保提示书 and 双录 evidence; the bank
  agent 陈静's cancellations in the cooling-off period last month put her above the threshold; 杨帆 signed one
  sale without the disclosure. The long-term medical policies get their revisit (``policies.revisits``): most
  customers understood, one was unreachable after three calls, and one of 杨帆's customers was misled — the
  outcome opens a finding on the sale and flags it. The quality manager's targeted plan on the flagged sales
  (``subject_kind: sale``) samples them, 张伟's unlicensed sales among them.
- Underwriting (``policies.underwriting``): the rules loaded as a version, applications from the core system:
  low risk accepted at once, a rate-up and an exclusion decided under the rules, one high-risk case waiting for
  the underwriter's manual review, one decided with reasons (exclusion) and one declined with reasons — the
  applicants told through the outbox.
- Appraisal (``people.appraisal``): the scheme loaded, the last three months computed (scores, percentiles,
  stars), managers' comments on last month's cards.

Call after the quality loop (its sanctions make the mandatory training) and before ``demo_supervision`` (its
evidence heads cover every audit entry): ``demo_people_policies.load(spec)``. Re-running changes nothing: an
insurer that has staff already is skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import DemoSpec, id_number
from claimwatch.demo.organisation import DEMO_PASSWORD, DemoTenant
from claimwatch.errors import Problem
from claimwatch.imports import service as import_service
from claimwatch.inspections import service as inspections_service
from claimwatch.inspections.models import Inspection, InspectionFinding
from claimwatch.inspections.schemas import PlanDefinition
from claimwatch.people import appraisal, training
from claimwatch.people import jobs as people_jobs
from claimwatch.people import service as people_service
from claimwatch.people.models import AppraisalScorecard, StaffMember
from claimwatch.people.schemas import LicenceIn, StaffIn
from claimwatch.people.training_schemas import AttendanceIn, CourseIn, SessionIn
from claimwatch.policies import revisits, sales, underwriting
from claimwatch.policies.models import PolicyRevisit, PolicySale, SaleFlag, UnderwritingCase
from claimwatch.policies.sales_schemas import SaleIn
from claimwatch.policies.underwriting_schemas import ApplicationIn
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone

T = TypeVar("T")
STORY_TENANTS = ("PICC",)  # the insurers that get the story (the demo's first, whose logins the README uses)
DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)
# The agent whose sales licence ran out before his latest sales, and the one whose licence runs out soon.
UNLICENSED_AGENT, EXPIRING_AGENT, BANK_AGENT, MISLEADING_AGENT = "A02", "A03", "A04", "A05"
EXPIRED_DAYS_AGO, EXPIRING_IN_DAYS = 50, 20
NEW_HANDLER_DAYS = 45  # hired without the induction: overdue after 30 days
MISLED_NOTES = (
    "客户表示业务员称该产品“保证续保终身、既往症也能报销”，并称犹豫期后退保“全额退还保费”，与条款不符；"
    "客户要求核实并考虑退保。"
)
UNDERWRITING_REVIEW = (
    "体检报告空腹血糖7.8mmol/L、糖化血红蛋白7.1%，2型糖尿病确诊3年，口服药物控制；依核保手册第5章，除外承保。"
)
UNDERWRITING_TOLD = (
    "根据您的健康告知及体检结果（2型糖尿病），本合同对糖尿病及其并发症引起的保险责任不予承担，其他责任正常承保。"
)
DECLINE_REVIEW = "既往乳腺恶性肿瘤术后2年，仍在内分泌治疗期，依核保手册第7章恶性肿瘤章节，拒保。"
DECLINE_TOLD = "根据您告知的恶性肿瘤病史及目前治疗情况，本产品暂无法为您承保，您可在治疗结束满5年后重新申请。"
COMMENTS = {
    "handler": "本月时效达标率稳定，质检无重大问题；投诉回访需更及时，下月重点关注补材通知的一次性告知。",
    "A01": "本月销售质量优秀，告知与双录完整、无犹豫期退保，评为服务之星，予以通报表扬。",
    UNLICENSED_AGENT: "执业证到期未续仍继续展业，已暂停其销售资格，限期两周内完成续证并参加合规培训。",
    BANK_AGENT: "银保渠道犹豫期退保率明显偏高，需复盘销售话术，下月起由主管陪同抽查双录。",
}


@dataclass(frozen=True)
class Agent:
    suffix: str
    name: str
    job_title: str
    branch: int  # index into the tenant's branches
    hired_days_ago: int
    channel: str = "agent"


AGENTS: tuple[Agent, ...] = (
    Agent("A01", "李娜", "销售代理", 0, 1400),
    Agent("A02", "张伟", "销售代理", 1, 1100),
    Agent("A03", "刘洋", "销售代理", 0, 700),
    Agent("A04", "陈静", "销售人员", 0, 900, "bank"),
    Agent("A05", "杨帆", "销售代理", 1, 500),
    Agent("A06", "周婷", "销售代理", 2, 10),
)
HANDLER_NAMES = ("王芳", "赵磊", "孙丽", "周强", "吴敏", "郑浩", "冯雪", "何俊")
# (code, title, kind, hours, lines)
COURSES: tuple[tuple[str, str, str, float, list[str]], ...] = (
    ("IND-STAFF", "新员工岗前培训（理赔服务规范）", "induction", 16, []),
    ("IND-AGENT", "代理人岗前培训", "induction", 24, []),
    ("COMPLIANCE", "年度合规与消费者权益保护培训", "compliance", 4, []),
    ("SALES-CONDUCT", "销售行为规范：投保提示书与双录", "compliance", 3, ["health", "accident"]),
    ("PRD-LTM", "长期医疗保险产品知识", "product", 2, ["health"]),
    ("REM-CLAIMS", "理赔服务规范重点培训", "remedial", 6, []),
)
# (code, name, line, long term, premium range in CNY)
PRODUCTS: tuple[tuple[str, str, str, bool, int], ...] = (
    ("LTM20", "长期医疗保险（20年保证续保）", "health", True, 1860),
    ("MED1Y", "百万医疗保险（一年期）", "health", False, 468),
    ("PA1Y", "个人意外伤害保险", "accident", False, 198),
    ("DRV1Y", "驾乘人员意外伤害保险", "accident", False, 150),
    ("HOME1Y", "家庭财产综合保险", "property", False, 320),
)
SALE_STEPS: dict[str, tuple[int, ...]] = {  # days before today each agent signed a sale
    "A01": (66, 41, 20, 11, 4),
    "A02": (72, 61, 40, 25, 9),
    "A03": (45, 21, 6),
    "A05": (64, 35, 28, 8),
    "A06": (2,),
}


@dataclass
class Loaded:
    staff: int = 0
    licences_warned: list[str] = field(default_factory=list)  # "PICC A03 刘洋 SAL-…"
    coverage: list[str] = field(default_factory=list)  # "PICC 江苏分公司 66.7 %" (below target)
    missing: list[str] = field(default_factory=list)  # "PICC PICC-E08 冯雪: IND-STAFF overdue"
    sales: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    unlicensed_sampled: list[str] = field(default_factory=list)  # policy numbers drawn by the targeted plan
    plans: list[str] = field(default_factory=list)
    revisits: dict[str, int] = field(default_factory=dict)
    misled: list[str] = field(default_factory=list)  # "PICC <policy> → finding <number>"
    waiting: list[str] = field(default_factory=list)  # underwriting cases in manual review
    decided: list[str] = field(default_factory=list)  # decided with reasons by the underwriter
    cases: int = 0
    scorecards: int = 0
    stars: int = 0  # five-star cards
    comments: int = 0
    refused: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        flags = ", ".join(f"{rule} {n}" for rule, n in sorted(self.flags.items())) or "none"
        revisited = ", ".join(f"{k} {n}" for k, n in sorted(self.revisits.items())) or "none"
        lines = [
            f"people: {self.staff} staff and agents; licences warned: {', '.join(self.licences_warned) or 'none'}",
            f"training below target: {', '.join(self.coverage) or 'none'}; {len(self.missing)} people missing a "
            "mandatory course (/people/training)",
            f"sales: {self.sales} recorded; flags {flags}; revisits {revisited}",
            f"targeted sales plans {', '.join(self.plans) or 'none'}: unlicensed sales sampled "
            f"{', '.join(self.unlicensed_sampled) or 'none'}",
            f"underwriting: {self.cases} applications; waiting for manual review {', '.join(self.waiting) or 'none'};"
            f" decided with reasons {', '.join(self.decided) or 'none'}",
            f"appraisal: {self.scorecards} scorecards, {self.stars} five-star, {self.comments} manager comments",
        ]
        lines += [f"  misled customer at revisit: {m}" for m in self.misled]
        lines += [f"  refused: {r}" for r in self.refused]
        return lines


# -- helpers ---------------------------------------------------------------------------------------------------


def _run(tenant_id: int, step: Callable[[Session], T]) -> T:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return step(session)


def _principal(username: str) -> Principal | None:
    with unit_of_work(TenantContext.system_reader()) as session:
        user = auth_repository.user_by_username(session, username)
        return auth_service.principal_for_user(user, session) if user is not None else None


def _account(tenant_id: int, username: str, role: Role, display_name: str) -> Principal:
    """The demo account, created when the demo organisation has none (the underwriter, the sales manager)."""
    found = _principal(username)
    if found is not None:
        return found
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        auth_service.create_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            tenant_id=tenant_id,
            display_name=display_name,
            actor="demo",
        )
    principal = _principal(username)
    assert principal is not None
    return principal


def local_today(session: Session, tenant_id: int, now: dt.datetime) -> dt.date:
    return now.astimezone(tenant_zone(session, tenant_id)).date()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _at(day: dt.date, hour: int, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), zone).astimezone(dt.UTC)


@dataclass
class _Cast:
    tenant_id: int
    tenant: DemoTenant
    today: dt.date
    zone: dt.tzinfo
    admin: Principal
    qm: Principal
    supervisor: Principal
    sales_manager: Principal
    underwriter: Principal
    caller: Principal
    feed: Principal  # the core system (policies and applications)

    @property
    def prefix(self) -> str:
        return self.tenant.code.lower()

    def code(self, suffix: str) -> str:
        return f"{self.tenant.code}-{suffix}"

    def branch(self, index: int) -> str:
        return self.tenant.branches[index % len(self.tenant.branches)].code


def _cast(tenant: DemoTenant, now: dt.datetime) -> _Cast | None:
    with unit_of_work(TenantContext.system_context()) as session:
        found = tenancy_repository.tenant_by_code(session, tenant.code)
    if found is None:
        return None
    tenant_id = found.id
    prefix = tenant.code.lower()
    admin, qm, supervisor, caller = (_principal(f"{prefix}.{n}") for n in ("admin", "qm", "supervisor", "cs"))
    if admin is None or qm is None or supervisor is None or caller is None:
        return None
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        zone = tenant_zone(session, tenant_id)
        if session.scalar(select(func.count()).select_from(StaffMember)):
            return None  # loaded before
    return _Cast(
        tenant_id,
        tenant,
        now.astimezone(zone).date(),
        zone,
        admin,
        qm,
        supervisor,
        _account(tenant_id, f"{prefix}.sales", Role.SUPERVISOR, "个险销售主管"),
        _account(tenant_id, f"{prefix}.underwriter", Role.UNDERWRITER, "核保员"),
        caller,
        import_service.integration_principal(tenant_id, "core-policy-system"),
    )


# -- people ----------------------------------------------------------------------------------------------------


def _licence(kind: str, number: str, issued: dt.date, expires: dt.date) -> LicenceIn:
    return LicenceIn(kind=kind, number=number, issued_on=issued, expires_on=expires)


def _people(cast: _Cast) -> dict[str, StaffIn]:
    today, t = cast.today, cast.tenant
    people: dict[str, StaffIn] = {}
    for index, username in enumerate(t.adjusters()):
        hired = today - (NEW_HANDLER_DAYS if index == len(t.adjusters()) - 1 else 400 + 170 * index) * DAY
        people[f"E{index + 1:02d}"] = StaffIn(
            code=cast.code(f"E{index + 1:02d}"),
            name=HANDLER_NAMES[index % len(HANDLER_NAMES)],
            kind="employee",
            job_title="理赔员",
            org_unit=cast.branch(1 if index in (1, len(t.adjusters()) - 1) else index),
            username=username,
            manager=f"{cast.prefix}.supervisor",
            hired_on=hired,
            licence=_licence("claims_adjuster", f"LP{t.code}{index + 1:04d}", hired, today + (500 + 30 * index) * DAY),
        )
    people["U01"] = StaffIn(
        code=cast.code("U01"),
        name="钱晓燕",
        kind="employee",
        job_title="核保员",
        org_unit=f"{t.code}-HQ",
        username=f"{cast.prefix}.underwriter",
        manager=f"{cast.prefix}.qm",
        hired_on=today - 1600 * DAY,
        licence=_licence("underwriter", f"HB{t.code}0001", today - 800 * DAY, today + 300 * DAY),
    )
    people["S01"] = StaffIn(
        code=cast.code("S01"),
        name="林佳",
        kind="employee",
        job_title="客服专员",
        org_unit=f"{t.code}-HQ",
        username=f"{cast.prefix}.cs",
        manager=f"{cast.prefix}.qm",
        hired_on=today - 900 * DAY,
    )
    for agent in AGENTS:
        hired = today - agent.hired_days_ago * DAY
        expires = today + (400 + 10 * agent.hired_days_ago % 300) * DAY
        if agent.suffix == UNLICENSED_AGENT:
            expires = today - EXPIRED_DAYS_AGO * DAY
        elif agent.suffix == EXPIRING_AGENT:
            expires = today + EXPIRING_IN_DAYS * DAY
        people[agent.suffix] = StaffIn(
            code=cast.code(agent.suffix),
            name=agent.name,
            kind="agent",
            job_title=agent.job_title,
            org_unit=cast.branch(agent.branch),
            manager=f"{cast.prefix}.sales",
            hired_on=hired,
            # 保险销售从业人员执业证 numbers are 26 digits: a region and a serial.
            licence=_licence(
                "sales",
                f"0200{t.branches[0].region_code}{hired:%Y%m%d}{agent.suffix[1:]:0>8}",
                hired,
                expires,
            ),
        )
    return people


def _load_people(cast: _Cast, loaded: Loaded) -> dict[str, StaffIn]:
    people = _people(cast)

    def step(session: Session) -> None:
        for data in people.values():
            people_service.create_staff(session, cast.admin, data)

    _run(cast.tenant_id, step)
    loaded.staff += len(people)
    return people


def _warn_licences(cast: _Cast, now: dt.datetime, loaded: Loaded) -> None:
    result = _run(cast.tenant_id, lambda session: people_jobs.warn_expiring(session, now))
    loaded.licences_warned += [f"{cast.tenant.code} {code} {number}" for _, code, number in result.warned]


# -- training --------------------------------------------------------------------------------------------------


def _load_training(cast: _Cast, people: dict[str, StaffIn], loaded: Loaded) -> None:
    today, t = cast.today, cast.tenant
    employees = [k for k, p in people.items() if p.kind == "employee"]
    agents = [k for k, p in people.items() if p.kind == "agent"]
    new_handler = f"E{len(t.adjusters()):02d}"
    this_year = today - 120 * DAY  # the yearly compliance course, four months ago
    last_year = today - 430 * DAY  # …and 张伟's last one, more than twelve months ago
    attendance: list[tuple[str, dt.date, str | None, str, list[str], dict[str, Any]]] = []
    # Induction: each person in the class of their hire year, held a week after the year's last hire (the new
    # handler has had none yet; the new agent was on time).
    cohorts: dict[tuple[str, int], list[str]] = {}
    for key, person in people.items():
        if key != new_handler:
            course = "IND-STAFF" if person.kind == "employee" else "IND-AGENT"
            cohorts.setdefault((course, person.hired_on.year), []).append(key)
    for (course, _), keys in sorted(cohorts.items()):
        held = min(max(people[k].hired_on for k in keys) + 7 * DAY, today)
        attendance.append((course, held, None, "培训部 张老师", keys, {"passed": True}))
    by_branch: dict[str, list[str]] = {}
    for key in employees + agents:
        if people[key].hired_on <= this_year and key != UNLICENSED_AGENT:
            by_branch.setdefault(people[key].org_unit or "", []).append(key)
    for unit, keys in sorted(by_branch.items()):
        attendance.append(("COMPLIANCE", this_year, unit or None, "合规部 刘经理", keys, {"passed": True}))
    attendance.append(("COMPLIANCE", last_year, cast.branch(1), "合规部 刘经理", [UNLICENSED_AGENT], {"passed": True}))
    sellers = [k for k in agents if people[k].job_title in ("销售代理", "销售人员") and people[k].hired_on <= this_year]
    attendance.append(("SALES-CONDUCT", today - 100 * DAY, None, "个险部 陈经理", sellers, {"score": 88.0}))
    attendance.append(("PRD-LTM", today - 90 * DAY, None, "产品部 王经理", sellers, {}))
    attendance.append(("REM-CLAIMS", today - 3 * DAY, None, "理赔部 质量组", [], {}))  # adjuster05 has not come

    def step(session: Session) -> None:
        for code, title, kind, hours, lines in COURSES:
            training.create_course(
                session, cast.admin, CourseIn(code=code, title=title, kind=kind, hours=hours, lines=lines)
            )
        for course, held, unit, trainer, keys, extra in attendance:
            held_session = training.add_session(
                session,
                cast.admin,
                SessionIn(course=course, held_on=held, trainer=trainer, location="培训教室", org_unit=unit),
            )
            for key in keys:
                training.record_attendance(
                    session, cast.admin, held_session.id, AttendanceIn(staff=people[key].code, **extra)
                )

    _run(cast.tenant_id, step)

    def report(session: Session) -> None:
        for row in training.coverage_by_org(session, cast.tenant_id, today):
            if row.coverage is not None and row.coverage < 100 and row.depth > 0:
                loaded.coverage.append(f"{t.code} {row.name} {row.coverage:g} %")
        for person in training.requirements(session, cast.tenant_id, today):
            for requirement in person.missing:
                loaded.missing.append(f"{person.code} {person.name}: {requirement.course} {requirement.state}")

    _run(cast.tenant_id, report)


# -- sales and revisits ------------------------------------------------------------------------------------------


def _customer(cast: _Cast, serial: int, age: int, signed: dt.date) -> tuple[str, str, str]:
    """(ID number, name, phone) of a made-up customer of that age on the signing day."""
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林", "秀英建华明玉兰志强海燕文军静丽桂芳"
    name = surnames[serial % len(surnames)] + given[(serial * 7) % len(given)] + given[(serial * 3 + 1) % len(given)]
    birth = dt.date(signed.year - age, 1 + serial % 12, 1 + serial % 27)
    region = cast.tenant.branches[serial % len(cast.tenant.branches)].region_code
    return id_number(region[:2] + "0102", birth, 100 + serial % 900), name, f"1390{cast.tenant_id:02d}{serial:05d}"


def _sale(cast: _Cast, agent: Agent, serial: int, signed: dt.date, product: int, **overrides: Any) -> SaleIn:
    code, name, line, long_term, premium = PRODUCTS[product]
    age = overrides.pop("age", 28 + (serial * 11) % 34)
    id_no, customer, phone = _customer(cast, serial, age, signed)
    number = f"{cast.tenant.code}{signed:%Y%m%d}{serial:05d}"
    values: dict[str, Any] = {
        "policy_number": number,
        "product_code": code,
        "product_name": name,
        "line": line,
        "long_term": long_term,
        "channel": agent.channel,
        "agent": cast.code(agent.suffix),
        "customer_id_number": id_no,
        "customer_name": customer,
        "customer_phone": phone,
        "premium": Decimal(premium + (serial * 37) % 300),
        "signed_on": signed,
        "effective_on": signed + DAY,
        "disclosure_signed_on": signed,
        "recording_ref": f"SL/{signed:%Y/%m}/{number}.mp4",
        "recording_sha256": _sha256(f"recording:{number}"),
    }
    values.update(overrides)
    return SaleIn.model_validate(values)


def _sales_plan(cast: _Cast) -> tuple[list[SaleIn], list[tuple[str, dt.date]], str]:
    """The sales, the cooling-off cancellations (policy number, day) and the misled customer's policy."""
    today = cast.today
    agents = {a.suffix: a for a in AGENTS}
    found: list[SaleIn] = []
    cancelled: list[tuple[str, dt.date]] = []
    serial = 0
    misled = ""
    for suffix, steps in SALE_STEPS.items():
        for index, days in enumerate(steps):
            serial += 1
            product = (0, 2, 1, 3, 4)[(serial + index) % 5]
            extra: dict[str, Any] = {}
            if suffix == MISLEADING_AGENT and days == 35:
                extra = {"disclosure_signed_on": None}  # no 投保提示书 acknowledged
            if suffix == MISLEADING_AGENT and days == 8:
                product = 0
            if suffix == UNLICENSED_AGENT and days == 25:
                product = 0  # long-term: revisited, nobody answers
            sale = _sale(cast, agents[suffix], serial, today - days * DAY, product, **extra)
            if suffix == MISLEADING_AGENT and days == 8:
                misled = sale.policy_number
            found.append(sale)
    # The bank agent: ten sales last month, three cancelled within the cooling-off period (30 % > 10 %).
    first = (today.replace(day=1) - DAY).replace(day=1)
    for index in range(10):
        serial += 1
        signed = first + (2 * index + 1) * DAY
        sale = _sale(cast, agents[BANK_AGENT], serial, signed, (1, 2, 4)[index % 3], age=45 + index * 2)
        found.append(sale)
        if index in (1, 5, 8):
            cancelled.append((sale.policy_number, min(signed + (4 + index % 5) * DAY, today)))
    return found, cancelled, misled


def _load_sales(cast: _Cast, now: dt.datetime, loaded: Loaded) -> str:
    planned, cancelled, misled = _sales_plan(cast)

    def step(session: Session) -> None:
        for data in planned:
            sales.record_sale(session, cast.feed, data, source="api", now=min(_at(data.signed_on, 16, cast.zone), now))
        for number, day in cancelled:
            sales.cancel_sale(session, cast.feed, number, day, now=min(_at(day, 11, cast.zone), now))

    _run(cast.tenant_id, step)
    loaded.sales += len(planned)
    return misled


def _work_revisits(cast: _Cast, misled: str, now: dt.datetime, loaded: Loaded) -> None:
    """The service agent's calls: misled for the one policy, unreachable after three calls for a long-term sale
    of the unlicensed agent, understood for the rest signed more than five days ago; the newest stay due."""

    def step(session: Session) -> None:
        rows = session.execute(
            select(PolicyRevisit, PolicySale)
            .join(PolicySale, PolicySale.id == PolicyRevisit.sale_id)
            .order_by(PolicySale.signed_on, PolicySale.id)
        ).all()
        unlicensed = people_service.staff_by_code(session, cast.tenant_id, cast.code(UNLICENSED_AGENT))
        unreachable = False
        for revisit, sale in rows:
            age = (cast.today - sale.signed_on).days
            when = min(_at(sale.signed_on + 4 * DAY, 10, cast.zone), now)
            if sale.policy_number == misled:
                done = revisits.record_outcome(
                    session, cast.caller, revisit.id, outcome="misled", notes=MISLED_NOTES, now=now - DAY
                )
                finding = _finding_number(session, done.finding_id)
                loaded.misled.append(f"{cast.tenant.code} {sale.policy_number} → finding {finding}")
            elif not unreachable and unlicensed is not None and sale.agent_id == unlicensed.id and age > 12:
                unreachable = True
                for attempt in range(3):
                    revisits.record_attempt(
                        session, cast.caller, revisit.id, notes=f"第{attempt + 1}次致电无人接听", now=when
                    )
                revisits.record_outcome(session, cast.caller, revisit.id, outcome="unreachable", now=when)
            elif age > 5 and revisit.status != "done":
                revisits.record_outcome(
                    session, cast.caller, revisit.id, outcome="understood", notes="客户清楚保险责任与犹豫期", now=when
                )
        for status, count in session.execute(
            select(PolicyRevisit.outcome, func.count()).group_by(PolicyRevisit.outcome)
        ):
            key = status or "open"
            loaded.revisits[key] = loaded.revisits.get(key, 0) + int(count)

    _run(cast.tenant_id, step)


def _finding_number(session: Session, finding_id: int | None) -> str:
    finding = session.get(InspectionFinding, finding_id) if finding_id is not None else None
    return finding.number if finding is not None else "—"


def _sample_flagged(cast: _Cast, now: dt.datetime, loaded: Loaded) -> None:
    """The quality manager's targeted plan over the flagged sales, drawn at once; which unlicensed sales it took."""
    period = f"{cast.today:%Y-%m}"
    definition = PlanDefinition.model_validate(
        {
            "code": f"{cast.prefix}-sales-flagged-{period}",
            "name": f"销售质量专项检查（风险标记保单）{period}",
            "subject_kind": "sale",
            "scorecard": "sale",
            "population": {"flagged": True},
            "method": "targeted",
            "target": {"rule": "all"},
            "due_days": 10,
        }
    )

    def step(session: Session) -> None:
        plan = inspections_service.create_plan(session, cast.qm, definition)
        draw = inspections_service.draw_sample(session, cast.qm, plan.id, now=now)
        loaded.plans.append(f"{plan.code} ({draw.sample_count} sampled)")
        agent = people_service.staff_by_code(session, cast.tenant_id, cast.code(UNLICENSED_AGENT))
        numbers = session.scalars(
            select(PolicySale.policy_number)
            .join(Inspection, (Inspection.subject_id == PolicySale.id) & (Inspection.subject_kind == "sale"))
            .where(Inspection.draw_id == draw.id, PolicySale.agent_id == (agent.id if agent else -1))
            .order_by(PolicySale.signed_on)
        ).all()
        unlicensed = set(
            session.scalars(
                select(PolicySale.policy_number).where(
                    PolicySale.agent_id == (agent.id if agent else -1), PolicySale.flag_count > 0
                )
            ).all()
        )
        loaded.unlicensed_sampled += [n for n in numbers if n in unlicensed]

    _run(cast.tenant_id, step)


# -- underwriting ----------------------------------------------------------------------------------------------


def _application(cast: _Cast, serial: int, received: dt.datetime, **values: Any) -> ApplicationIn:
    age = int(values["facts"]["age"])
    id_no, name, phone = _customer(cast, 500 + serial, age, received.date())
    return ApplicationIn.model_validate(
        {
            "application_number": f"TB{cast.tenant.code}{received:%Y%m%d}{serial:04d}",
            "org_code": cast.branch(serial),
            "applicant": {"name": name, "id_number": id_no, "phone": phone},
            "received_at": received,
            **values,
        }
    )


def _load_underwriting(cast: _Cast, now: dt.datetime, loaded: Loaded) -> None:
    agent = cast.code("A01")
    plain = {"occupation_class": 1, "height_cm": 168, "weight_kg": 62, "smoker": False}
    applications = [
        # low risk: accepted at once
        _application(cast, 1, now - 50 * HOUR, product_code="LTM20", line="health", channel="agent",
                     agent_code=agent, sum_insured=Decimal(200000), premium=Decimal(1680), facts={"age": 32, **plain}),
        _application(cast, 2, now - 30 * HOUR, product_code="PA1Y", line="accident", channel="online",
                     sum_insured=Decimal(300000), premium=Decimal(260), facts={"age": 41, **plain}),
        # medium risk, decided under the rules: a rate-up (hazardous occupation), an exclusion (hypertension)
        _application(cast, 3, now - 26 * HOUR, product_code="PA1Y", line="accident", channel="agent",
                     agent_code=agent, sum_insured=Decimal(500000), premium=Decimal(420),
                     facts={"age": 36, **plain, "occupation_class": 5}),
        _application(cast, 4, now - 20 * HOUR, product_code="MED1Y", line="health", channel="bank",
                     agent_code=cast.code(BANK_AGENT), sum_insured=Decimal(2000000 // 4), premium=Decimal(980),
                     facts={"age": 47, **plain, "health": {"hypertension": True}}),
        # high risk: waits for the underwriter (sum insured 1.2 million, age 56, BMI 33, hypertension)
        _application(cast, 5, now - 5 * HOUR, product_code="LTM20", line="health", channel="agent",
                     agent_code=cast.code("A03"), sum_insured=Decimal(1200000), premium=Decimal(6800),
                     facts={"age": 56, "occupation_class": 2, "height_cm": 170, "weight_kg": 96, "smoker": True,
                            "health": {"hypertension": True}}),
        # high risk, decided by the underwriter with reasons: diabetes → exclusion
        _application(cast, 6, now - 40 * HOUR, product_code="LTM20", line="health", channel="agent",
                     agent_code=agent, sum_insured=Decimal(400000), premium=Decimal(5200),
                     facts={"age": 62, **plain, "smoker": True, "health": {"diabetes": True}}),
        # a cancer history: the rules propose a decline, which an underwriter decides
        _application(cast, 7, now - 30 * HOUR, product_code="LTM20", line="health", channel="telesales",
                     sum_insured=Decimal(200000), premium=Decimal(2100),
                     facts={"age": 44, **plain, "health": {"cancer": True}}),
    ]  # fmt: skip

    def step(session: Session) -> None:
        underwriting.load_rules(session, cast.qm)
        for data in applications:
            underwriting.submit(session, cast.feed, data, source="api")
        loaded.cases += len(applications)

    _run(cast.tenant_id, step)
    exclusion, decline, waiting = (a.application_number for a in (applications[5], applications[6], applications[4]))

    def review(session: Session) -> None:
        username = f"{cast.prefix}.underwriter"
        for number in (waiting, exclusion, decline):
            underwriting.assign(session, cast.underwriter, number, username)
        underwriting.decide(
            session, cast.underwriter, exclusion, outcome="exclusion", review_reasons=UNDERWRITING_REVIEW,
            reason=UNDERWRITING_TOLD,
        )  # fmt: skip
        underwriting.decide(
            session, cast.underwriter, decline, outcome="decline", review_reasons=DECLINE_REVIEW, reason=DECLINE_TOLD
        )
        for case in session.scalars(select(UnderwritingCase).order_by(UnderwritingCase.id)):
            if case.status == "in_review":
                loaded.waiting.append(case.application_number)
            elif case.status == "decided":
                loaded.decided.append(f"{case.application_number} {case.outcome}")

    _run(cast.tenant_id, review)


# -- appraisal -------------------------------------------------------------------------------------------------


def _shift(month: dt.date, steps: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + steps
    return dt.date(index // 12, index % 12 + 1, 1)


def _load_appraisal(cast: _Cast, now: dt.datetime, loaded: Loaded) -> None:
    last = _shift(cast.today.replace(day=1), -1)

    def step(session: Session) -> None:
        appraisal.load_scheme(session, cast.qm, cast.tenant_id)
        for back in (2, 1, 0):
            result = appraisal.compute_month(session, cast.tenant_id, _shift(last, -back), cast.qm, now)
            loaded.scorecards += result.cards

    _run(cast.tenant_id, step)

    def comment(session: Session) -> None:
        cards = {
            code: card_id
            for code, card_id in session.execute(
                select(StaffMember.code, AppraisalScorecard.id)
                .join(StaffMember, StaffMember.id == AppraisalScorecard.staff_id)
                .where(AppraisalScorecard.month == last)
            )
        }
        notes = [
            (cast.supervisor, cast.code("E01"), COMMENTS["handler"]),
            (cast.sales_manager, cast.code("A01"), COMMENTS["A01"]),
            (cast.sales_manager, cast.code(UNLICENSED_AGENT), COMMENTS[UNLICENSED_AGENT]),
            (cast.sales_manager, cast.code(BANK_AGENT), COMMENTS[BANK_AGENT]),
        ]
        for who, code, text in notes:
            if code in cards:
                appraisal.comment(session, who, cards[code], text)
                loaded.comments += 1
        loaded.stars += int(
            session.scalar(select(func.count()).select_from(AppraisalScorecard).where(AppraisalScorecard.stars == 5))
            or 0
        )

    _run(cast.tenant_id, comment)


# -- the whole story -------------------------------------------------------------------------------------------


def _count_flags(cast: _Cast, loaded: Loaded) -> None:
    def step(session: Session) -> None:
        for rule, count in session.execute(select(SaleFlag.rule, func.count()).group_by(SaleFlag.rule)):
            loaded.flags[rule] = loaded.flags.get(rule, 0) + int(count)

    _run(cast.tenant_id, step)


def _step(loaded: Loaded, cast: _Cast, name: str, run: Callable[..., T], *args: Any) -> T | None:
    """One step of an insurer's story; a step the services refuse is reported, and the others still run."""
    try:
        return run(cast, *args)
    except Problem as exc:
        loaded.refused.append(f"{cast.tenant.code} {name}: {exc.field}: {exc.message}")
        return None


def load(spec: DemoSpec, now: dt.datetime | None = None, codes: tuple[str, ...] = STORY_TENANTS) -> Loaded:
    """The story at each demo insurer of ``codes`` that the spec has (default: PICC only — each insurer costs a few
    seconds of ``demo setup``)."""
    now = now or utc_now()
    loaded = Loaded()
    for tenant in (t for t in spec.tenants if t.code in codes):
        cast = _cast(tenant, now)
        if cast is None:
            continue
        people = _step(loaded, cast, "people", _load_people, loaded)
        if people is None:
            continue
        _step(loaded, cast, "licences", _warn_licences, now, loaded)
        _step(loaded, cast, "training", _load_training, people, loaded)
        misled = _step(loaded, cast, "sales", _load_sales, now, loaded)
        _step(loaded, cast, "revisits", _work_revisits, misled or "", now, loaded)
        _step(loaded, cast, "flags", _count_flags, loaded)
        _step(loaded, cast, "sampling", _sample_flagged, now, loaded)
        _step(loaded, cast, "underwriting", _load_underwriting, now, loaded)
        _step(loaded, cast, "appraisal", _load_appraisal, now, loaded)
    return loaded

"""Demo: third parties in the claim (issue 21, DESIGN M23), through the real services with backdated times.

Per demo insurer, ten providers of every kind (appraisal agencies 鉴定/公估机构, repair shops 维修机构, hospitals,
a surveyor, a law firm) with their contracts and service levels, and a year of tasks on the insurer's own claims,
each sent while its claim was open, accepted (a few declined and sent elsewhere), reported, and closed by the
handler once read (the last days' reports still wait in the handlers' inboxes):

- most reports come in on time; one appraisal agency is late about 30 % of the time (seed 003: 18 % of one
  insurer's appraisal reports were late); one repair shop's estimates are disputed often and mostly upheld
  (seed 003: 24 % of loss-assessment disputes came from repair shops), with a complaint naming it;
- the same repair-shop chain (one 统一社会信用代码) works for two insurers and is late for both: the regulator's
  statistics across insurers show it;
- the surveyor works without a contract (一事一议): its tasks run on the kind's default level and never count as
  standard; early in the year many tasks went out without the kind's standard document set, fewer later;
- a slow appraisal agency is suspended with its reason, a repair shop is on the sanctions blacklist
  (``demo/sanctions.py``'s 鑫达汽车修理厂), a hospital's licence has expired: a new task to any of them is refused;
- this week an appraisal went out on an open motor claim and came back late: it shows on the claim page, on the
  agency's scorecard and in the cooperation-standardisation rate (第三方机构合作规范率); a large motor loss entering
  loss assessment gets its appraisal from the rule (``defaults/providers/task_rules.yaml``);
- the monthly scorecards are computed and flag the providers below the thresholds; one provider key is issued
  (printed once in the summary).

Runs after the quality loop (the blacklist) and before the KPI snapshot is retaken (improvement, committee).
Re-running changes nothing: an insurer that has providers already is skipped.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Permission, Principal
from claimwatch.calendar import service as calendar_service
from claimwatch.cases.models import Claim
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import schemas as complaint_schemas
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import CHINA, DemoSpec, id_number
from claimwatch.demo.organisation import DemoTenant
from claimwatch.demo.queue_materials import demo_pdf
from claimwatch.errors import Problem
from claimwatch.imports import jobs as import_jobs
from claimwatch.imports import service as import_service
from claimwatch.materials import service as materials_service
from claimwatch.providers import flags, loader, scorecards, task_service
from claimwatch.providers import provider_service as answers
from claimwatch.providers import schemas as provider_schemas
from claimwatch.providers import service as register
from claimwatch.providers.loader import TaskKind
from claimwatch.providers.models import Provider, ProviderTask
from claimwatch.sanctions import service as sanctions_service
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.models import Tenant

SEED_OFFSET = 2121  # this module's own random stream
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MAX_TASKS_PER_TENANT = 360  # PICC has about 400 candidates at the default 3 000 claims
# The chain that works for two insurers and is late for both (the regulator joins on its credit code).
SHARED_CHAIN = ("RS-KXX", "快修侠汽车服务连锁有限公司", ("PICC", "PAIC"))
BLACKLISTED = ("RS-0042", "鑫达汽车修理厂")  # demo/sanctions.py lists it; the demo makes sure it is listed
KIND_OF_TASK = {
    "appraisal_agency": "appraisal",
    "repair_shop": "repair_estimate",
    "hospital": "medical_records",
    "surveyor": "survey",
    "law_firm": "legal_opinion",
}
# Contract service levels per task kind: (days, unit).
LEVELS: dict[str, tuple[int, str]] = {
    "appraisal": (3, "working_days"),
    "repair_estimate": (3, "working_days"),
    "medical_records": (3, "working_days"),
    "survey": (24, "hours"),
    "legal_opinion": (10, "working_days"),
}


@dataclass(frozen=True)
class DemoProvider:
    suffix: str  # the code is "<TENANT>-<suffix>", except the shared chain's and the blacklisted shop's
    name: str  # "{city}" is the insurer's first branch's province
    kind: str
    lines: tuple[str, ...]
    late: float  # share of its reports that come in after the deadline
    weight: float = 1.0  # its share of its kind's tasks, against the others of the kind
    disputed: float = 0.0  # share of its reports disputed
    upheld: float = 0.3  # share of those disputes upheld
    contract: bool = True
    story: str = ""  # slow | disputed | shared | suspended | blacklisted | licence_expired | no_contract


MOTOR, MOTOR_PROPERTY = ("motor",), ("motor", "property")
PROVIDERS: tuple[DemoProvider, ...] = (
    DemoProvider("AP01", "{city}华信保险公估有限公司", "appraisal_agency", MOTOR_PROPERTY, 0.30, 4, 0.05, story="slow"),
    DemoProvider("AP02", "{city}正衡司法鉴定所", "appraisal_agency", ("motor", "accident"), 0.04, 2, 0.04),
    DemoProvider(
        "AP03", "{city}远通保险公估有限公司", "appraisal_agency", MOTOR_PROPERTY, 0.45, 1, 0.1, story="suspended"
    ),
    DemoProvider("RS01", "{city}安达汽车维修服务有限公司", "repair_shop", MOTOR, 0.08, 2, 0.35, 0.75, story="disputed"),
    DemoProvider("KXX", SHARED_CHAIN[1], "repair_shop", MOTOR, 0.55, 2, 0.1, story="shared"),
    DemoProvider("0042", BLACKLISTED[1], "repair_shop", MOTOR, 0.2, 1, 0.2, story="blacklisted"),
    DemoProvider("HOS01", "{city}省人民医院", "hospital", ("medical", "accident", "life"), 0.12, 2),
    DemoProvider("HOS02", "{city}仁和医院", "hospital", ("medical", "accident"), 0.1, 1, story="licence_expired"),
    DemoProvider(
        "SV01", "{city}迅达查勘服务有限公司", "surveyor", MOTOR_PROPERTY, 0.1, contract=False, story="no_contract"
    ),
    DemoProvider("LAW01", "{city}明理律师事务所", "law_firm", ("life", "accident", "property"), 0.05, 1, 0.05),
)
DECLINE_SHARE = 0.03  # tasks a provider declines (the handler sends it to another of the kind)
DECLINE_REASONS = ("近期业务量饱和，无法在时限内完成", "该地区暂无可派查勘人员", "与案件当事人存在利害关系，申请回避")
SUSPENDED_DAYS_AGO, LICENCE_EXPIRED_DAYS_AGO = 20, 45
FLAGGED_MONTHS = 3  # the monthly scorecard review has run for the last three months
WARNING_NOTE = "定损异议成立率持续偏高，已书面警示，要求一个月内提交整改报告"
SUSPENSION_REASON = "连续两个月鉴定报告超时率超过40%，经评审暂停合作，待整改验收后恢复"
CONCLUSIONS = {
    "appraisal": ("损失与事故成因相符，按核定金额赔付", "部分损失为旧损，已剔除", "损失程度评定为中度"),
    "repair_estimate": ("按原厂配件价格核定维修费用", "更换前保险杠及大灯总成，钣喷两面", "维修工时按当地标准核定"),
    "medical_records": ("病历资料齐全，已调取住院病案首页及费用清单", "已调取门诊病历及检查报告"),
    "survey": ("现场查勘完毕，损失属实", "标的受损与报案经过一致"),
    "legal_opinion": ("属于保险责任范围，建议赔付", "存在免责情形，建议依条款拒赔并书面说明理由"),
}
DISPUTE_REASONS = {
    "claimant": ("维修报价明显低于4S店报价，要求重新定损", "鉴定结论未考虑车辆实际使用情况", "病历调取不完整"),
    "handler": ("报告所列配件价格与市场价不符，请复核", "鉴定金额与现场照片不一致", "报告缺少损失照片说明"),
}
RESOLUTION_NOTES = {
    "upheld": "经复核，原报告有误，已由机构出具更正报告",
    "rejected": "经复核，原报告依据充分，维持原结论",
}


@dataclass
class Loaded:
    providers: int = 0
    contracts: int = 0
    tasks: int = 0
    late: int = 0
    declined: int = 0
    standard: int = 0
    disputes: dict[str, int] = field(default_factory=dict)
    refusals: list[tuple[str, str, str]] = field(default_factory=list)  # (code, story, message): refused new tasks
    complaints: int = 0
    scorecards: int = 0
    flags: int = 0
    warned: int = 0
    by_rule: list[str] = field(default_factory=list)  # the appraisals a rule sent when a claim entered assessment
    this_week: list[str] = field(default_factory=list)  # the appraisals sent this week and answered late
    sent_to: dict[str, int] = field(default_factory=dict)  # tasks per provider code at the insurer being loaded
    keys: list[tuple[str, str, str]] = field(default_factory=list)  # (tenant, provider code, key) — shown once

    def lines(self) -> list[str]:
        disputes = ", ".join(f"{outcome} {count}" for outcome, count in sorted(self.disputes.items())) or "none"
        lines = [
            f"providers: {self.providers} registered with {self.contracts} contracts; {self.tasks} tasks, "
            f"{self.late} reported late, {self.standard} standard, {self.declined} declined; disputes {disputes}; "
            f"{self.complaints} complaints naming a provider",
            f"provider scorecards: {self.scorecards} for the last {FLAGGED_MONTHS} months, {self.flags} flags for "
            f"review ({self.warned} reviewed: warned)",
        ]
        if self.refusals:
            refused = ", ".join(f"{code} ({story})" for code, story, _ in self.refusals)
            lines.append(f"  a new task refused, nothing written: {refused}")
        lines += [f"  appraisal sent this week and answered late: {task}" for task in self.this_week]
        lines += [f"  appraisal sent by a rule on entering assessment: {task}" for task in self.by_rule]
        if self.this_week:
            lines.append(
                "  see /providers, /provider-tasks, /providers/<code>/scorecard, /providers/flags; the regulator: "
                "/providers/statistics"
            )
        lines += [f"provider API key of {code} at {tenant} (shown once): {key}" for tenant, code, key in self.keys]
        return lines


# -- who acts ------------------------------------------------------------------------------------------------


def _user_principal(username: str) -> Principal | None:
    with unit_of_work(TenantContext.system_reader()) as session:
        user = auth_repository.user_by_username(session, username)
        return auth_service.principal_for_user(user, session) if user is not None else None


@dataclass
class _Staff:
    tenant_id: int
    qm: Principal
    supervisor: Principal
    desk: Principal  # the complaint desk
    senders: dict[int, Principal]  # the claim's handler (user id) when they may send tasks

    def sender(self, assignee_id: int | None) -> Principal:
        return self.senders.get(assignee_id or 0, self.supervisor)


def _staff(tenant_id: int, tenant: DemoTenant) -> _Staff | None:
    prefix = tenant.code.lower()
    qm, supervisor, desk = (_user_principal(f"{prefix}.{name}") for name in ("qm", "supervisor", "cs"))
    if qm is None or supervisor is None or desk is None:
        return None
    senders: dict[int, Principal] = {}
    for username in tenant.adjusters():
        principal = _user_principal(username)
        # A suspended handler (demo/sanctions.py) may not send: their supervisor does.
        if principal is not None and principal.user_id is not None and principal.can(Permission.SEND_PROVIDER_TASKS):
            senders[principal.user_id] = principal
    return _Staff(tenant_id, qm, supervisor, desk, senders)


def _provider_principal(tenant_id: int, provider_id: int, code: str) -> Principal:
    """The provider answering through its own key (what the provider API resolves its key to)."""
    return Principal(role=Role.PROVIDER, tenant_id=tenant_id, actor=f"provider:{code}", provider_id=provider_id)


# -- the register ----------------------------------------------------------------------------------------------


def credit_code(region: str, seed: str) -> str:
    """A 统一社会信用代码 (GB 32100-2015) with a valid check character: 91 (an enterprise), the region's six
    digits, a nine-digit organisation code drawn from ``seed``."""
    body = f"91{region[:6]}{zlib.crc32(seed.encode()) % 10**9:09d}"
    return body + register.credit_check_char(body)


def _code(tenant: str, provider: DemoProvider) -> str:
    if provider.story == "shared":
        return SHARED_CHAIN[0]
    if provider.story == "blacklisted":
        return BLACKLISTED[0]
    return f"{tenant}-{provider.suffix}"


def _cast(tenant: DemoTenant) -> list[DemoProvider]:
    return [p for p in PROVIDERS if p.story != "shared" or tenant.code in SHARED_CHAIN[2]]


def _province(tenant: DemoTenant) -> str:
    return tenant.branches[0].name.removesuffix("分公司")


def _register(session: Session, staff: _Staff, tenant: DemoTenant, provider: DemoProvider, today: dt.date) -> int:
    code = _code(tenant.code, provider)
    region = tenant.branches[0].region_code
    seed = code if provider.story == "shared" else f"{tenant.code}:{provider.suffix}"
    licence_expires = today + dt.timedelta(days=400)
    if provider.story == "licence_expired":
        licence_expires = today - LICENCE_EXPIRED_DAYS_AGO * DAY
    data = provider_schemas.ProviderIn(
        code=code,
        name=provider.name.format(city=_province(tenant)),
        kind=provider.kind,
        credit_code=credit_code("440300" if provider.story == "shared" else region, seed),
        regions=[branch.region_code for branch in tenant.branches],
        lines=list(provider.lines),
        licence_number=f"LIC-{code}",
        licence_expires_on=licence_expires,
        contact_name="联系人" + provider.suffix[-2:],
        contact_phone=f"1390000{zlib.crc32(code.encode()) % 10000:04d}",
        contact_email=f"{code.lower()}@providers.example.cn",
    )
    created = register.register(session, staff.qm, data)
    return int(created.id)


def _contract(session: Session, staff: _Staff, code: str, kind: str, start: dt.date, today: dt.date) -> None:
    days, unit = LEVELS[kind]
    register.add_contract(
        session,
        staff.qm,
        code,
        reference=f"HT-{code}-{start:%Y}",
        starts_on=start,
        ends_on=dt.date(today.year + 1, 12, 31),
        fee_schedule_ref=f"{start:%Y}年第三方服务收费标准",
        levels={kind: (days, unit)},
    )


# -- the year of tasks ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    id: int
    number: str
    line: str
    region_code: str | None
    amount: Decimal
    reported_at: dt.datetime
    closed_at: dt.datetime | None
    assignee_id: int | None


def _claims(tenant_id: int) -> list[_Claim]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = session.execute(
            select(
                Claim.id,
                Claim.number,
                Claim.line,
                Claim.region_code,
                Claim.reported_amount_fen,
                Claim.reported_at,
                Claim.closed_at,
                Claim.assignee_id,
            ).order_by(Claim.reported_at, Claim.id)
        ).all()
    return [_Claim(r[0], r[1], r[2], r[3], Decimal(r[4] or 0) / 100, r[5], r[6], r[7]) for r in rows]


def _task_kind(rng: random.Random, claim: _Claim) -> str | None:
    """What a handler would send out for this claim, if anything."""
    amount = claim.amount
    draw = rng.random()
    if claim.line == "motor":
        if amount >= 5000:  # smaller damage is settled without an appraisal or an estimate
            return "appraisal" if draw < 0.4 else ("repair_estimate" if draw < 0.85 else None)
        return None
    if claim.line == "medical":
        return "medical_records" if draw < 0.45 else None
    if claim.line == "property":
        return "survey" if draw < 0.5 else ("appraisal" if draw < 0.7 else None)
    if claim.line in ("accident", "life"):
        if draw < 0.35:
            return "medical_records"
        return "legal_opinion" if amount >= 50000 and draw < 0.6 else None
    return None


def _fields(rng: random.Random, kind: TaskKind, claim: _Claim, sent_at: dt.datetime) -> dict[str, object]:
    """The report's fields: every required field of the kind, filled as the provider would."""
    values: dict[str, object] = {}
    for spec in kind.required_fields:
        if spec.name == "conclusion":
            values["conclusion"] = rng.choice(CONCLUSIONS.get(kind.code, ("已完成",)))
        elif spec.type == "amount":
            share = Decimal(str(round(rng.uniform(0.7, 1.05), 2)))
            values[spec.name] = str((max(claim.amount, Decimal(500)) * share).quantize(Decimal("0.01")))
        elif spec.type == "date":
            values[spec.name] = sent_at.astimezone(CHINA).date().isoformat()
        elif spec.type == "choice":
            values[spec.name] = rng.choice(spec.choices).value
        else:
            values[spec.name] = "详见报告正文"
    return values


def _documents(rng: random.Random, kind: TaskKind, month_share: float) -> list[str]:
    """The kind's standard set; early in the year one is often left out (habits of 一事一议), rarely later."""
    documents = list(kind.standard_documents)
    if documents and rng.random() < 0.25 * (1 - month_share) + 0.03:
        documents.pop(rng.randrange(len(documents)))
    return documents


@dataclass
class _Cast:
    """The insurer's providers by task kind, with their codes and ids."""

    by_kind: dict[str, list[tuple[DemoProvider, str, int]]] = field(default_factory=dict)

    def pick(self, rng: random.Random, kind: str, line: str, on: dt.date, today: dt.date, but: Any = None) -> Any:
        """A provider serving the kind and line that would not be refused on the day (the blacklisted shop is
        listed before the demo's year ends, so the demo sends it nothing)."""
        choices = [
            entry
            for entry in self.by_kind.get(kind, [])
            if line in entry[0].lines
            and entry != but
            and entry[0].story != "blacklisted"
            and not (entry[0].story == "suspended" and on >= today - SUSPENDED_DAYS_AGO * DAY)
            and not (entry[0].story == "licence_expired" and on >= today - LICENCE_EXPIRED_DAYS_AGO * DAY)
        ]
        return rng.choices(choices, weights=[entry[0].weight for entry in choices])[0] if choices else None


def _send(
    session: Session,
    staff: _Staff,
    code: str,
    kind: TaskKind,
    claim: _Claim,
    sent_at: dt.datetime,
    documents: list[str],
    loaded: Loaded,
) -> ProviderTask:
    """The claim's handler (or their supervisor) sends the task, backdated to ``sent_at``."""
    task = task_service.send_task(
        session,
        staff.sender(claim.assignee_id),
        claim_number=claim.number,
        provider_code=code,
        kind=kind.code,
        documents=documents,
        at=sent_at,
    )
    loaded.tasks += 1
    return task


def _send_and_answer(
    session: Session,
    rng: random.Random,
    staff: _Staff,
    entry: tuple[DemoProvider, str, int],
    kind: TaskKind,
    claim: _Claim,
    sent_at: dt.datetime,
    documents: list[str],
    now: dt.datetime,
    loaded: Loaded,
    *,
    report_at: dt.datetime | None = None,
    with_file: bool = False,
) -> ProviderTask:
    """The handler sends the task; the provider accepts it within hours and reports on time or late, as is its
    habit (or at ``report_at``); some reports are disputed. A report that would come after ``now`` is still out."""
    provider, code, provider_id = entry
    task = _send(session, staff, code, kind, claim, sent_at, documents, loaded)
    answering = _provider_principal(staff.tenant_id, provider_id, code)
    accepted_at = sent_at + rng.uniform(0.5, 6) * HOUR
    if accepted_at >= now:
        return task
    answers.accept(session, answering, task.number, at=accepted_at)
    if report_at is None:
        sent = loaded.sent_to[code] = loaded.sent_to.get(code, 0) + 1
        # The chain is late on every other task, its first included, at each insurer: late for all of them.
        if (sent % 2 == 1) if provider.story == "shared" else (rng.random() < provider.late):
            report_at = task.due_at + rng.uniform(0.3, 6) * DAY
        else:
            report_at = sent_at + (task.due_at - sent_at) * rng.uniform(0.3, 0.95)
    report_at = max(report_at, accepted_at + HOUR)
    if report_at >= now:
        return task  # still out: the sweep turns its light, and judges it late once the deadline passes
    staged = (
        materials_service.stage_upload(io.BytesIO(demo_pdf(f"{task.number} {kind.name_zh}报告"))) if with_file else None
    )
    try:
        answers.submit_report(
            session,
            answering,
            task.number,
            fields=_fields(rng, kind, claim, sent_at),
            upload=staged,
            filename=f"{task.number}.pdf" if staged is not None else None,
            content_type="application/pdf" if staged is not None else None,
            at=report_at,
        )
    finally:
        if staged is not None:
            staged.discard()
    loaded.late += int(task.on_time is False)
    loaded.standard += int(bool(task.standard))
    settled_at: dt.datetime | None = report_at
    if provider.disputed and rng.random() < provider.disputed:
        settled_at = _dispute(session, rng, staff, provider, task, report_at, now, loaded)
    # The handler reads the report and closes the task; the last days' reports still wait in their inbox.
    closed_at = settled_at + rng.uniform(0.3, 3) * DAY if settled_at is not None else now
    if closed_at < now - 2 * DAY:
        task_service.close_task(session, staff.sender(task.handler_user_id), task.number, at=closed_at)
    return task


def _send_and_decline(
    session: Session,
    rng: random.Random,
    staff: _Staff,
    entry: tuple[DemoProvider, str, int],
    kind: TaskKind,
    claim: _Claim,
    sent_at: dt.datetime,
    now: dt.datetime,
    loaded: Loaded,
) -> dt.datetime | None:
    """The provider declines the task within hours (with its reason); when, so the handler sends it elsewhere."""
    _, code, provider_id = entry
    task = _send(session, staff, code, kind, claim, sent_at, list(kind.standard_documents), loaded)
    declined_at = sent_at + rng.uniform(1, 5) * HOUR
    if declined_at >= now - HOUR:
        return None
    answering = _provider_principal(staff.tenant_id, provider_id, code)
    answers.decline(session, answering, task.number, rng.choice(DECLINE_REASONS), at=declined_at)
    loaded.declined += 1
    return declined_at


def _dispute(
    session: Session,
    rng: random.Random,
    staff: _Staff,
    provider: DemoProvider,
    task: ProviderTask,
    reported_at: dt.datetime,
    now: dt.datetime,
    loaded: Loaded,
) -> dt.datetime | None:
    """A dispute on the report, raised by the claimant or the handler, decided by the supervisor days later (or
    still open); when it was decided."""
    by_kind = "claimant" if rng.random() < 0.6 else "handler"
    raised_at = reported_at + rng.uniform(0.5, 4) * DAY
    if raised_at >= now:
        return reported_at
    actor = "claimant" if by_kind == "claimant" else staff.sender(task.handler_user_id).actor
    dispute = task_service.raise_dispute(
        session, actor, task.number, by_kind=by_kind, reason=rng.choice(DISPUTE_REASONS[by_kind]), at=raised_at
    )
    resolved_at = raised_at + rng.uniform(1, 8) * DAY
    if resolved_at >= now:
        loaded.disputes["open"] = loaded.disputes.get("open", 0) + 1
        return None
    outcome = "upheld" if rng.random() < provider.upheld else "rejected"
    task_service.resolve_dispute(
        session, staff.supervisor, dispute.id, outcome=outcome, note=RESOLUTION_NOTES[outcome], at=resolved_at
    )
    loaded.disputes[outcome] = loaded.disputes.get(outcome, 0) + 1
    return resolved_at


def _history(
    rng: random.Random,
    staff: _Staff,
    cast: _Cast,
    kinds: dict[str, TaskKind],
    claims: list[_Claim],
    first: dt.datetime,
    today: dt.date,
    now: dt.datetime,
    cap: int,
    loaded: Loaded,
) -> None:
    """Tasks on the insurer's claims over the demo's months, each sent while its claim was open."""
    chosen: list[tuple[_Claim, str, dt.datetime]] = []
    for claim in claims:
        wanted = _task_kind(rng, claim)
        if wanted is None or wanted not in kinds:
            continue
        end = min(claim.closed_at or now, now - 2 * DAY)
        sent_at = claim.reported_at + rng.uniform(0.2, 2.5) * DAY
        if sent_at >= end:
            sent_at = claim.reported_at + (end - claim.reported_at) * 0.5
        if sent_at <= claim.reported_at + HOUR:
            continue
        chosen.append((claim, wanted, sent_at))
    if len(chosen) > cap:
        chosen = rng.sample(chosen, cap)
    chosen.sort(key=lambda item: item[2])
    span = max((now - first).total_seconds(), 1.0)
    for claim, kind_code, sent_at in chosen:
        kind = kinds[kind_code]
        entry = cast.pick(rng, kind_code, claim.line, sent_at.astimezone(CHINA).date(), today)
        if entry is None:
            continue
        documents = _documents(rng, kind, (sent_at - first).total_seconds() / span)
        with unit_of_work(TenantContext.for_tenant(staff.tenant_id)) as session:
            if not entry[0].story and rng.random() < DECLINE_SHARE:
                declined_at = _send_and_decline(session, rng, staff, entry, kind, claim, sent_at, now, loaded)
                other = cast.pick(rng, kind_code, claim.line, sent_at.astimezone(CHINA).date(), today, but=entry)
                resent_at = (declined_at or now) + HOUR
                if other is None or resent_at >= min(claim.closed_at or now, now - 2 * DAY):
                    continue
                entry, sent_at = other, resent_at
            _send_and_answer(session, rng, staff, entry, kind, claim, sent_at, documents, now, loaded)


def _working_days_before(session: Session, day: dt.date, count: int) -> dt.date:
    calendar = calendar_service.get_calendar(session)
    while count:
        day -= DAY
        count -= int(calendar.is_working_day(day))
    return day


def _this_week(
    rng: random.Random,
    staff: _Staff,
    cast: _Cast,
    kinds: dict[str, TaskKind],
    claims: list[_Claim],
    now: dt.datetime,
    loaded: Loaded,
) -> None:
    """An appraisal to the slow agency on an open motor claim, sent four working days ago on its three-day level,
    answered two hours ago with the report file: late, on the agency's scorecard and in the standard rate."""
    slow = next((e for e in cast.by_kind.get("appraisal", []) if e[0].story == "slow"), None)
    # Counted back from three hours ago: its level ends at the end of the working day before that day, so the answer
    # two hours ago is late at any hour (counted from today, it was on time between midnight and two).
    answered_day = (now - 3 * HOUR).astimezone(CHINA).date()
    with unit_of_work(TenantContext.for_tenant(staff.tenant_id)) as session:
        sent_day = _working_days_before(session, answered_day, LEVELS["appraisal"][0] + 1)
    sent_at = dt.datetime.combine(sent_day, dt.time(10, 0), CHINA)
    candidates = [c for c in claims if c.closed_at is None and c.reported_at < sent_at - HOUR]
    candidates.sort(key=lambda c: (c.line != "motor", -c.amount))
    if slow is None or not candidates or "appraisal" not in kinds:
        return
    claim, kind = candidates[0], kinds["appraisal"]
    with unit_of_work(TenantContext.for_tenant(staff.tenant_id)) as session:
        task = _send_and_answer(
            session,
            rng,
            staff,
            slow,
            kind,
            claim,
            sent_at,
            list(kind.standard_documents),
            now,
            loaded,
            report_at=now - 2 * HOUR,
            with_file=True,
        )
        if task.on_time is False:
            loaded.this_week.append(f"{task.number} on {claim.number} to {slow[1]}")


def _complaint(staff: _Staff, cast: _Cast, now: dt.datetime, loaded: Loaded) -> None:
    """A claimant complains about the disputed repair shop's estimate (the complaint names the provider)."""
    disputed = next((e for e in cast.by_kind.get("repair_estimate", []) if e[0].story == "disputed"), None)
    if disputed is None:
        return
    with unit_of_work(TenantContext.for_tenant(staff.tenant_id)) as session:
        task = session.execute(
            select(ProviderTask)
            .where(ProviderTask.provider_id == disputed[2], ProviderTask.reported_at.is_not(None))
            .order_by(ProviderTask.reported_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if task is None:
            return
        claim_number = session.execute(select(Claim.number).where(Claim.id == task.claim_id)).scalar_one()
        complaints_intake.create_complaint(
            session,
            staff.desk,
            complaint_schemas.ComplaintIn(
                channel="hotline",
                received_at=min(now - HOUR, (task.reported_at or now) + 3 * DAY),
                claim_number=claim_number,
                category="claims",
                sub_cause="amount",
                subject="合作维修厂定损金额偏低",
                description=f"保险公司指定的{disputed[0].name.format(city='')}定损报价明显低于实际维修费用，"
                "多次沟通未果，要求重新定损。",
                provider_code=disputed[1],
            ),
        )
    loaded.complaints += 1


def _by_rule(tenant: DemoTenant, tenant_id: int, now: dt.datetime, loaded: Loaded) -> None:
    """A large motor loss reported three days ago enters loss assessment this morning: the rule
    ``motor_appraisal_large_loss`` (``defaults/providers/task_rules.yaml``) sends the appraisal by itself, to the
    least busy agency that may take it."""
    branch = tenant.branches[0]
    number = f"{tenant.code}-PRV-001"
    reported = (now - 3 * DAY).astimezone(CHINA).replace(hour=10, minute=0, second=0, microsecond=0)
    steps = (("accepted", 1 * HOUR), ("initial_review", 3 * HOUR))
    events: list[dict[str, Any]] = [
        {
            "event_id": f"{number}-r",
            "claim_number": number,
            "type": "reported",
            "occurred_at": reported.isoformat(),
            "claim": {
                "line": "motor",
                "policy_number": f"P{tenant.code}V{zlib.crc32(number.encode()):010d}",
                "org_code": branch.code,
                "region_code": branch.region_code,
                "claimant": {
                    "name": "周建华",
                    "phone": f"1390000{zlib.crc32(number.encode()) % 10000:04d}",
                    "id_number": id_number(branch.region_code, dt.date(1979, 4, 12), 317),
                },
                "reported_amount": "36800.00",
                "details": {"claim_type": "vehicle_damage", "liability_clear": True, "injury": False},
            },
        }
    ]
    events += [
        {
            "event_id": f"{number}-{status}",
            "claim_number": number,
            "type": "transition",
            "to_status": status,
            "occurred_at": (reported + after).isoformat(),
        }
        for status, after in steps
    ]
    events.append(
        {
            "event_id": f"{number}-assessment",
            "claim_number": number,
            "type": "transition",
            "to_status": "assessment",
            "occurred_at": (now - 3 * HOUR).isoformat(),
        }
    )
    rows = (import_service.validate_row(line, event) for line, event in enumerate(events, 1))
    result = import_jobs.import_rows(rows, import_service.integration_principal(tenant_id, "demo-providers"))
    if not result.committed:
        first = result.rejects[0]
        raise RuntimeError(f"demo provider claim rejected at {first.line} ({first.event_id}): {first.reason}")
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        sent = session.execute(
            select(ProviderTask.number, Provider.code)
            .join(Provider, Provider.id == ProviderTask.provider_id)
            .join(Claim, Claim.id == ProviderTask.claim_id)
            .where(Claim.number == number, ProviderTask.sent_by_rule.is_not(None))
        ).first()
    if sent is not None:
        loaded.tasks += 1
        loaded.by_rule.append(f"{sent[0]} on {number} to {sent[1]}")


# -- the insurer's story -----------------------------------------------------------------------------------------


def _has_providers(tenant_id: int) -> bool:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return bool(session.execute(select(func.count()).select_from(Provider)).scalar_one())


def _ensure_blacklisted(session: Session, staff: _Staff, tenant_id: int, now: dt.datetime) -> None:
    code, name = BLACKLISTED
    if sanctions_service.is_blacklisted(session, tenant_id, "repair_shop", code) is None:
        sanctions_service.add_to_blacklist(
            session,
            staff.qm,
            party_kind="repair_shop",
            name=name,
            code=code,
            reason="多次虚增维修项目和工时费，经核实属实",
            starts_on=(now - 40 * DAY).date(),
            ends_on=None,
            at=now - 40 * DAY,
        )


def _refusals(staff: _Staff, cast: _Cast, claims: list[_Claim], now: dt.datetime, loaded: Loaded) -> None:
    """A new task to the suspended, the blacklisted and the unlicensed provider: each refused, nothing written."""
    claim = next((c for c in reversed(claims) if c.closed_at is None), None)
    if claim is None:
        return
    for kind_code, entries in sorted(cast.by_kind.items()):
        for provider, code, _ in entries:
            if provider.story not in ("suspended", "blacklisted", "licence_expired"):
                continue
            try:
                with unit_of_work(TenantContext.for_tenant(staff.tenant_id)) as session:
                    task_service.send_task(
                        session, staff.supervisor, claim_number=claim.number, provider_code=code, kind=kind_code
                    )
            except Problem as refused:
                loaded.refusals.append((code, provider.story, str(refused)))
            else:
                raise RuntimeError(f"demo: a task to {provider.story} provider {code} was not refused")


def _scorecards(staff: _Staff, today: dt.date, now: dt.datetime, loaded: Loaded) -> None:
    """The monthly review (what ``scorecard_jobs`` does when a month ends) of the last FLAGGED_MONTHS whole
    months: scorecards, flags for the providers below the thresholds; the quality manager warns the disputed
    repair shop on its latest flag, the others wait for review."""
    month = today.replace(day=1)
    periods: list[str] = []
    for _ in range(FLAGGED_MONTHS):
        month = (month - DAY).replace(day=1)
        periods.insert(0, f"{month:%Y-%m}")
    for period in periods:
        with unit_of_work(TenantContext.for_tenant(staff.tenant_id)) as session:
            loaded.scorecards += len(scorecards.compute(session, staff.tenant_id, period, now=now))
            found = flags.evaluate(session, staff.tenant_id, period, now=now, actor="system")
            loaded.flags += len(found)
    with unit_of_work(TenantContext.for_tenant(staff.tenant_id)) as session:
        latest = next((flag for flag, p in flags.open_flags(session) if p.code.endswith("-RS01")), None)
        if latest is not None:  # newest month first
            flags.review(session, staff.qm, latest.id, "warn", WARNING_NOTE, at=now - HOUR)
            loaded.warned += 1


def _tenant(
    spec: DemoSpec, tenant: DemoTenant, found: Tenant, now: dt.datetime, loaded: Loaded, key_for: str | None
) -> None:
    staff = _staff(found.id, tenant)
    if staff is None:
        return
    loaded.sent_to.clear()
    rng = random.Random(f"{spec.seed + SEED_OFFSET}:{tenant.code}")
    today = now.astimezone(CHINA).date()
    claims = _claims(found.id)
    first = claims[0].reported_at if claims else now - 365 * DAY
    with unit_of_work(TenantContext.for_tenant(found.id)) as session:
        kinds = loader.task_kinds(session, found.id)
        _ensure_blacklisted(session, staff, found.id, now)
        cast = _Cast()
        for provider in _cast(tenant):
            provider_id = _register(session, staff, tenant, provider, today)
            code = _code(tenant.code, provider)
            kind = KIND_OF_TASK[provider.kind]
            cast.by_kind.setdefault(kind, []).append((provider, code, provider_id))
            loaded.providers += 1
            if provider.contract:
                _contract(session, staff, code, kind, (first - 30 * DAY).astimezone(CHINA).date(), today)
                loaded.contracts += 1
    cap = MAX_TASKS_PER_TENANT
    _history(rng, staff, cast, kinds, claims, first, today, now, cap, loaded)
    with unit_of_work(TenantContext.for_tenant(found.id)) as session:
        for provider, code, _ in (e for entries in cast.by_kind.values() for e in entries):
            if provider.story == "suspended":
                at = now - SUSPENDED_DAYS_AGO * DAY
                register.set_status(session, staff.qm, code, "suspended", SUSPENSION_REASON, at=at)
    _this_week(rng, staff, cast, kinds, claims, now, loaded)
    _by_rule(tenant, found.id, now, loaded)
    _complaint(staff, cast, now, loaded)
    _refusals(staff, cast, claims, now, loaded)
    _scorecards(staff, today, now, loaded)
    if key_for is not None:
        with unit_of_work(TenantContext.for_tenant(found.id)) as session:
            key = register.issue_key(session, staff.qm, key_for, "demo-portal")
        loaded.keys.append((tenant.code, key_for, key))


def load(spec: DemoSpec, now: dt.datetime | None = None) -> Loaded:
    """The providers' year for every demo insurer that has none yet; then the task clocks are swept."""
    now = now or utc_now()
    loaded = Loaded()
    for index, tenant in enumerate(spec.tenants):
        with unit_of_work(TenantContext.system_context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant.code)
        if found is None or _has_providers(found.id):
            continue
        _tenant(spec, tenant, found, now, loaded, f"{tenant.code}-AP01" if index == 0 else None)
    if loaded.providers:
        from claimwatch.providers import jobs as provider_jobs  # noqa: PLC0415

        provider_jobs.run_task_clocks(now=now)
    return loaded


def codes(tenant: str) -> Iterator[str]:
    """The demo's provider codes at an insurer (the tests and the README name them)."""
    for provider in PROVIDERS:
        if provider.story != "shared" or tenant in SHARED_CHAIN[2]:
            yield _code(tenant, provider)

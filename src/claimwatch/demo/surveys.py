"""Demo satisfaction surveys: every claim and complaint the demo closed gets its survey a few hours after
closing (issued through the surveys service, invitation in the outbox), and about a third of the customers
answer — by opening the link in their message, as a real one would. Scores differ by branch and are lower
after a complaint, so the results page and the satisfaction KPIs have something true to show."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo.generator import CHINA
from claimwatch.notify.models import OutboxMessage
from claimwatch.privacy import field_cipher
from claimwatch.surveys import service as surveys_service
from claimwatch.surveys.models import Survey
from claimwatch.surveys.schemas import AnswerIn

RESPONSE_SHARE = 0.35
_LINK = re.compile(r"/survey/([A-Za-z0-9_\-]+)")
COMMENTS = {
    "good": ["理赔很快，服务周到", "理赔员很专业，进度通知及时", "手续简单，到账快"],
    "bad": ["等待时间太长", "材料要求反复补交", "进度不透明，电话难打通", "处理结果不满意"],
}


@dataclass
class Loaded:
    issued: int = 0
    answered: int = 0


def _score(rng: random.Random, mean: float) -> int:
    return max(0, min(10, round(rng.gauss(mean, 1.6))))


def _branch_offset(org_unit_id: int | None) -> float:
    """A stable per-branch effect between -1.2 and +0.6, so branches really differ."""
    digest = hashlib.sha256(str(org_unit_id).encode()).digest()[0]
    return -1.2 + 1.8 * digest / 255


def _answer(rng: random.Random, survey: Survey) -> AnswerIn:
    mean = (6.0 if survey.subject_type == "complaint" else 8.1) + _branch_offset(survey.org_unit_id)
    if survey.outcome in ("rejected", "not_upheld"):
        mean -= 2.0  # a refusal is rated lower, however well it was handled
    overall = _score(rng, mean)
    comment = None
    if rng.random() < 0.3:
        comment = rng.choice(COMMENTS["good" if overall >= 8 else "bad"])
    return AnswerIn(
        overall=overall,
        timeliness=_score(rng, mean - 0.3) if rng.random() < 0.9 else None,
        transparency=_score(rng, mean - 0.6) if rng.random() < 0.9 else None,
        attitude=_score(rng, mean + 0.3) if rng.random() < 0.9 else None,
        comment=comment,
    )


def _issue(tenant_id: int, now: dt.datetime) -> int:
    """Surveys for everything closed so far, issued day by day as the worker would have."""
    delay = dt.timedelta(hours=get_settings().survey_delay_hours)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        subjects = surveys_service.due_subjects(session, dt.datetime(2000, 1, 1, tzinfo=dt.UTC), now - delay)
    by_day: dict[dt.date, list[surveys_service.Subject]] = defaultdict(list)
    for subject in subjects:
        by_day[subject.closed_at.astimezone(CHINA).date()].append(subject)
    issued = 0
    for day in sorted(by_day):
        group = by_day[day]
        sent_at = max(subject.closed_at for subject in group) + delay
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            counts = surveys_service.issue(session, tenant_id, group, sent_at)
        issued += counts.claims + counts.complaints
    return issued


def _links(tenant_id: int) -> dict[int, str]:
    """Survey id → the token in the link its invitation carries (read from the message as sent)."""
    cipher = field_cipher()
    links: dict[int, str] = {}
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = session.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.secret_body_enc).where(
                OutboxMessage.template == surveys_service.TEMPLATE
            )
        )
        for key, secret in rows:
            survey_id = int(key.split(":")[1])
            text = cipher.decrypt(secret) or ""
            match = _LINK.search(text)
            if match and survey_id not in links:
                links[survey_id] = match.group(1)
    return links


def _respond(rng: random.Random, tenant_id: int, now: dt.datetime) -> int:
    links = _links(tenant_id)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        surveys = list(session.execute(select(Survey).order_by(Survey.id)).scalars())
        session.expunge_all()
    answered = 0
    for survey in surveys:
        if survey.status != surveys_service.SENT or survey.id not in links or rng.random() >= RESPONSE_SHARE:
            continue
        at = survey.sent_at + dt.timedelta(hours=rng.uniform(0.5, 96))
        if at >= min(now, survey.expires_at):
            continue
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            surveys_service.answer(session, links[survey.id], _answer(rng, survey), now=at)
        answered += 1
    return answered


def load(tenant_ids: list[int], seed: int, now: dt.datetime) -> Loaded:
    loaded = Loaded()
    for tenant_id in tenant_ids:
        rng = random.Random(f"{seed}:{tenant_id}:surveys")
        loaded.issued += _issue(tenant_id, now)
        loaded.answered += _respond(rng, tenant_id, now)
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            surveys_service.expire(session, now)
    return loaded

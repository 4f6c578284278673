"""What the pages of the provider tasks show (read models; writes delegate to :mod:`task_service`): the claim
page's panel (its tasks with their clocks and the send-task form), the claimant's lookup (what the claim waits
for from a third party, and a dispute on a received report), and the send form's choices.

Two lower domains import this module and nothing else of ``providers`` (the edges ``cases.pages ->`` and
``lookup.pages -> claimwatch.providers.page_queries`` in the import-linter contract): the claim page lives in
``cases/`` and the claimant's lookup in ``lookup/``, but what they show of a third party is this domain's.

The claimant never sees a staff name, the provider's contact or the task's internals: the kind of report, when
it is expected, whether it is in, and their own dispute."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.cases.models import Claim
from claimwatch.db import utc_now
from claimwatch.errors import Invalid, NotFound
from claimwatch.providers import loader, queries, task_service
from claimwatch.providers import service as provider_service
from claimwatch.providers.models import ProviderTask, TaskDispute
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate

RECEIVED = ("reported", "disputed", "closed")
# The claimant's words for what each task kind brings back (zh: 等待鉴定报告，预计 … 前完成).
REPORT_NOUNS: dict[str, str] = {
    "appraisal": N_("the appraisal report"),
    "repair_estimate": N_("the repair estimate"),
    "medical_records": N_("the medical records"),
    "survey": N_("the survey report"),
    "legal_opinion": N_("the legal opinion"),
}
OTHER_REPORT = N_("a third party's report")
CLAIMANT_OUTCOMES: dict[str, str] = {
    "upheld": N_("Your objection was upheld: the report is being corrected."),
    "rejected": N_("Your objection was reviewed and the report stands."),
    "withdrawn": N_("The objection was withdrawn."),
}
MAX_REASON = 2000


def task_url(number: str) -> str:
    return f"/provider-tasks/{number}"


def send_url(claim_number: str) -> str:
    return f"/claims/{claim_number}/provider-tasks"


def kind_label(kind: loader.TaskKind | None, code: str, locale: str) -> str:
    """A task kind's name in ``locale`` (its code when the catalogue no longer has it)."""
    return kind.name(locale) if kind is not None else code


def report_noun(kind: str, locale: str) -> str:
    return translate(locale, REPORT_NOUNS.get(kind, OTHER_REPORT))


# --- the send-task form -------------------------------------------------------------------------------------


def kind_choices(session: Session, tenant_id: int | None, locale: str) -> list[dict[str, str]]:
    if tenant_id is None:
        return []
    return [{"code": code, "label": k.name(locale)} for code, k in loader.task_kinds(session, tenant_id).items()]


def _open_counts(session: Session, provider_ids: list[int]) -> dict[int, int]:
    if not provider_ids:
        return {}
    rows = session.execute(
        select(ProviderTask.provider_id, func.count())
        .where(ProviderTask.provider_id.in_(provider_ids), ProviderTask.status.in_(task_service.OPEN))
        .group_by(ProviderTask.provider_id)
    )
    return {int(pid): int(n) for pid, n in rows}


def candidates(session: Session, claim: Claim, kind: str, on: dt.date) -> list[dict[str, Any]]:
    """The providers a task of ``kind`` on ``claim`` may go to (the register's :func:`service.serving`: active,
    not blacklisted, licence valid, serving the kind, the claim's region and line), fewest open tasks first."""
    found = provider_service.serving(
        session, claim.tenant_id, kind=kind, region=claim.region_code, line=claim.line, on=on
    )
    counts = _open_counts(session, [p.id for p in found])
    rows = [{"code": p.code, "name": p.name, "open": counts.get(p.id, 0)} for p in found]
    return sorted(rows, key=lambda p: (p["open"], p["name"]))


def _default_kind(kinds: dict[str, Any], line: str) -> str:
    if line == "medical" and "medical_records" in kinds:
        return "medical_records"
    return "appraisal" if "appraisal" in kinds else next(iter(kinds), "")


def send_form(
    session: Session,
    claim: Claim,
    locale: str,
    kind: str | None = None,
    values: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The send-task form of ``claim`` for ``kind`` (default: the line's usual one): the kinds, the providers
    that may take it, the documents with the kind's standard set checked (or what was posted, in ``values``)."""
    kinds = loader.task_kinds(session, claim.tenant_id)
    chosen = kind if kind in kinds else _default_kind(kinds, claim.line)
    zone = tenancy_service.tenant_zone(session, claim.tenant_id)
    today = (now or utc_now()).astimezone(zone).date()
    posted = values or {}
    standard = list(kinds[chosen].standard_documents) if chosen in kinds else []
    checked = set(posted.get("documents", standard))
    extra = [d for d in posted.get("documents", []) if d not in standard]
    return {
        "action": send_url(claim.number),
        "refresh": f"{send_url(claim.number)}/new",
        "claim_number": claim.number,
        "kinds": [{"code": code, "label": k.name(locale)} for code, k in kinds.items()],
        "kind": chosen,
        "providers": candidates(session, claim, chosen, today) if chosen else [],
        "provider": posted.get("provider", ""),
        "documents": [{"name": name, "checked": name in checked, "standard": True} for name in standard],
        "other_documents": "，".join(extra),
        "instructions": posted.get("instructions", ""),
    }


# --- the claim page's panel ---------------------------------------------------------------------------------


def claim_panel(
    session: Session, claim: Claim, locale: str, may_send: bool, links: bool = True
) -> dict[str, Any] | None:
    """The claim's provider tasks (number, kind, provider, status, clock light and due: h2's
    :func:`queries.tasks_of_claim`) and, for those who may send while the claim is open, the send form.
    ``links``: link each task to its page (not for a regulator: the task pages are an insurer's own).
    None when there is nothing to show (no task and no form)."""
    tasks = queries.tasks_of_claim(session, claim.id, locale)
    form = send_form(session, claim, locale) if may_send and claim.closed_at is None else None
    if not tasks and form is None:
        return None
    return {"tasks": tasks, "form": form, "links": links}


# --- the claimant's lookup ----------------------------------------------------------------------------------


def _claimant_disputes(session: Session, task_ids: list[int]) -> dict[int, TaskDispute]:
    """Each task's latest dispute raised by the claimant."""
    if not task_ids:
        return {}
    rows = session.execute(
        select(TaskDispute)
        .where(TaskDispute.task_id.in_(task_ids), TaskDispute.raised_by_kind == "claimant")
        .order_by(TaskDispute.raised_at, TaskDispute.id)
    ).scalars()
    return {row.task_id: row for row in rows}


def lookup_tasks(session: Session, claim: Claim, locale: str, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """What the claimant sees of the claim's third-party tasks (waiting ones and received reports; not the
    cancelled or declined ones, which staff send again): the report's noun, the due time, whether it is late,
    when it came in, and their own dispute with its outcome. No provider contact, no staff name, no number
    of anything internal but the task's own (the dispute form posts it)."""
    now = now or utc_now()
    tasks = (
        session.execute(
            select(ProviderTask)
            .where(ProviderTask.claim_id == claim.id, ProviderTask.status.in_(task_service.OPEN + RECEIVED))
            .order_by(ProviderTask.sent_at, ProviderTask.id)
        )
        .scalars()
        .all()
    )
    disputes = _claimant_disputes(session, [t.id for t in tasks])
    shown = []
    for task in tasks:
        dispute = disputes.get(task.id)
        received = task.status in RECEIVED
        shown.append(
            {
                "number": task.number,
                "kind": task.kind,
                "report": report_noun(task.kind, locale),
                "waiting": not received,
                "due_at": task.due_at,
                "late": not received and task.due_at < now,
                "reported_at": task.reported_at,
                "dispute": None
                if dispute is None
                else {
                    "raised_at": dispute.raised_at,
                    "open": dispute.outcome is None,
                    "outcome": dispute.outcome,
                    "outcome_text": translate(locale, CLAIMANT_OUTCOMES[dispute.outcome])
                    if dispute.outcome in CLAIMANT_OUTCOMES
                    else "",
                },
                # A received report the claimant has no open dispute on may be disputed (the service decides).
                "may_dispute": task.status in ("reported", "disputed")
                and (dispute is None or dispute.outcome is not None),
            }
        )
    return shown


def claimant_dispute(session: Session, claim: Claim, task_number: str, reason: str) -> None:
    """The claimant's dispute on a received report of their claim (h2's :func:`task_service.raise_dispute`,
    ``by_kind="claimant"``): another claim's task is NotFound, as if it did not exist."""
    reason = reason.strip()
    task = session.execute(
        select(ProviderTask).where(ProviderTask.number == task_number, ProviderTask.claim_id == claim.id)
    ).scalar_one_or_none()
    if task is None:
        raise NotFound("task", f"no task {task_number}")
    if not reason:
        raise Invalid("reason", "reason is required")
    task_service.raise_dispute(session, "claimant", task.number, by_kind="claimant", reason=reason[:MAX_REASON])

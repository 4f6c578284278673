"""Helpers of the witness, page and receipt tests: claims ingested through the service, the worker's pass of
signing a head and handing it to the witness, and what a dishonest insurer does to its own database (edit a
stored case event, recompute its hash chain and re-sign its seals)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from claimwatch import db
from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo.supervision import recompute_chain
from claimwatch.evidence import heads, store, witness
from claimwatch.evidence.models import EvidenceTreeHead, WitnessedHead
from tests.factories import HAPPY_PATH, reported, transition

CONFIRMED = "客户已确认"  # the reason of each lifecycle's first transition (the row the tamperer edits)


def ingest(tenant_id: int, events: list[dict[str, Any]]) -> None:
    principal = Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor="test")
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        cases_service.ingest_events(session, principal, [EventIn.model_validate(e) for e in events])


def lifecycle(number: str, steps: int = len(HAPPY_PATH)) -> list[dict[str, Any]]:
    """A claim reported and moved along the happy path (``steps`` transitions); ``<number>-t0`` has a reason."""
    return [reported(f"{number}-r", number)] + [
        transition(f"{number}-t{i}", number, status, hours=i + 1, reason=CONFIRMED if i == 0 else None)
        for i, status in enumerate(HAPPY_PATH[:steps])
    ]


def sign_and_witness(tenant_id: int, size: int | None = None) -> tuple[EvidenceTreeHead, WitnessedHead]:
    """The worker's pass for one insurer: sign a head (of ``size`` leaves; default the whole tree), hand it to
    the witness (one transaction each side)."""
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        head = heads.sign_head(session, tenant_id, heads.MANUAL, size=size)
        session.expunge(head)
    with unit_of_work(TenantContext.system_context()) as session:
        copy = witness.receive(session, head)
        session.expunge(copy)
    return head, copy


def edit_event(tenant_id: int, client_event_id: str, reason: str) -> None:
    """Change a stored case event's reason behind claimwatch's back."""
    with db.get_engine().begin() as conn:
        changed = conn.execute(
            text("UPDATE case_events SET reason = :r WHERE client_event_id = :e AND tenant_id = :t"),
            {"r": reason, "e": client_event_id, "t": tenant_id},
        ).rowcount
    assert changed == 1


def rewrite_history(tenant_id: int, client_event_id: str, reason: str) -> None:
    """The whole malicious recompute: edit the row, recompute the chain (``audit verify`` passes again) and
    rebuild the Merkle tree from the edited data."""
    edit_event(tenant_id, client_event_id, reason)
    recompute_chain(tenant_id)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        report = audit_service.verify(session, tenant_id)
        assert report.ok, report.problems  # the hash chain alone no longer sees the edit
        store.rebuild(session, tenant_id)

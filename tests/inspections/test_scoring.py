"""Scoring a sampled case: the rules of a result, the score, the refusals (each naming its field, nothing
written), drafts, evidence with its hash in the audit chain."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict, Forbidden, Invalid
from claimwatch.inspections import scoring
from claimwatch.inspections.models import Inspection, InspectionEvidence, InspectionItemResult
from claimwatch.inspections.scorecards import parse
from claimwatch.inspections.scoring import Entry
from tests.inspections.results_world import HANDLER, INSPECTOR, PAID_ALL_PASS, SECOND, ResultsWorld, build

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def documents_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "documents"
    monkeypatch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def entries(base: dict[str, tuple[str, str | None]], **changes: tuple[str, str | None]) -> dict[str, Entry]:
    return {code: Entry(*value) for code, value in (base | changes).items()}


def test_score_is_weighted_share_and_a_critical_fail_fails_whatever_the_score() -> None:
    card = parse(
        "code: t\nsubject_kind: claim\npass_mark: 60\nitems:\n"
        "  - {code: a, zh: 甲, en: A, weight: 90}\n"
        "  - {code: b, zh: 乙, en: B, weight: 10, critical: true}\n"
        "  - {code: c, zh: 丙, en: C, weight: 0, critical: true, na: true}\n",
        "t.yaml",
    )
    ok = scoring.compute(card, {"a": "pass", "b": "fail", "c": "na"})
    assert (ok.score, ok.passed, ok.critical_failed, ok.error) == (90.0, False, True, True)
    low = scoring.compute(card, {"a": "fail", "b": "pass", "c": "pass"})
    assert (low.score, low.passed, low.critical_failed, low.error) == (10.0, False, False, True)
    clean = scoring.compute(card, {"a": "pass", "b": "pass", "c": "na"})
    assert (clean.score, clean.passed, clean.error) == (100.0, True, False)
    with pytest.raises(Invalid) as refused:
        scoring.compute(card, {"a": "na", "b": "na", "c": "na"})
    assert refused.value.field == "items"


def _counts(w: ResultsWorld) -> tuple[int, int]:
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        results = session.execute(select(func.count()).select_from(InspectionItemResult)).scalar_one()
        audits = session.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.kind.like("inspection.%"))
        ).scalar_one()
    return results, audits


def test_submit_refuses_bad_results_then_scores_once(world) -> None:
    w = build(world)
    paid, rejected = w.inspections["M-PAID"], w.inspections["M-REJ"]
    me = w.principal(INSPECTOR)
    refusals = [
        (me, paid, entries(PAID_ALL_PASS, bogus=("pass", None)), Invalid, "items.bogus"),
        (
            me,
            paid,
            {k: Entry(*v) for k, v in PAID_ALL_PASS.items() if k != "file_complete"},
            Invalid,
            "items.file_complete",
        ),
        (me, paid, entries(PAID_ALL_PASS, payment_computed=("na", None)), Invalid, "items.payment_computed.outcome"),
        (me, paid, entries(PAID_ALL_PASS, file_complete=("fail", " ")), Invalid, "items.file_complete.comment"),
        (me, paid, entries(PAID_ALL_PASS, file_complete=("maybe", None)), Invalid, "items.file_complete.outcome"),
        # a rejected claim: its written reasons (保险法 art. 24) cannot be N/A
        (
            me,
            rejected,
            entries(PAID_ALL_PASS, payment_computed=("na", None), payment_on_time=("na", None)),
            Invalid,
            "items.rejection_reasons.outcome",
        ),
        (w.principal(SECOND), paid, entries(PAID_ALL_PASS), Forbidden, "inspector"),
    ]
    for principal, inspection_id, given, error, field in refusals:
        with pytest.raises(error) as refused, unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
            scoring.submit(session, principal, inspection_id, given)
        assert refused.value.field == field, (field, refused.value.problems)
    assert _counts(w) == (0, 0)  # nothing written by any refusal

    # The handler made inspector of their own case is refused (handled_by), even when assigned.
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        session.get(Inspection, paid).inspector_id = w.users[HANDLER]  # type: ignore[union-attr]
    with (
        pytest.raises(Forbidden, match="you handled this case"),
        unit_of_work(TenantContext.for_tenant(w.tenant.id)) as s,
    ):
        scoring.submit(s, w.principal(HANDLER, Role.ADJUSTER), paid, entries(PAID_ALL_PASS))
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        session.get(Inspection, paid).inspector_id = w.users[INSPECTOR]  # type: ignore[union-attr]

    # One failed item: 75 of 85 applicable points (rejection reasons N/A) = 88.24 ≥ 80, passed, an error.
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        done = scoring.submit(
            session, me, paid, entries(PAID_ALL_PASS, file_complete=("fail", "缺少查勘照片")), comment="抽检"
        )
        assert (done.status, done.score, done.passed, done.error, done.critical_failed) == (
            "submitted",
            88.24,
            True,
            True,
            False,
        )
        assert done.needs_review is False  # review_share 0
    with pytest.raises(Conflict) as twice, unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        scoring.submit(session, me, paid, entries(PAID_ALL_PASS))
    assert twice.value.field == "status"
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        kinds = list(
            session.scalars(
                select(AuditEntry.kind).where(AuditEntry.kind.like("inspection.%")).order_by(AuditEntry.seq)
            )
        )
        payload = json.loads(
            session.scalars(select(AuditEntry.payload).where(AuditEntry.kind == "inspection.submitted")).one() or "{}"
        )
    assert kinds == ["inspection.submitted"]
    assert payload["items"]["file_complete"] == "fail" and payload["score"] == 88.24 and payload["error"] is True

    # A rejected claim: the payment items may be N/A, a failed critical item (art. 24) fails the case.
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        done = scoring.submit(
            session,
            me,
            rejected,
            entries(
                PAID_ALL_PASS,
                payment_computed=("na", None),
                payment_on_time=("na", None),
                rejection_reasons=("fail", "拒赔通知未说明理由"),
            ),
        )
        assert (done.passed, done.critical_failed, done.error) == (False, True, True)


def test_draft_then_evidence_then_submit(world, documents_dir: Path) -> None:
    w = build(world)
    inspection_id, me = w.inspections["M-PAID"], w.principal(INSPECTOR)
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        draft = scoring.save_draft(
            session, me, inspection_id, {"decision_deadline": Entry("pass"), "file_complete": Entry("")}
        )
        assert draft.status == "in_progress" and draft.started_at is not None
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        assert {k: r.outcome for k, r in scoring.results(session, inspection_id).items()} == {
            "decision_deadline": "pass"
        }
        with pytest.raises(Invalid) as refused:
            scoring.upload_evidence(session, me, inspection_id, io.BytesIO(PDF), "x.pdf", "application/pdf", "nope")
        assert refused.value.field == "item_code"
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        evidence = scoring.upload_evidence(
            session, me, inspection_id, io.BytesIO(PDF), "../照片 1.pdf", "application/pdf", "file_complete"
        )
        path, seq = documents_dir / evidence.storage_path, evidence.audit_seq
    digest = hashlib.sha256(PDF).hexdigest()
    assert path.read_bytes() == PDF and path.name == digest
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).one()
        assert entry.kind == "inspection.evidence_added" and json.loads(entry.payload or "{}")["sha256"] == digest
        assert session.scalars(select(InspectionEvidence.filename)).one() == "照片 1.pdf"
        scoring.submit(session, me, inspection_id, entries(PAID_ALL_PASS))
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        rows = scoring.results(session, inspection_id)
        assert len(rows) == 7 and rows["decision_deadline"].outcome == "pass"
        kinds = list(
            session.scalars(
                select(AuditEntry.kind).where(AuditEntry.kind.like("inspection.%")).order_by(AuditEntry.seq)
            )
        )
    assert kinds == [
        "inspection.started",
        "inspection.draft_saved",
        "inspection.evidence_added",
        "inspection.submitted",
    ]

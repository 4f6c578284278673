"""A document row never points at a missing file: the file is in place before the row is written,
and a transaction that fails afterwards leaves at most a stray file."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from claimwatch.cases import service as cases_service
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.materials import service, storage
from claimwatch.materials.models import MaterialsDocument
from tests.materials.conftest import PDF, key, new_claim


def _rows(tenant_id: int) -> list[MaterialsDocument]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return list(session.execute(select(MaterialsDocument)).scalars())


def test_failed_transaction_after_the_move_leaves_no_row(client, world, documents_dir):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    with pytest.raises(RuntimeError, match="commit failed"):
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            claim = cases_service.get_claim(session, number)
            staged = service.stage_upload(io.BytesIO(PDF))
            document, created = service.store_document(
                session, claim, "test", "id_proof", "a.pdf", "application/pdf", staged
            )
            assert created and (documents_dir / document.storage_path).exists()
            raise RuntimeError("commit failed")
    assert _rows(tenant.id) == []


def test_failed_move_leaves_no_row_and_no_file(client, world, documents_dir, monkeypatch):
    tenant = world.tenant()
    number = new_claim(client, tenant)

    def broken_replace(src, dst):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(storage.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            claim = cases_service.get_claim(session, number)
            staged = service.stage_upload(io.BytesIO(PDF))
            try:
                service.store_document(session, claim, "test", "id_proof", "a.pdf", "application/pdf", staged)
            finally:
                staged.discard()
    assert _rows(tenant.id) == []
    assert [p for p in documents_dir.rglob("*") if p.is_file()] == []


def test_every_stored_row_has_its_file(client, world, documents_dir):
    from tests.materials.conftest import upload

    tenant = world.tenant()
    number = new_claim(client, tenant)
    for index in range(3):
        assert upload(client, key(tenant), number, "id_proof", PDF + bytes([index])).status_code == 201
    rows = _rows(tenant.id)
    assert len(rows) == 3
    for row in rows:
        assert (documents_dir / row.storage_path).is_file()
        assert row.storage_path.startswith(f"{tenant.id}/{row.claim_id}/")

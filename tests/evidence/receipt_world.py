"""The world of the head, receipt and API tests (h2): two insurers, a claim of ACME ingested through the
service with a document fingerprint recorded beside its events, an admin and a quality manager key, a
regulator account."""

from __future__ import annotations

import dataclasses
import hashlib

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.materials.service import DOCUMENT_KIND
from tests.evidence.tamper import ingest, lifecycle
from tests.factories import TenantHandle, World

CLAIM = "E-1"
DOCUMENT = b"%PDF-1.7 hospital invoice of claim E-1"


@dataclasses.dataclass(frozen=True)
class Evidence:
    acme: TenantHandle
    bbb: TenantHandle
    admin_key: str
    quality_key: str
    document_seq: int


def build(world: World) -> Evidence:
    acme, bbb = world.tenant("ACME", "示例保险"), world.tenant("BBB", "另一保险")
    ingest(acme.id, lifecycle(CLAIM, steps=3))
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        seq = audit_service.record(
            session,
            acme.id,
            DOCUMENT_KIND,
            CLAIM,
            "user:claimant",
            {"claim": CLAIM, "item": "invoice", "sha256": hashlib.sha256(DOCUMENT).hexdigest(), "size": len(DOCUMENT)},
        )
    ingest(acme.id, lifecycle("E-2", steps=1))
    ingest(bbb.id, lifecycle("B-1", steps=1))
    world.user("cbirc", Role.REGULATOR, None)
    return Evidence(
        acme, bbb, world.api_key(acme, Role.ADMIN), world.api_key(acme, Role.QUALITY_MANAGER), document_seq=seq
    )

"""One knowledge-base world per database kind (built once with ``db_snapshot``): insurer KA with the sample
articles (src/claimwatch/defaults/kb/sample_articles.yaml) imported and published, KB with one article of its
own; API keys for an editor (客服), a second editor, a reviewer (supervisor), an adjuster and KB's editor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.config import PACKAGE_DIR
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kb import importer
from claimwatch.kb.cli import _operator
from tests.apps import shared_app
from tests.factories import TenantHandle, World

SAMPLE = PACKAGE_DIR / "defaults" / "kb" / "sample_articles.yaml"
IMPORTED_AT = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
OTHER = """
articles:
  - code: POL-001
    category: policy_change
    effective_from: 2024-01-01
    question: 乙公司如何变更联系电话
    answer: 乙公司的客户请拨打乙公司的热线变更联系电话。
"""


@dataclass(frozen=True)
class KbWorld:
    a: TenantHandle
    b: TenantHandle
    keys: dict[str, str]

    def api(self, who: str) -> TestClient:
        return TestClient(shared_app(), headers={"X-API-Key": self.keys[who], "Accept-Language": "en"})


def build(world: World) -> KbWorld:
    a, b = world.tenant("KA", "甲保险"), world.tenant("KB", "乙保险")
    keys = {
        "editor": world.api_key(a, Role.COMPLAINT_HANDLER),
        "editor2": world.api_key(a, Role.COMPLAINT_HANDLER),
        "reviewer": world.api_key(a, Role.SUPERVISOR),
        "adjuster": world.api_key(a, Role.ADJUSTER),
        "b_editor": world.api_key(b, Role.COMPLAINT_HANDLER),
    }
    for tenant, content, name in ((a, SAMPLE.read_bytes(), SAMPLE.name), (b, OTHER.encode(), "other.yaml")):
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            importer.import_articles(session, _operator(tenant.id, "kb import"), content, name, now=IMPORTED_AT)
    return KbWorld(a, b, keys)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()

"""Findings: severity, category, the responsible person and unit (default: the case's handler); a major or
severe finding opens a rectification; a sanction is proposed from a finding; the list and its CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Forbidden, Invalid
from claimwatch.inspections import findings, scoring
from claimwatch.inspections.models import InspectionFinding
from claimwatch.inspections.scoring import Entry
from claimwatch.rectification.models import Rectification
from tests.apps import shared_app
from tests.factories import PASSWORD
from tests.inspections.results_world import HANDLER, INSPECTOR, PAID_ALL_PASS, SECOND, build
from tests.web.conftest import csrf_from, sign_in


def test_findings_open_rectifications_and_sanctions_and_export(world) -> None:
    w = build(world)
    inspection_id, me = w.inspections["M-PAID"], w.principal(INSPECTOR)
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        result = {code: Entry(*value) for code, value in PAID_ALL_PASS.items()}
        scoring.submit(session, me, inspection_id, result | {"payment_computed": Entry("fail", "残值未扣")})

    bad: list[tuple[Principal, dict[str, Any], type[Exception], str]] = [
        (me, {"severity": "huge"}, Invalid, "severity"),
        (me, {"category": "weather"}, Invalid, "category"),
        (me, {"description": "  "}, Invalid, "description"),
        (me, {"item_code": "nope"}, Invalid, "item_code"),
        (me, {"responsible_user_id": 999999}, Invalid, "responsible_user_id"),
        (w.principal(SECOND), {}, Forbidden, "inspector"),
    ]
    good: dict[str, Any] = {
        "severity": "major",
        "category": "computation",
        "description": "=残值未从赔款中扣减",
        "item_code": "payment_computed",
    }
    for principal, change, error, field in bad:
        with pytest.raises(error) as refused, unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
            findings.record_finding(session, principal, inspection_id, **(good | change))
        assert getattr(refused.value, "field", None) == field
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        assert session.execute(select(func.count()).select_from(InspectionFinding)).scalar_one() == 0

    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        major = findings.record_finding(session, me, inspection_id, **good)
        minor = findings.record_finding(
            session, me, inspection_id, severity="minor", category="documentation", description="照片不清晰"
        )
        major_id, minor_id = major.id, minor.id
        assert major.responsible_user_id == w.users[HANDLER]  # the case's handler by default
        assert major.responsible_org_unit_id is not None and major.number.endswith("000001")
        assert minor.rectification_id is None and major.rectification_id is not None
        rectification = session.get(Rectification, major.rectification_id)
        assert rectification is not None and rectification.source_id == major.id
        assert rectification.owner_user_id == w.users[HANDLER]

    client = TestClient(shared_app())
    sign_in(client, INSPECTOR, PASSWORD)
    token = csrf_from(client.get("/my").text)
    listed = client.get("/api/v1/inspections/findings", params={"severity": "major"}).json()
    assert [f["id"] for f in listed] == [major_id]
    exported = client.get("/api/v1/inspections/findings.csv", headers={"Accept-Language": "zh"})
    assert exported.status_code == 200 and exported.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert len(rows) == 3 and rows[0][0] == findings.label({"x": "Finding"}, "x", "zh")
    major_row = next(r for r in rows if r[0].endswith("000001"))
    assert major_row[8].startswith("'=")  # a description a spreadsheet would run is quoted
    assert major_row[1].count(":") == 1  # local time, minutes: 2026-… HH:MM

    refused = client.post(
        f"/api/v1/inspections/findings/{minor_id}/sanction",
        json={"violation_code": "NO_SUCH_CODE", "reason": "测试"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "violation_code"
    proposed = client.post(
        f"/api/v1/inspections/findings/{major_id}/sanction",
        json={"violation_code": "PAYMENT_ERROR", "reason": "赔款计算错误", "kind": "fine", "amount_cny": "800.00"},
        headers={"X-CSRF-Token": token},
    )
    assert proposed.status_code == 201, proposed.text
    # An adjuster may not read findings nor propose sanctions.
    other = TestClient(shared_app())
    sign_in(other, HANDLER, PASSWORD)
    assert other.get("/api/v1/inspections/findings").status_code == 403

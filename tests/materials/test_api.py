"""The materials API: profile → checklist and missing items, one notice listing everything, supplement
rounds and one-time-rule violations, uploads stored by fingerprint, tenancy and roles."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from claimwatch.audit import service as audit_service
from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.materials.models import MaterialsDocument, MaterialsNotice, MaterialsProfile
from tests.factories import PASSWORD
from tests.materials.conftest import JPEG, PDF, PNG, key, new_claim, upload

VEHICLE_DAMAGE_REQUIRED = [
    "claim_form",
    "id_proof",
    "policy",
    "driving_licence",
    "vehicle_licence",
    "damage_photos",
    "loss_assessment",
    "repair_invoice",
    "repair_list",
    "bank_account",
]


def _profile(client, headers, number, claim_type="vehicle_damage", facts=()):  # type: ignore[no-untyped-def]
    return client.put(
        f"/api/v1/claims/{number}/materials/profile",
        json={"claim_type": claim_type, "facts": list(facts)},
        headers=headers,
    )


def _notice(client, headers, number, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/claims/{number}/materials/notices", json=body or None, headers=headers)


def _materials(client, headers, number, **params):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/claims/{number}/materials", params=params, headers=headers)


def _audit_kinds(tenant_id: int) -> list[tuple[str, dict]]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = session.execute(
            select(AuditEntry.kind, AuditEntry.payload)
            .where(AuditEntry.tenant_id == tenant_id, AuditEntry.kind.startswith("materials."))
            .order_by(AuditEntry.seq)
        ).all()
        assert audit_service.verify(session, tenant_id).ok
    return [(kind, json.loads(payload)) for kind, payload in rows]


def test_profile_decides_checklist_and_missing_items(client, world):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    response = _profile(client, key(tenant), number)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["profile"]["claim_type"] == "vehicle_damage"
    assert body["profile"]["claim_type_label"] == "车辆损失"
    assert body["missing"] == VEHICLE_DAMAGE_REQUIRED
    assert body["optional_missing"] == ["compensation_receipt"]
    items = {item["code"]: item for item in body["items"]}
    assert items["liability_agreement"]["requirement"] == "conditional"
    assert items["liability_agreement"]["applicable"] is False and items["liability_agreement"]["missing"] is False
    assert items["repair_invoice"]["name_zh"] == "维修发票" and items["repair_invoice"]["label"] == "维修发票"

    # a third party and an injured person: the liability agreement and medical items now apply
    body = _profile(client, key(tenant), number, facts=["third_party", "injury"]).json()
    assert body["missing"] == [
        *VEHICLE_DAMAGE_REQUIRED,
        "liability_agreement",
        "medical_records",
        "medical_invoices",
    ]
    assert [f["code"] for f in body["profile"]["facts"]] == ["injury", "third_party"]
    assert "death_certificate" not in body["missing"]
    kinds = _audit_kinds(tenant.id)
    assert [kind for kind, _ in kinds] == ["materials.profile", "materials.profile"]
    assert kinds[1][1]["previous"] == {"claim_type": "vehicle_damage", "facts": []}
    # setting the same profile again changes nothing and records nothing
    assert _profile(client, key(tenant), number, facts=["injury", "third_party"]).status_code == 200
    assert len(_audit_kinds(tenant.id)) == 2


def test_unknown_claim_type_or_fact_is_422_naming_the_field(client, world):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    bad_type = _profile(client, key(tenant), number, claim_type="inpatient")
    assert bad_type.status_code == 422
    assert bad_type.json()["problems"][0]["field"] == "claim_type"
    assert "vehicle_damage, injury, theft" in bad_type.json()["problems"][0]["message"]
    bad_fact = _profile(client, key(tenant), number, facts=["surgery"])
    assert bad_fact.status_code == 422
    assert bad_fact.json()["problems"][0]["field"] == "facts"
    assert _materials(client, key(tenant), number).json()["profile"] is None


def test_one_notice_lists_every_missing_item_and_starts_the_wait(client, world, signals):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    _profile(client, key(tenant), number, facts=["third_party"])
    response = _notice(client, key(tenant), number)
    assert response.status_code == 201, response.text
    notice = response.json()
    assert notice["round"] == 1 and notice["kind"] == "one_time"
    assert [i["code"] for i in notice["items"]] == [*VEHICLE_DAMAGE_REQUIRED, "liability_agreement"]
    assert {i["basis"] for i in notice["items"]} == {"first"}
    assert notice["items"][0]["label"] == "机动车辆保险索赔申请书"
    assert notice["violation"] is False and notice["omitted_items"] == []
    # names of documents only: nothing personal about the claimant
    assert "张三" not in response.text and "13812345678" not in response.text

    assert signals.names() == ["materials_requested"]
    assert signals.calls[0]["at"].tzinfo is not None
    assert "round 1" in signals.calls[0]["reason"]

    view = _materials(client, key(tenant), number).json()
    assert view["notices_issued"] == 1 and view["supplement_rounds"] == 0
    assert view["awaiting_since"] is not None
    kinds = _audit_kinds(tenant.id)
    assert kinds[-1][0] == "materials.notice"
    assert kinds[-1][1]["items"] == [i["code"] for i in notice["items"]]


def test_second_notice_is_a_supplement_round_and_a_reminder_is_not_a_violation(client, world):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    _profile(client, key(tenant), number)
    _notice(client, key(tenant), number)
    assert upload(client, key(tenant), number, "claim_form").status_code == 201
    second = _notice(client, key(tenant), number)
    assert second.status_code == 201
    notice = second.json()
    assert notice["round"] == 2 and notice["kind"] == "supplement"
    assert [i["code"] for i in notice["items"]] == VEHICLE_DAMAGE_REQUIRED[1:]
    assert {i["basis"] for i in notice["items"]} == {"repeat"}
    assert notice["violation"] is False
    # the per-claim supplement count is one column, readable in one query for KPIs
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        rounds = session.execute(select(MaterialsProfile.supplement_rounds)).scalar_one()
        stored = session.execute(select(MaterialsNotice.round).order_by(MaterialsNotice.round)).scalars().all()
    assert rounds == 1 and stored == [1, 2]
    view = _materials(client, key(tenant), number).json()
    assert view["supplement_rounds"] == 1 and view["violation_rounds"] == 0
    assert [n["round"] for n in view["notices"]] == [1, 2]


def test_item_from_a_fact_added_later_is_not_a_violation(client, world):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    _profile(client, key(tenant), number)
    _notice(client, key(tenant), number)
    _profile(client, key(tenant), number, facts=["injury"])
    notice = _notice(client, key(tenant), number).json()
    basis = {i["code"]: i["basis"] for i in notice["items"]}
    assert basis["medical_records"] == "new_fact" and basis["medical_invoices"] == "new_fact"
    assert basis["claim_form"] == "repeat"
    assert notice["violation"] is False and notice["violation_items"] == []
    assert notice["facts"] == ["injury"]


def test_later_request_for_an_item_knowable_at_the_first_notice_is_a_violation(client, world):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    _profile(client, key(tenant), number)
    # the core system's first notice asked for two items only, although ten were missing
    first = _notice(client, key(tenant), number, items=["claim_form", "id_proof"]).json()
    assert first["round"] == 1 and first["violation"] is False
    assert first["omitted_items"] == VEHICLE_DAMAGE_REQUIRED[2:]
    _profile(client, key(tenant), number, facts=["injury"])
    second = _notice(client, key(tenant), number).json()
    assert second["violation"] is True
    # knowable then and not asked for: flagged; asked before: a reminder; from the new fact: legitimate
    assert second["violation_items"] == VEHICLE_DAMAGE_REQUIRED[2:]
    basis = {i["code"]: i["basis"] for i in second["items"]}
    assert basis["claim_form"] == "repeat" and basis["medical_records"] == "new_fact"
    view = _materials(client, key(tenant), number).json()
    assert view["violation_rounds"] == 1 and view["supplement_rounds"] == 1
    assert [n["violation"] for n in view["notices"]] == [False, True]
    assert _audit_kinds(tenant.id)[-1][1]["violation_items"] == VEHICLE_DAMAGE_REQUIRED[2:]


def test_notice_needs_a_profile_and_something_missing(client, world):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    early = _notice(client, key(tenant), number)
    assert early.status_code == 409 and early.json()["problems"][0]["field"] == "claim_type"
    _profile(client, key(tenant), number, claim_type="theft")
    unknown = _notice(client, key(tenant), number, items=["repair_invoice"])
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "items"
    view = _materials(client, key(tenant), number).json()
    for code in view["missing"]:
        assert upload(client, key(tenant), number, code).status_code == 201
    nothing = _notice(client, key(tenant), number)
    assert nothing.status_code == 409 and nothing.json()["problems"][0]["field"] == "items"
    assert _materials(client, key(tenant), number).json()["notices_issued"] == 0


def test_upload_stores_file_by_fingerprint_with_metadata_and_audit(client, world, documents_dir):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    _profile(client, key(tenant), number)
    response = upload(client, key(tenant), number, "id_proof", PDF, filename="../../张三 身份证<正面>.pdf")
    assert response.status_code == 201, response.text
    ack = response.json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert ack["status"] == "stored" and ack["sha256"] == digest and ack["size_bytes"] == len(PDF)
    assert ack["content_type"] == "application/pdf" and ack["item_label"] == "被保险人身份证明"
    assert ack["filename"] == "张三 身份证_正面_.pdf"
    assert ack["uploaded_at"].endswith("Z")

    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        document = session.execute(select(MaterialsDocument)).scalar_one()
    assert document.storage_path == f"{tenant.id}/{document.claim_id}/{digest}"
    stored = documents_dir / document.storage_path
    assert stored.read_bytes() == PDF
    assert "身份证" not in str(stored)
    assert list((documents_dir / ".incoming").iterdir()) == []

    kind, payload = _audit_kinds(tenant.id)[-1]
    assert kind == "materials.document" and payload["sha256"] == digest and payload["item"] == "id_proof"
    assert "filename" not in payload

    view = _materials(client, key(tenant), number).json()
    assert "id_proof" not in view["missing"] and view["received"] == ["id_proof"]
    assert [d["sha256"] for d in view["documents"]] == [digest]
    assert {i["code"]: i["received"] for i in view["items"]}["id_proof"] is True

    # the same content again for the same item is acknowledged, not stored twice
    again = upload(client, key(tenant), number, "id_proof", PDF)
    assert again.status_code == 200 and again.json()["status"] == "duplicate" and again.json()["id"] == ack["id"]
    # an image for another item is another document
    assert upload(client, key(tenant), number, "damage_photos", PNG, "car.png", "image/png").status_code == 201
    assert upload(client, key(tenant), number, "damage_photos", JPEG, "car.jpg", "image/jpeg").status_code == 201
    assert len(_materials(client, key(tenant), number).json()["documents"]) == 3
    # an ID number in a file name is masked wherever the name is shown
    named = upload(client, key(tenant), number, "policy", PDF + b"p", filename="保单_110101199003071234.pdf")
    assert named.json()["filename"] == "保单_110101********1234.pdf"
    assert "199003071234" not in _materials(client, key(tenant), number).text


def test_upload_refusals_name_the_field_and_store_nothing(client, world, documents_dir, monkeypatch):
    from claimwatch.config import get_settings

    tenant = world.tenant()
    number = new_claim(client, tenant)
    _profile(client, key(tenant), number)

    def refused(response, status, field):  # type: ignore[no-untyped-def]
        assert response.status_code == status, response.text
        assert response.json()["problems"][0]["field"] == field

    # an item of another claim type (theft) is not one of this claim's
    refused(upload(client, key(tenant), number, "vehicle_keys"), 422, "item_code")
    refused(upload(client, key(tenant), number, "no_such_item"), 422, "item_code")
    refused(upload(client, key(tenant), number, None), 422, "item_code")
    refused(upload(client, key(tenant), number, "id_proof", b"<html>hi</html>", "x.html", "text/html"), 415, "file")
    # declared a PDF, but it is not one
    refused(upload(client, key(tenant), number, "id_proof", PNG, "x.pdf", "application/pdf"), 415, "file")
    refused(upload(client, key(tenant), number, "id_proof", b"", "x.pdf"), 422, "file")

    monkeypatch.setenv("CLAIMWATCH_MAX_DOCUMENT_BYTES", "64")
    get_settings.cache_clear()
    oversize = upload(client, key(tenant), number, "id_proof", PDF + bytes(200))
    refused(oversize, 413, "file")
    assert "64 bytes" in oversize.json()["problems"][0]["message"]

    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert session.execute(select(MaterialsDocument)).first() is None
    stray = [p for p in documents_dir.rglob("*") if p.is_file()] if documents_dir.exists() else []
    assert stray == []
    assert [kind for kind, _ in _audit_kinds(tenant.id)] == ["materials.profile"]


def test_last_missing_upload_completes_the_notice_and_resumes_the_clock(client, world, signals):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    _profile(client, key(tenant), number, claim_type="theft")
    notice = _notice(client, key(tenant), number).json()
    codes = [i["code"] for i in notice["items"]]
    for code in codes[:-1]:
        assert upload(client, key(tenant), number, code, PDF + code.encode()).status_code == 201
    assert signals.names() == ["materials_requested"]
    assert _materials(client, key(tenant), number).json()["notices"][0]["completed_at"] is None
    # an optional item does not complete anything
    assert upload(client, key(tenant), number, "purchase_tax_certificate").status_code == 201
    assert signals.names() == ["materials_requested"]
    assert upload(client, key(tenant), number, codes[-1], PDF + b"last").status_code == 201
    # The notice answered, and with it the checklist complete: the decision clocks start (issue 15).
    assert signals.names() == ["materials_requested", "materials_received", "materials_complete"]
    view = _materials(client, key(tenant), number).json()
    assert view["notices"][0]["completed_at"] is not None
    assert view["awaiting_since"] is None and view["complete"] is True and view["missing"] == []
    assert all(item["received"] for item in view["notices"][0]["items"])


def test_other_tenants_claim_is_404_everywhere(client, world):
    acme = world.tenant("ACME")
    other = world.tenant("OTHER", region="310000")
    number = new_claim(client, acme)
    _profile(client, key(acme), number)
    assert _materials(client, key(other), number).status_code == 404
    assert _profile(client, key(other), number).status_code == 404
    assert _notice(client, key(other), number).status_code == 404
    assert upload(client, key(other), number, "id_proof").status_code == 404
    assert _materials(client, key(acme), number).json()["notices_issued"] == 0
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        assert session.execute(select(MaterialsDocument)).first() is None


def test_roles_readers_read_and_writers_write(client, world):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    quality = world.api_key(tenant, Role.QUALITY_MANAGER)
    adjuster = world.api_key(tenant, Role.ADJUSTER)
    assert _profile(client, {"X-API-Key": quality}, number).status_code == 403
    assert _notice(client, {"X-API-Key": quality}, number).status_code == 403
    assert upload(client, {"X-API-Key": quality}, number, "id_proof").status_code == 403
    assert _materials(client, {"X-API-Key": quality}, number).status_code == 200
    assert _profile(client, {"X-API-Key": adjuster}, number).status_code == 200
    assert _materials(client, {}, number).status_code == 401


def test_regulator_reads_with_the_tenant_and_cannot_write(client, world):
    from claimwatch.web.security import CSRF_FIELD

    tenant = world.tenant()
    number = new_claim(client, tenant)
    _profile(client, key(tenant), number)
    _notice(client, key(tenant), number)
    world.user("cbirc.gd", Role.REGULATOR, None)
    token = client.get("/login").text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]
    signed_in = client.post(
        "/login", data={"username": "cbirc.gd", "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert signed_in.status_code == 303
    read = _materials(client, {}, number, tenant=tenant.code)
    assert read.status_code == 200 and read.json()["notices_issued"] == 1
    assert _materials(client, {}, number).status_code == 422
    assert _materials(client, {}, number, tenant="NOPE").status_code == 404
    assert _profile(client, {}, number, facts=["injury"]).status_code == 403
    assert _notice(client, {}, number).status_code == 403
    assert upload(client, {}, number, "id_proof").status_code == 403
    assert _materials(client, key(tenant), number).json()["notices_issued"] == 1


def test_materials_view_speaks_the_readers_language(client, world):
    from claimwatch.cases import service as cases_service
    from claimwatch.materials import service

    tenant = world.tenant()
    number = new_claim(client, tenant, "MED-1", line="medical")
    _profile(client, key(tenant), number, claim_type="inpatient", facts=["surgery"])
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        claim = cases_service.get_claim(session, number)
        zh = service.materials_view(session, claim, "zh")
        en = service.materials_view(session, claim, "en")
    labels_zh = {i["code"]: i["label"] for i in zh["items"]}
    labels_en = {i["code"]: i["label"] for i in en["items"]}
    assert labels_zh["discharge_summary"] == "出院小结" and labels_en["discharge_summary"] == "Discharge summary"
    assert labels_zh["surgery_record"] == "手术记录" and "surgery_record" in zh["missing"]
    assert en["profile"]["claim_type_label"] == "Inpatient" and zh["profile"]["claim_type_label"] == "住院"
    assert {t["code"] for t in en["claim_types"]} == {"outpatient", "inpatient"}
    english = _materials(client, key(tenant), number, lang="en").json()
    assert english["profile"]["facts"] == [{"code": "surgery", "label": "Surgery was performed"}]

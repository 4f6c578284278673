"""Service-request intake (h1): the categories file (validated with file:line, no database), and intake through the
API on both databases — numbered, linked to the claim and its policy, the customer encrypted and matched by keyed
hash as complaints match, jieba keywords, the category's team, the clocks started, audited; a known external_ref
answered as recorded; an unknown category or priority refused naming the field with nothing written; the public
page's principal."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from claimwatch.audit.models import AuditEntry
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid
from claimwatch.privacy import keyed_hash
from claimwatch.servicedesk import categories, service
from claimwatch.servicedesk.models import ServiceRequest, ServiceRequestClock
from claimwatch.servicedesk.schemas import ServiceRequestIn
from claimwatch.yaml_source import ConfigFileError
from tests.factories import World
from tests.servicedesk.requests_world import BASE, CLAIM, ID_NUMBER, PHONE, Desk, body, build, core, ok
from tests.snapshots import Snapshot

GOOD = """\
priorities:
  normal: {zh: 普通, en: Normal}
  emergency: {zh: 紧急, en: Emergency}
teams:
  general: {zh: 综合组, en: General}
categories:
  enquiry:
    zh: 咨询
    en: Enquiry
    team: general
    resolution: {hours: 24}
    resolution_codes:
      answered: {zh: 已解答, en: Answered}
"""


def test_the_bundled_file_and_its_refusals_name_file_and_line() -> None:
    bundled = categories.base()
    assert {"policy_change", "enquiry", "claim_report", "documents", "dissatisfaction"} <= set(bundled.categories)
    assert set(bundled.priorities) == {"normal", "urgent", "emergency"}
    assert bundled.categories["policy_change"].resolution_unit == "working_days"
    assert bundled.category_label("enquiry", "zh") == "咨询" and bundled.team_label("general", "en")
    assert categories.load("NO-SUCH-INSURER") is bundled
    parsed = categories.parse(GOOD, "own.yaml")
    assert parsed.categories["enquiry"].resolution_value == 24.0
    bad = {
        "team: general": ("team: nowhere", "own.yaml:10: category 'enquiry': unknown team 'nowhere'"),
        "{hours: 24}": ("{weeks: 2}", "own.yaml:11: category 'enquiry': resolution is"),
        "  emergency: {zh: 紧急, en: Emergency}": (
            "  asap: {zh: 紧急, en: ASAP}",
            "own.yaml:3: unknown priority 'asap'",
        ),
        "      answered: {zh: 已解答, en: Answered}": (
            "      answered: {zh: 已解答}",
            "own.yaml:13: category 'enquiry'",
        ),
    }
    for old, (new, message) in bad.items():
        with pytest.raises(ConfigFileError) as refused:
            categories.parse(GOOD.replace(old, new), "own.yaml")
        assert str(refused.value).startswith(message), str(refused.value)
    with pytest.raises(ConfigFileError, match="own.yaml:1"):
        categories.parse("categories: {}\n", "own.yaml")


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.requests", lambda: build(world))


def test_intake_numbers_links_encrypts_matches_and_audits(desk: Desk) -> None:
    api = core(desk.a.api_key)
    first = ok(api.post(BASE, json=body(external_ref="CC-1")), 201)
    assert re.fullmatch(r"SR-\d{4}-000001", first["number"])
    assert (first["channel"], first["status"], first["team"], first["priority"]) == (
        "phone",
        "open",
        "general",
        "normal",
    )
    assert first["customer_name"] == "李*" and first["customer_phone"].startswith("139")
    assert PHONE not in str(first) and ID_NUMBER not in str(first)  # masked, and scrubbed out of the text
    assert "保单" in " ".join(first["keywords"]) and not any(re.search(r"\d", k) for k in first["keywords"])
    assert [c["policy"] for c in first["clocks"]] == ["first_response", "resolution"]
    assert first["events"][0]["kind"] == "received"
    again = api.post(BASE, json=body(external_ref="CC-1", subject="另一件事"))
    assert again.status_code == 200 and again.json()["number"] == first["number"]

    by_claim = ok(api.post(BASE, json=body(customer={}, claim_number=CLAIM, category="claim_report")), 201)
    assert by_claim["number"].endswith("000002") and by_claim["claim_number"] == CLAIM
    assert by_claim["policy_number"] == f"POL-{CLAIM}" and by_claim["team"] == "claims_desk"
    assert by_claim["customer_name"] == "张**" and by_claim["org_code"] == desk.a.branch_code
    same_person = ok(api.post(BASE, json=body(customer={"id_number": ID_NUMBER}, priority="urgent")), 201)

    refused = api.post(BASE, json=body(category="nonsense", priority="asap", claim_number="NOPE"))
    assert refused.status_code == 422
    assert [p["field"] for p in refused.json()["problems"]] == ["category", "priority", "claim_number"]
    other_insurer = core(desk.keys["b"]).post(BASE, json=body(claim_number=CLAIM))
    assert other_insurer.status_code == 422 and other_insurer.json()["problems"][0]["field"] == "claim_number"

    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        rows = {r.number: r for r in session.execute(select(ServiceRequest)).scalars()}
        assert len(rows) == 3  # nothing of the refused ones
        one, two, three = (rows[n] for n in (first["number"], by_claim["number"], same_person["number"]))
        assert one.customer_key == three.customer_key == keyed_hash(ID_NUMBER)
        assert two.customer_key == keyed_hash("110101199003071234")  # the claim's claimant
        assert one.phone_enc and PHONE not in one.phone_enc and one.phone_hash == keyed_hash(PHONE)
        assert session.execute(select(func.count()).select_from(ServiceRequestClock)).scalar_one() == 6
        kinds = (
            session.execute(select(AuditEntry.kind).where(AuditEntry.subject.like("SR-%")).order_by(AuditEntry.seq))
            .scalars()
            .all()
        )
        assert kinds == ["servicedesk.received"] * 3

        public = service.public_principal(desk.a.id)
        data = ServiceRequestIn.model_validate(body(channel=None, customer={"phone": PHONE}))
        filed, created = service.intake(session, public, data, channel="public")
        assert created and filed.channel == "public" and filed.created_by == "public:service"
        with pytest.raises(Invalid) as bad_channel:
            service.intake(session, public, data.model_copy(update={"channel": "pigeon"}))
        assert bad_channel.value.field == "channel"

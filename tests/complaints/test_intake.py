"""Intake: one record whatever the channel, linked to the claim and the customer, personal data never in clear."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.complaints import service as complaints_service
from claimwatch.complaints import vocabulary
from claimwatch.complaints.models import Complaint, ComplaintEvent
from claimwatch.privacy import field_cipher, keyed_hash
from tests.complaints.helpers import Desk, end_of_local_day, local
from tests.factories import reported

PHONE = "13812345678"
ID_NUMBER = "110101199003071234"


def _post_claim(client, desk: Desk, number: str = "C-100") -> None:
    response = client.post(
        "/api/v1/events",
        json={"events": [reported(f"e-{number}", number, org_code=desk.tenant.branch_code)]},
        headers={"X-API-Key": desk.tenant.api_key},
    )
    assert response.status_code in (200, 201), response.text


def test_every_channel_gives_one_numbered_record_with_a_decision_clock_and_receipt(desk: Desk) -> None:
    numbers = [
        desk.file(channel=channel, received_at=local(2026, 11, 2, 9 + i))
        for i, channel in enumerate(vocabulary.CHANNELS)
    ]
    # Numbered per tenant and day of receipt, in sequence.
    assert numbers == [f"TS20261102{i:04d}" for i in range(1, len(numbers) + 1)]
    assert desk.file(received_at=local(2026, 11, 3, 9)) == "TS202611030001"
    for number, channel in zip(numbers, vocabulary.CHANNELS, strict=True):
        complaint = desk.complaint(number)
        assert (complaint.channel, complaint.status, complaint.category) == (channel, "received", "claims")
        decision = desk.clocks(number, "complaint_decision")
        # Received Mon 11-02: counting starts 11-03, 15 days end with Tue 11-17 (a working day).
        assert [c.yellow_due_at for c in decision] == [end_of_local_day(2026, 11, 17)]
        assert [e.kind for e in desk.events(number)][0] == "received"
        receipt = [m for m in desk.messages(number) if m.template == "complaint_received"]
        assert receipt and "2026-11-17" in receipt[0].body and number in receipt[0].subject
    regulator = desk.complaint(numbers[vocabulary.CHANNELS.index("regulator_12378")])
    assert regulator.major_reasons == "regulator_transfer" and regulator.special_team


def test_linked_to_claim_and_customer_without_clear_personal_data(client, desk: Desk) -> None:
    _post_claim(client, desk)
    number = desk.file(
        claim_number="C-100",
        complainant={
            "name": "张三丰",
            "phone": PHONE,
            "id_number": ID_NUMBER,
            "email": "zsf@example.cn",
            "address": "广州市天河区体育西路1号",
        },
        description=f"我的电话是{PHONE}，身份证{ID_NUMBER}，理赔一直拖着。",
    )
    with desk.session() as session:
        complaint = session.execute(select(Complaint).where(Complaint.number == number)).scalar_one()
        claim = complaints_service.repository.claim_numbers(session, [complaint.claim_id or 0])
        events = session.execute(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)).scalars()
        event_text = json.dumps([(e.note, e.data) for e in events], ensure_ascii=False)
        audit_text = json.dumps(
            [
                e.payload
                for e in session.execute(
                    select(AuditEntry).where(AuditEntry.subject == number).order_by(AuditEntry.seq)
                ).scalars()
            ],
            ensure_ascii=False,
        )
        row = {column.name: getattr(complaint, column.key) for column in Complaint.__table__.columns}
    assert claim == {complaint.claim_id: "C-100"}
    # The claim's org, region and line are inherited.
    assert complaint.org_unit_id is not None and complaint.region_code == "440000" and complaint.line == "motor"
    # The customer is the keyed hash of the ID number; clear values exist only encrypted.
    assert complaint.customer_key == keyed_hash(ID_NUMBER) == complaint.id_number_hash
    assert complaint.phone_hash == keyed_hash(PHONE)
    assert field_cipher().decrypt(complaint.phone_enc) == PHONE
    everything = json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False) + event_text + audit_text
    for secret in (PHONE, ID_NUMBER, "zsf@example.cn"):
        assert secret not in everything
    # The postal address is kept encrypted with the intake event, never in the audit chain.
    assert "address_enc" in event_text and "address_enc" not in audit_text and "体育西路" not in everything
    assert "138********" in complaint.description


def test_claim_only_complaint_reaches_and_identifies_the_claimant(client, desk: Desk) -> None:
    _post_claim(client, desk, "C-200")
    number = desk.file(claim_number="C-200", complainant={})
    complaint = desk.complaint(number)
    # reported() gives the claimant 张三丰 with this phone and ID number.
    assert complaint.customer_key == keyed_hash(ID_NUMBER)
    assert complaint.complainant_name == "张三丰" and complaint.phone_hash == keyed_hash(PHONE)
    assert [m.channel for m in desk.messages(number)] == ["sms"]


def test_bad_input_is_refused_naming_the_field(client, desk: Desk) -> None:
    key = desk.world.api_key(desk.tenant, Role.COMPLAINT_HANDLER)
    base = {
        "channel": "hotline",
        "received_at": "2026-11-02T10:00:00+08:00",
        "complainant": {"phone": PHONE},
        "category": "claims",
        "subject": "拖赔",
        "description": "一直不赔",
    }

    def post(**change):
        body = base | change
        return client.post("/api/v1/complaints", json=body, headers={"X-API-Key": key})

    cases = [
        ({"complainant": {"name": "无联系方式"}}, "complainant", "phone, email, ID number or address"),
        ({"received_at": "2099-01-01T10:00:00+08:00"}, "received_at", "in the future"),
        ({"channel": "pigeon"}, "channel", "regulator_12378"),
        ({"category": "weather"}, "category", "policy_service"),
        ({"sub_cause": "bad_luck"}, "sub_cause", "denial"),
        ({"major_reasons": ["loud"]}, "major_reasons", "vulnerable"),
        ({"claim_number": "NOPE-1"}, "claim_number", "no claim NOPE-1"),
        ({"regulator_received_at": "2026-11-01T10:00:00+08:00"}, "regulator_received_at", "regulator"),
        ({"received_at": "2026-11-02T10:00:00"}, "received_at", "timezone"),
    ]
    for change, field, words in cases:
        response = post(**change)
        assert response.status_code == 422, (change, response.text)
        problem = response.json()["problems"][0]
        assert problem["field"] == field and words in problem["message"], (change, problem)
    # An address alone is a way to reach the complainant (a letter).
    assert post(complainant={"address": "广州市天河区某路1号"}).status_code == 201
    with desk.session() as session:
        assert complaints_service.repository.count_complaints(session) == 1


def test_external_ref_makes_a_repeat_intake_idempotent(client, desk: Desk) -> None:
    key = desk.world.api_key(desk.tenant, Role.COMPLAINT_HANDLER)
    body = {
        "channel": "regulator_12378",
        "external_ref": "12378-2026-000123",
        "received_at": "2026-11-02T10:00:00+08:00",
        "regulator_received_at": "2026-10-30T16:00:00+08:00",
        "complainant": {"name": "王五", "phone": "13700002222"},
        "category": "claims",
        "sub_cause": "denial",
        "subject": "拒赔不合理",
        "description": "车损被拒赔。",
    }
    first = client.post("/api/v1/complaints", json=body, headers={"X-API-Key": key})
    again = client.post("/api/v1/complaints", json=body, headers={"X-API-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    view = first.json()
    assert view["major"] and view["special_team"] and view["channel_label"] == "监管转办(12378)"
    assert view["complainant"]["phone"] == "137********"
    accept_clock = next(c for c in view["clocks"] if c["policy"] == "regulator_transfer_accept")
    # 7 working days from the regulator's receipt (Fri 10-30): Nov 2,3,4,5,6,9,10 → end of Tue 11-10.
    assert dt.datetime.fromisoformat(accept_clock["due_at"]) == end_of_local_day(2026, 11, 10)

"""Item 3 of issue 11: a masked phone must not give away the claimant's lookup factor (the last 4 digits of
the phone, with the claim number), so no staff member can open a claimant's lookup session from a list."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from claimwatch.privacy import mask_phone, scrub_text
from tests.complaints_web.conftest import CLEAR_PHONE, TEXT_PHONE, Office

LAST4 = CLEAR_PHONE[-4:]
# Anything that looks masked: digits around a run of stars.
MASKED = re.compile(r"[0-9Xx]*\*{2,}[0-9Xx]*")


def _masked_tokens(text: str) -> list[str]:
    return MASKED.findall(text)


def test_mask_phone_keeps_only_the_carrier_prefix():
    for phone in ("13812345678", "+86 138-1234-5678", "8613812345678", "138 1234 5678"):
        assert mask_phone(phone) == "138********", phone
    assert mask_phone("02012345678") == "020********"  # a landline: its last 4 hidden too
    assert mask_phone("12345") == "*****"
    assert mask_phone(None) == ""


def test_scrub_text_hides_the_last_digits_of_a_phone_in_free_text():
    for text in ("客户13812345678回电", "客户 138-1234-5678 回电", "客户+8613812345678回电", "tel 138 1234 5678."):
        scrubbed = scrub_text(text)
        assert "5678" not in scrubbed and "138********" in scrubbed, (text, scrubbed)
    assert scrub_text("金额3200元，编号20261102") == "金额3200元，编号20261102"


def test_staff_answers_never_show_the_lookup_factor(office: Office, as_user, client: TestClient):
    handler = as_user(office.handler)
    shown = {
        "claims API list": handler.get("/api/v1/claims").text,
        "claim API": handler.get("/api/v1/claims/A-MOT-001").text,
        "claims page": handler.get("/claims").text,
        "claim page": handler.get("/claims/A-MOT-001").text,
        "complaint queue": handler.get("/complaints").text,
        "complaint page": handler.get(f"/complaints/{office.personal}").text,
        "complaint API": handler.get(f"/api/v1/complaints/{office.personal}").text,
    }
    for where, text in shown.items():
        assert CLEAR_PHONE not in text and TEXT_PHONE not in text, where
        tokens = _masked_tokens(text)
        assert not [t for t in tokens if t.endswith(LAST4) or t.endswith(TEXT_PHONE[-4:])], (where, tokens)
    claim = handler.get("/api/v1/claims/A-MOT-001").json()["claim"]
    assert claim["claimant_phone"] == "138********"
    assert "138********" in shown["claim page"] and "138********" in shown["complaint page"]

    # The claimant, who knows the whole number, still opens the lookup with its last 4 digits.
    answer = client.post("/api/v1/lookup", json={"insurer": "ACME", "claim_number": "A-MOT-001", "phone_last4": LAST4})
    assert answer.status_code == 200, answer.text
    assert answer.json()["claim"]["claimant"]["phone"] == "138********"

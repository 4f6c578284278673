import json
import logging

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from claimwatch import privacy
from claimwatch.logs import configure_logging
from claimwatch.privacy import FieldCipher, derive_key, keyed_hash, mask_id_number, mask_name, mask_phone, scrub_text


def test_cipher_round_trip_uses_fresh_nonces_and_detects_tampering():
    cipher = FieldCipher(derive_key("field-encryption", "k1"))
    a = cipher.encrypt("13812345678")
    b = cipher.encrypt("13812345678")
    assert a != b and a.startswith("v1:")
    assert cipher.decrypt(a) == "13812345678"
    assert cipher.encrypt(None) is None and cipher.decrypt(None) is None
    other = FieldCipher(derive_key("field-encryption", "k2"))
    with pytest.raises(Exception):  # noqa: B017 - cryptography raises InvalidTag
        other.decrypt(a)


def test_keyed_hash_normalises_and_hides_the_value():
    assert keyed_hash("138-1234 5678") == keyed_hash("13812345678")
    assert keyed_hash("11010119900307123x") == keyed_hash("11010119900307123X")
    assert "13812345678" not in keyed_hash("13812345678")
    assert keyed_hash("") is None


def test_masks():
    assert mask_phone("+86 138-1234-5678") == "138********"
    assert mask_phone("13812345678") == "138********"
    assert mask_id_number("110101199003071234") == "1101**********1234"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("李") == "*"


def test_scrub_text_masks_personal_numbers_in_free_text():
    text = "客户13812345678，身份证110101199003071234，卡号6222021234567890123，金额3200"
    scrubbed = scrub_text(text)
    assert "13812345678" not in scrubbed and "138********" in scrubbed
    assert "110101199003071234" not in scrubbed and "110101********1234" in scrubbed
    assert "6222021234567890123" not in scrubbed
    assert "金额3200" in scrubbed


def test_scrub_text_leaves_digit_runs_inside_identifiers_alone():
    # A request id (uuid4 hex) whose digits happen to look like a card number: masking it would break the id that
    # ties a request's log lines together. Numbers standing on their own are still masked.
    request_id = "66fabc66e2434730955549217d285e62"
    assert scrub_text(f"request_id={request_id}") == f"request_id={request_id}"
    assert scrub_text("卡号6222021234567890123，电话13812345678") == "卡号6222****0123，电话138********"


def test_log_lines_are_scrubbed(caplog):
    configure_logging("INFO")
    with caplog.at_level(logging.INFO):
        structlog.get_logger("t").info("claim reported", phone="13812345678", note="ID 110101199003071234")
    line = caplog.records[-1].getMessage()
    record = json.loads(line)
    assert record["phone"] == "138********"
    assert "110101199003071234" not in line


def _scrub_every_pattern(text: str) -> str:
    # scrub_text without its quick candidate check: the three substitutions on every text.
    text = privacy._ID_RE.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = privacy._PHONE_RE.sub(lambda m: f"{m.group(1)}********", text)
    return privacy._CARD_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


@pytest.mark.parametrize(
    "text",
    [
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "电话+8613812345678。",
        "86 13812345678",
        "138-1234-5678",
        "ID 11010119900307123X end",
        "卡 6222 0212 3456 7890",
        "案件 PICC202511240000001 已于 2025-11-24 17:55 进入「定损」",
        "１３８１２３４５６７８",  # full-width digits are digits to both checks
    ],
)
def test_scrub_text_candidate_check_skips_only_texts_no_pattern_matches(text):
    assert scrub_text(text) == _scrub_every_pattern(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789138 -+Xx案aZ\n"), max_size=40))
def test_scrub_text_equals_the_three_substitutions(text):
    assert scrub_text(text) == _scrub_every_pattern(text)

"""What is missing, and why a later notice asks for an item (pure rules, no database)."""

from __future__ import annotations

from types import SimpleNamespace

from claimwatch.materials import service
from claimwatch.materials.loader import parse_checklist
from tests.materials.test_loader import LINES, VALID


def _vehicle_damage():
    return parse_checklist(VALID, "motor.yaml", LINES).claim_types["vehicle_damage"]


def test_missing_counts_required_and_applicable_conditional_items_only():
    claim_type = _vehicle_damage()
    plain = service.evaluate(claim_type, [], [])
    assert plain.missing == ("id_proof",)
    assert plain.optional_missing == ("policy",)
    injured = service.evaluate(claim_type, ["injury"], [])
    assert injured.missing == ("id_proof", "medical_records")
    both = service.evaluate(claim_type, ["injury", "third_party"], ["id_proof", "policy"])
    assert both.missing == ("medical_records", "liability_agreement")
    assert both.optional_missing == ()
    assert not both.complete
    done = service.evaluate(claim_type, ["injury"], ["id_proof", "medical_records"])
    assert done.complete and done.missing == ()


def _notice(items, missing):  # type: ignore[no-untyped-def]
    return SimpleNamespace(items=list(items), missing_items=list(missing))


def test_first_notice_items_are_all_first():
    assert service.classify_items([], ["a", "b"]) == {"a": "first", "b": "first"}


def test_later_notice_classifies_repeat_knowable_and_new_fact():
    # The first notice asked for a and b although c was missing too (knowable then).
    first = _notice(["a", "b"], ["a", "b", "c"])
    basis = service.classify_items([first], ["b", "c", "d"])
    assert basis == {"b": "repeat", "c": "knowable", "d": "new_fact"}
    # once asked for in round 2, c in round 3 is only a reminder
    second = _notice(["b", "c", "d"], ["b", "c", "d"])
    assert service.classify_items([first, second], ["c", "e"]) == {"c": "repeat", "e": "new_fact"}


def test_upload_checks_are_strict_about_type_and_content():
    assert service.check_content_type("application/pdf; charset=binary") == "application/pdf"
    assert service.check_content_type("image/jpg") == "image/jpeg"
    assert service.content_matches("application/pdf", b"%PDF-1.4\n")
    assert not service.content_matches("application/pdf", b"<html><script>")
    assert service.content_matches("image/heic", b"\x00\x00\x00\x18ftypheic")
    assert not service.content_matches("image/png", b"\xff\xd8\xff\xe0")
    try:
        service.check_content_type("text/html")
    except service.MaterialsError as exc:
        assert (exc.status, exc.field) == (415, "file")
    else:
        raise AssertionError("text/html was accepted")


def test_filenames_are_sanitised_for_display():
    assert service.sanitise_filename("../../etc/passwd") == "passwd"
    assert service.sanitise_filename("C:\\Users\\张三\\身份证 正面.jpg") == "身份证 正面.jpg"
    assert service.sanitise_filename("a<b>|c\x00.pdf") == "a_b_c.pdf"
    assert service.sanitise_filename("...") == "document"
    long = service.sanitise_filename("x" * 500 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")

"""The phone and ID number checks of claimwatch.params and the translation path of claimwatch.web.forms."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from claimwatch.errors import Invalid
from claimwatch.params import (
    CHECK_DIGITS,
    IdNumberField,
    NumberProblem,
    PhoneField,
    checked_range,
    id_check_digit,
    is_mobile,
    normalise_id_number,
    normalise_phone,
)
from claimwatch.web import forms
from claimwatch.web.i18n import translate

# GB 11643-1999's own examples, and one ending in X.
GB11643_EXAMPLES = ("11010519491231002X", "440524188001010014")


@pytest.mark.parametrize("number", GB11643_EXAMPLES)
def test_the_standards_examples_are_valid(number: str):
    assert id_check_digit(number[:17]) == number[17]
    assert normalise_id_number(number) == number


def test_a_lower_case_x_and_spaces_are_normalised():
    assert normalise_id_number(" 110105 19491231 002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # X expected
        "11010519491231002Y".replace("Y", "3"),
        "440524188001010015",
    ],
)
def test_a_wrong_check_digit_is_refused(number: str):
    with pytest.raises(NumberProblem) as refused:
        normalise_id_number(number)
    assert refused.value.code == "id_number_check_digit"
    # A feed from another system is not refused for it (params.CHECK_DIGITS): the shape only.
    assert normalise_id_number(number, check=False) == number


@pytest.mark.parametrize(
    "number",
    ["110105194902301234", "110105194913011234", "110105184912311234", "110105299912311234"],
)
def test_an_impossible_date_of_birth_is_refused(number: str):
    with pytest.raises(NumberProblem) as refused:
        normalise_id_number(number, today=dt.date(2026, 12, 6))
    assert refused.value.code == "id_number_birth_date"


@pytest.mark.parametrize("number", ["12345", "11010519491231002", "1101051949123100XX", "护照12345", "A" * 33])
def test_malformed_numbers_are_refused(number: str):
    with pytest.raises(NumberProblem) as refused:
        normalise_id_number(number)
    assert refused.value.code == "id_number_format"


def test_other_documents_pass_as_letters_and_digits():
    assert normalise_id_number("e12345678") == "E12345678"  # a passport
    assert normalise_id_number("110105491231002") == "110105491231002"  # a first-generation 15-digit number


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086 139 0000 1111", "13900001111"),
        ("19912345678", "19912345678"),
        ("010-12345678", "010-12345678"),
        ("(0755) 8765 4321", "0755-87654321"),
        ("+86 10 1234 5678", "010-12345678"),
        ("0755-87654321转123", "0755-87654321-123"),
        ("+852 2345 6789", "+85223456789"),
    ],
)
def test_phone_numbers_are_normalised(typed: str, stored: str):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "12345",
        "call me",
        "12812345678",
        "1381234567",
        "138123456789",
        "+86 12",
        "010-123",
        "+8613812345",
        "013-81234567",
    ],
)
def test_bad_phone_numbers_are_refused(typed: str):
    with pytest.raises(NumberProblem) as refused:
        normalise_phone(typed)
    assert refused.value.code == "phone_format"
    assert not is_mobile(typed)


def test_is_mobile_tells_an_sms_number_from_a_landline():
    assert is_mobile("+86 138 1234 5678") and not is_mobile("010-12345678")


class _Person(BaseModel):
    phone: PhoneField | None = None
    id_number: IdNumberField | None = None


def test_the_schema_types_name_the_problem_and_the_context_turns_on_the_check_digit():
    assert _Person.model_validate({"id_number": "110105194912310021"}).id_number == "110105194912310021"
    with pytest.raises(ValidationError) as refused:
        _Person.model_validate({"phone": "12345", "id_number": "110105194912310021"}, context={CHECK_DIGITS: True})
    assert {(e["loc"][0], e["type"]) for e in refused.value.errors()} == {
        ("phone", "phone_format"),
        ("id_number", "id_number_check_digit"),
    }
    problems = forms.validation_problems(refused.value, "en")
    assert problems["phone"]["message"] == translate("en", forms.PHONE)
    assert problems["id_number"]["message"] == translate("en", forms.ID_CHECK_DIGIT)
    zh = forms.validation_problems(refused.value, "zh")
    assert zh["id_number"]["message"] == translate("zh", forms.ID_CHECK_DIGIT)
    assert "check digit" not in zh["id_number"]["message"]  # the catalogue has it in Chinese


def test_date_ranges():
    assert checked_range("from", dt.date(2026, 1, 1), "to", dt.date(2026, 1, 1)) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 1),
    )
    assert checked_range("from", None, "to", dt.date(2026, 1, 1))[0] is None
    with pytest.raises(Invalid) as reversed_range:
        checked_range("from", dt.date(2026, 2, 1), "to", dt.date(2026, 1, 31))
    assert reversed_range.value.field == "to"
    assert forms.problem_for("zh", reversed_range.value)["message"] == translate("zh", forms.RANGE)
    with pytest.raises(Invalid) as absurd:
        checked_range("from", dt.date(1, 1, 1), "to", dt.date(2026, 1, 31))
    assert absurd.value.field == "from"
    assert "1900" in forms.problem_for("en", absurd.value)["message"]


def test_a_service_refusal_keeps_its_english_detail_on_english_pages_only():
    refused = Invalid("status", "complaint TS1 is closed; an extension needs one of: accepted")
    en = forms.problem_for("en", refused)
    zh = forms.problem_for("zh", refused)
    assert en["detail"] == refused.message and zh["detail"] is None
    assert zh["message"] == translate("zh", forms.FIELD_MESSAGES["status"])


def test_the_demo_generator_makes_numbers_the_forms_accept():
    from claimwatch.demo.generator import DemoSpec, iter_claim_events

    claimants = [
        event["claim"]["claimant"] for event in iter_claim_events(DemoSpec(claims=300, seed=7)) if event.get("claim")
    ]
    assert len(claimants) == 300
    for claimant in claimants:
        assert normalise_id_number(claimant["id_number"]) == claimant["id_number"]
        assert is_mobile(claimant["phone"])

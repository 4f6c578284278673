"""The sales rules as data (no database): the bundled file, file:line errors, and each rule's evaluation."""

from __future__ import annotations

import datetime as dt

import pytest

from claimwatch.policies import sales_rules
from claimwatch.policies.sales_rules import SaleFacts, SalesRulesError

RULES = sales_rules.base_rules()
DAY = dt.date(2026, 11, 5)


def facts(**changes: object) -> SaleFacts:
    values: dict[str, object] = {
        "channel": "agent", "line": "life", "long_term": False, "customer_age": 35, "signed_on": DAY,
        "disclosure_signed_on": DAY, "recorded": True, "agent_licensed": True,
    }  # fmt: skip
    values.update(changes)
    return SaleFacts(**values)  # type: ignore[arg-type]


def test_the_bundled_rules_load_with_every_rule_on():
    assert RULES.enabled == frozenset(sales_rules.RULES)
    assert RULES.licence_kind == "sales" and RULES.cooling_off_min_sales == 10


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("version: 1\nchannels: [agent]\nlines: [life]\nrules:\n  unknown_rule: {}\n", 5, "unknown rule"),
        ("version: 1\nchannels: [agent]\nlines: [life]\nrules:\n  missing_disclosure:\n    channels: [bank]\n",
         6, "unknown channel 'bank'"),
        ("version: 1\nchannels: [agent]\nlines: [life]\nrules:\n  cooling_off_rate:\n    rate_above: 2\n"
         "    min_sales: 5\n", 6, "rate_above"),
        ("version: 1\nchannels: [agent]\nlines: [life]\nrules:\n  missing_recording: {enabled: true}\n", 5,
         "say when a recording is required"),
        ("version: 1\nchannels: [agent]\nlines: [life]\nrules:\n  mis_selling_complaint:\n    categories: [boats]\n"
         "    within_days: 30\n", 6, "unknown categorie"),
        ("version: 1\nchannels: [agent, agent]\nlines: [life]\nrules: {unlicensed_agent: {}}\n", 2, "repeats"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_naming_file_and_line(text: str, line: int, words: str):
    with pytest.raises(SalesRulesError) as refused:
        sales_rules.parse(text, "rules.yaml", ("sales", "claims"))
    assert str(refused.value).startswith(f"rules.yaml:{line}:"), str(refused.value)
    assert words in str(refused.value)


def test_each_per_sale_rule_fires_on_its_fact_only():
    assert sales_rules.sale_findings(facts(), RULES) == []
    fired = dict(sales_rules.sale_findings(facts(agent_licensed=False, disclosure_signed_on=None), RULES))
    assert set(fired) == {"unlicensed_agent", "missing_disclosure"}
    late = dict(sales_rules.sale_findings(facts(disclosure_signed_on=DAY + dt.timedelta(days=1)), RULES))
    assert late["missing_disclosure"]["disclosure_signed_on"] == "2026-11-06"
    # A recording is required by the channel, the customer's age or a long-term life/health policy.
    assert sales_rules.sale_findings(facts(recorded=False), RULES) == []
    for changes, reason in (({"channel": "bank"}, "channel"), ({"customer_age": 60}, "age"),
                            ({"long_term": True}, "long_term")):  # fmt: skip
        found = dict(sales_rules.sale_findings(facts(recorded=False, **changes), RULES))
        assert found["missing_recording"] == {"required_by": [reason]}
    assert sales_rules.sale_findings(facts(recorded=False, long_term=True, line="motor"), RULES) == []


def test_the_cooling_off_rate_needs_volume_and_a_share_above_the_threshold():
    assert not sales_rules.cooling_off_fires(9, 5, RULES)  # too few sales
    assert not sales_rules.cooling_off_fires(10, 1, RULES)  # 10 % is not above 10 %
    assert sales_rules.cooling_off_fires(10, 2, RULES)
    assert sales_rules.in_cooling_off(DAY, 15, DAY + dt.timedelta(days=15))
    assert not sales_rules.in_cooling_off(DAY, 15, DAY + dt.timedelta(days=16))

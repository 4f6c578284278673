"""The KPI catalogue is data: the bundled file loads, and a bad file is refused naming its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimwatch.cli import app
from claimwatch.kpi.loader import CatalogueError, load_catalogue, parse_catalogue

GOOD = """kpis:
  - code: closure_rate
    name: {zh: 结案率, en: Closure rate}
    definition: {zh: 已结案比例, en: Share closed}
    source: claims
    period: reported_at
    numerator: "count(*) FILTER (WHERE closed_at IS NOT NULL)"
    denominator: "count(*)"
    unit: "%"
    better: higher
    baseline: 88
    target: 95
    owner: {zh: 理赔部, en: Claims}
"""


def _bad(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def test_bundled_catalogue_has_the_design_indicators():
    from claimwatch.config import get_settings

    kpis = {k.code: k for k in load_catalogue(get_settings().kpi_catalogue)}
    for code in (
        "small_timeliness",
        "large_timeliness",
        "closure_rate",
        "supplement_rate",
        "one_time_notice_violation_rate",
        "proactive_notification_rate",
        "overdue_rate",
        "cycle_time",
        "red_filings",
        "dispute_rate",
        "complaints_per_10k_claims",
        "complaints_per_10k_policies",
        "complaints_per_100m_premium",
        "complaint_on_time_rate",
        "complaint_first_contact_resolution",
        "repeat_complaint_rate",
        "satisfaction",
        "transparency_score",
        "timeliness_score",
        "attitude_score",
        "survey_response_rate",
    ):
        assert kpis[code].available, code
    # Audit accuracy is the inspections' stratum-weighted accuracy (tests/kpi/test_audit_accuracy.py).
    assert kpis["audit_accuracy"].source == "inspections" and "weight" in (kpis["audit_accuracy"].denominator or "")
    assert kpis["complaints_per_10k_claims"].value(3, 5) == 6000.0
    assert kpis["complaints_per_100m_premium"].value(3, 5e10) == 0.6  # denominator in fen
    assert kpis["closure_rate"].baseline == 88 and kpis["closure_rate"].target == 95
    assert kpis["supplement_rate"].better == "lower" and kpis["supplement_rate"].alert
    assert kpis["closure_rate"].light(96) == "meets"
    assert kpis["closure_rate"].light(92) == "near"
    assert kpis["closure_rate"].light(80) == "misses"
    assert kpis["supplement_rate"].light(12) == "near" and kpis["supplement_rate"].light(None) == "none"


def test_good_file_parses():
    (kpi,) = parse_catalogue(GOOD, "k.yaml")
    assert kpi.code == "closure_rate" and kpi.line == 2 and kpi.value(19, 20) == pytest.approx(95.0)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (_bad('"count(*)"\n', '"count(nonexistent)"\n'), 8, "denominator is not a valid expression over claims"),
        (_bad("closed_at IS NOT NULL", "closed_at IS NOT"), 7, "numerator is not a valid expression"),
        (_bad('unit: "%"', "unit: percent"), 9, "'unit' must be one of"),
        (_bad("period: reported_at", "period: status"), 6, "period 'status' is not a timestamp of claims"),
        (_bad("source: claims", "source: complaint_log"), 5, "'source' must be one of"),
        (_bad("    owner:", "    colour: red\n    owner:"), 13, "unknown key 'colour'"),
        (_bad("better: higher", "better: up"), 10, "'better' must be one of"),
        (_bad("target: 95", "target: lots"), 12, "'target' must be a number"),
        (_bad('"count(*)"\n', '"count(*); DROP TABLE claims"\n'), 8, "single SQL expression"),
        (_bad("name: {zh: 结案率, en: Closure rate}", "name: 结案率"), 3, "'name' must be a mapping"),
        (GOOD + GOOD.removeprefix("kpis:\n"), 14, "duplicate KPI code 'closure_rate'"),
        (_bad("    baseline: 88\n", "    baseline: 88\n    alert: maybe\n"), 12, "'alert' must be true or false"),
        ("kpis: [\n", 2, "not valid YAML"),
    ],
)
def test_bad_file_is_refused_naming_the_line(text: str, line: int, message: str):
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(text, "bad.yaml")
    assert caught.value.line == line, str(caught.value)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"bad.yaml:{line}: ")


def test_cli_check_names_file_and_line(tmp_path: Path):
    bad = tmp_path / "kpis.yaml"
    bad.write_text(_bad("better: higher", "better: up"), encoding="utf-8")
    result = CliRunner().invoke(app, ["kpi", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:10:" in result.output.replace("\n", "")
    good = CliRunner().invoke(app, ["kpi", "check"])
    assert good.exit_code == 0, good.output

"""The drill-down definitions of the KPI catalogue are data, validated on load with file and line."""

from __future__ import annotations

import pytest

from claimwatch.kpi.loader import CatalogueError, parse_catalogue

BASE = """kpis:
  - code: closure_rate
    name: {zh: 结案率, en: Closure rate}
    definition: {zh: 结案比例, en: Share closed}
    source: claims
    period: reported_at
    numerator: "count(*) FILTER (WHERE closed_at IS NOT NULL)"
    denominator: "count(*)"
    unit: "%"
    better: higher
    baseline: null
    target: 95
    owner: {zh: 理赔部, en: Claims}
    drill:
      list: claims
      numerator:
        label: {zh: 已结案, en: closed}
        rows: "closed_at IS NOT NULL"
        filters: {reported_in: period, state: closed}
"""


def test_a_drill_is_read_with_its_filters():
    (kpi,) = parse_catalogue(BASE, "kpis.yaml")
    part = kpi.drill_part("numerator")
    assert part is not None and part.filters == (("reported_in", "period"), ("state", "closed"))
    assert part.rows == "closed_at IS NOT NULL" and part.label("en") == "closed"
    assert kpi.drill_part("denominator") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("state: closed", "state: shut"), "'state' must be one of open, closed"),
        (("state: closed", "colour: red"), "unknown claim-list filter 'colour'"),
        (("reported_in: period", "overdue_at: end"), "overdue_at: end is only for KPIs with period: end"),
        (('rows: "closed_at IS NOT NULL"', 'rows: "no_such_column > 0"'), "rows is not a valid expression"),
        (('rows: "closed_at IS NOT NULL"', 'rows: "true; DROP TABLE x"'), "single SQL expression"),
        (("list: claims", "list: surveys"), "'list' must be one of claims"),
    ],
)
def test_a_bad_drill_is_refused_with_its_line(change: tuple[str, str], message: str):
    with pytest.raises(CatalogueError) as raised:
        parse_catalogue(BASE.replace(*change), "kpis.yaml")
    assert message in str(raised.value)
    assert "kpis.yaml:" in str(raised.value)


def test_the_shipped_catalogue_drills_what_counts_claims():
    from pathlib import Path

    import claimwatch
    from claimwatch.kpi.loader import load_catalogue

    path = Path(claimwatch.__file__).parent / "defaults" / "kpis.yaml"
    drilled = {kpi.code for kpi in load_catalogue(path) if kpi.drill}
    assert drilled == {
        "small_timeliness",
        "large_timeliness",
        "closure_rate",
        "supplement_rate",
        "one_time_notice_violation_rate",
        "overdue_rate",
        "cycle_time",
        "red_filings",
        "dispute_rate",
        "fast_track_share",
        "fast_track_cycle_time",
        "provider_standard_rate",  # to the provider-task list (issue 21)
        "provider_report_on_time",
    }

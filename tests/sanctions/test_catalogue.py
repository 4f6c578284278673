"""The violation catalogue is data: the bundled file loads, and a bad file is refused with its file and line."""

from __future__ import annotations

import pytest

from claimwatch.sanctions.loader import CatalogueError, base_catalogue, parse_catalogue

GOOD = """\
version: "t-1"
ranges:
  fine: {min: 200, max: 5000, default: 500}
  suspension: {min: 3, max: 30, default: 7, group: handle_claims}
repeat:
  threshold: 3
  window_months: 12
  training: {topic: {zh: 培训, en: Training}, due_days: 30}
violations:
  - code: A
    description: {zh: 甲, en: A}
    severity: minor
    sanction: {kind: warning}
  - code: B
    description: {zh: 乙, en: B}
    severity: major
    sanction: {kind: fine, min: 100, max: 900, default: 300}
"""


def test_the_bundled_catalogue_loads_with_every_kind_and_the_repeat_rule():
    found = base_catalogue()
    kinds = {v.kind for v in found.violations.values()}
    assert kinds == {"warning", "reprimand", "fine", "suspension", "dismissal"}
    assert found.threshold == 3 and found.window_months == 12
    suspension = found.violations["REPEATED_SERIOUS_ERROR"].suspension
    assert suspension is not None and suspension.group == "handle_claims"
    assert found.escalate("warning") == "reprimand" and found.escalate("dismissal") == "dismissal"


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("kind: warning}", "kind: caning}", 13, "sanction kind is one of"),
        ("min: 100, max: 900, default: 300", "min: 900, max: 100, default: 300", 17, "below its min"),
        ("min: 100, max: 900, default: 300", "min: 100, max: 900, default: 1300", 17, "outside"),
        ("group: handle_claims", "group: fly_planes", 4, "permission group"),
        ("  - code: B", "  - code: A", 14, "duplicate violation code"),
        ("severity: major", "severity: awful", 16, "severity is one of"),
        ("threshold: 3", "threshold: 1", 6, "threshold"),
        ("version:", "versio:", 1, "unknown key"),
    ],
)
def test_a_bad_catalogue_names_file_and_line(old: str, new: str, line: int, words: str):
    assert parse_catalogue(GOOD, "v.yaml").violations["B"].fine is not None
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(GOOD.replace(old, new, 1), "v.yaml")
    assert str(caught.value).startswith(f"v.yaml:{line}:"), str(caught.value)
    assert words in str(caught.value)

"""Item 4 of issue 11, exports: a file with personal data (survey comments: the customers' words and case
references; regulator filings: claim numbers with their dates) is recorded once per insurer in it, for the
regulator's cross-insurer export too. A file of counts only is not."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from tests.access.test_access_log import _log
from tests.factories import World
from tests.surveys.conftest import survey_settings  # noqa: F401 - the fixture, autouse
from tests.surveys.test_results import Seeded
from tests.surveys.test_results import seeded as survey_world  # noqa: F401 - the fixture
from tests.web.conftest import SlaWorld, sla  # noqa: F401 - the fixture


def test_the_regulators_filings_export_is_recorded_for_each_insurer_in_it(
    sla: SlaWorld,  # noqa: F811
    as_user: Callable[[str], TestClient],
    world: World,
):
    regulator = as_user(sla.regulator)
    exported = regulator.get("/api/v1/sla/filings", params={"format": "csv"})
    assert exported.status_code == 200 and "S-RED" in exported.text and "B-RED" in exported.text
    only_bbb = regulator.get("/api/v1/sla/filings", params={"format": "json", "tenant": "BBB"})
    assert only_bbb.status_code == 200
    empty = regulator.get("/api/v1/sla/filings", params={"until": "2026-11-01T00:00:00+08:00"})
    assert empty.status_code == 200 and empty.json() == []  # nothing in it: nothing recorded

    who = f"user:{sla.regulator}"
    acme = _log(as_user(sla.quality))
    assert [(e["actor"], e["record_kind"], e["record"], e["purpose"]) for e in acme] == [
        (who, "export", "regulator-filings.csv", "filings_export")
    ]
    bbb_quality = _log(as_user(world.user("zhao.quality", Role.QUALITY_MANAGER, sla.bbb)))
    assert sorted(e["record"] for e in bbb_quality) == ["regulator-filings.csv", "regulator-filings.json"]

    # The insurer's own quality manager exporting is recorded too.
    own = as_user(sla.quality)
    assert own.get("/api/v1/sla/filings", params={"format": "csv"}).status_code == 200
    assert [e["actor"] for e in _log(own, kind="export")] == [f"user:{sla.quality}", who]


def test_survey_comments_export_is_recorded_and_the_figures_are_not(
    survey_world: Seeded,  # noqa: F811
    as_user: Callable[[str], TestClient],
):
    quality = as_user(survey_world.quality)
    assert quality.get("/surveys/results.csv", params={"by": "line"}).status_code == 200
    assert _log(quality) == []  # counts only
    comments = quality.get("/surveys/results.csv", params={"part": "comments"})
    assert comments.status_code == 200 and "C-1" in comments.text
    (entry,) = _log(quality)
    assert entry["actor"] == f"user:{survey_world.quality}" and entry["purpose"] == "survey_comments_export"
    assert entry["record_kind"] == "export" and entry["record"].endswith("-comments.csv")

    regulator = as_user(survey_world.regulator)
    assert regulator.get("/surveys/results.csv", params={"part": "comments"}).status_code == 200
    assert [e["actor"] for e in _log(quality)] == [f"user:{survey_world.regulator}", f"user:{survey_world.quality}"]
    assert [e["actor"] for e in _log(as_user(survey_world.bbb_quality))] == [f"user:{survey_world.regulator}"]

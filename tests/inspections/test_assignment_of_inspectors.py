"""Who inspects what: balanced over the plan's inspectors, never a case the inspector handled (assignee now
or before, actor of its events), never (exclude_own_unit) a case of their unit or a unit below it; a case
nobody may take stays in the sample, unassigned."""

from __future__ import annotations

from collections import Counter

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from tests.inspections.conftest import Bureau, when

ALL_MOTOR = {"period": "2026-11", "date_field": "reported", "line": "motor"}


def _reassign(bureau: Bureau, number: str, *names: str) -> None:
    api = Principal(role=Role.INTEGRATION, tenant_id=bureau.tenant.id, actor="api_key:core")
    events = [
        EventIn.model_validate(
            {
                "event_id": f"{number}-re{i}",
                "claim_number": number,
                "type": "assigned",
                "occurred_at": when(28, 9 + i),
                "assignee": name,
            }
        )  # fmt: skip
        for i, name in enumerate(names)
    ]
    with bureau.session() as session:
        cases_service.ingest_events(session, api, events)


def test_assignment_rules(bureau: Bureau) -> None:
    # insp.hq was C0005's assignee before adj.gd took it back; insp.sh accepted C0003 (an event's actor).
    _reassign(bureau, "ACME-C0005", "acme.insp.hq", "acme.adj.gd")
    ids = {name: bureau.user_id(f"acme.{name}") for name in ("insp.hq", "insp.gd", "insp.sh")}
    units = bureau.units

    everyone = bureau.draw(
        bureau.plan(code="ALL", method="targeted", target={"rule": "all"}, population=ALL_MOTOR, size=None)
    )
    rows = {row["subject"]: row for row in everyone["inspections"]}
    assert len(rows) == 18 and all(row["inspector_id"] for row in rows.values())
    # Conflicts: the handlers never inspect their own cases...
    assert rows["ACME-C0003"]["inspector_id"] != ids["insp.sh"]
    assert rows["ACME-C0005"]["inspector_id"] != ids["insp.hq"]
    # ... and nobody inspects their own unit or a unit below it (insp.gd sits at B1, above B1-SZ).
    for row in rows.values():
        if row["org_unit_id"] in (units["ACME-B1"], units["ACME-B1-SZ"]):
            assert row["inspector_id"] != ids["insp.gd"]
        if row["org_unit_id"] == units["ACME-SH"]:
            assert row["inspector_id"] != ids["insp.sh"]
    load = Counter(row["inspector_id"] for row in rows.values())
    assert max(load.values()) - min(load.values()) <= 1, load  # balanced: 6 each
    assert everyone["inspections"][0]["due_at"] is not None

    # Only insp.sh: C0003 (handled) and the SH cases (own unit) stay unassigned, but stay in the sample.
    only_sh = bureau.draw(
        bureau.plan(code="SH", method="targeted", target={"rule": "all"}, population=ALL_MOTOR, size=None,
                    inspectors=["acme.insp.sh"])
    )  # fmt: skip
    unassigned = sorted(r["subject"] for r in only_sh["inspections"] if r["inspector_id"] is None)
    assert unassigned == ["ACME-C0003"] + [f"ACME-C{n:04d}" for n in range(9, 15)]
    assert len(only_sh["inspections"]) == 18
    # Without the own-unit rule only the handled case is left.
    relaxed = bureau.draw(
        bureau.plan(code="SH2", method="targeted", target={"rule": "all"}, population=ALL_MOTOR, size=None,
                    inspectors=["acme.insp.sh"], exclude_own_unit=False)
    )  # fmt: skip
    assert [r["subject"] for r in relaxed["inspections"] if r["inspector_id"] is None] == ["ACME-C0003"]


def test_assignment_is_reproducible_for_a_seed(bureau: Bureau) -> None:
    plan_id = bureau.plan(size={"fixed": 9})
    first = {r["subject"]: r["inspector_id"] for r in bureau.draw(plan_id, seed=5)["inspections"]}
    second = {r["subject"]: r["inspector_id"] for r in bureau.draw(plan_id, seed=5)["inspections"]}
    assert first == second

"""Item 4 of issue 11: who viewed personal data. Views of a claim or complaint (page and API, staff and
regulator), exports with personal data and unmasking are recorded with actor, time, record, purpose and
insurer; a quality manager (not other roles, not another insurer) reads them; unmask needs the role and a
reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from tests.complaints_web.conftest import CLEAR_ID_NUMBER, CLEAR_PHONE, Office
from tests.factories import World

Log = list[dict[str, Any]]


def _log(client: TestClient, **params: str) -> Log:
    response = client.get("/api/v1/access-log", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _seen(log: Log) -> list[tuple[str, str, str, str]]:
    return sorted((e["actor"], e["record_kind"], e["record"], e["purpose"]) for e in log)


def test_staff_views_of_claims_and_complaints_are_recorded_and_read_by_the_quality_manager(
    office: Office, quality: str, bbb_quality: str, as_user: Callable[[str], TestClient]
):
    handler = as_user(office.handler)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert handler.get("/claims/A-MOT-001").status_code == 200
    assert handler.get("/api/v1/claims/A-MOT-001").status_code == 200
    assert handler.get(f"/complaints/{office.personal}").status_code == 200
    assert handler.get(f"/api/v1/complaints/{office.personal}").status_code == 200
    assert handler.get("/claims/NO-SUCH").status_code == 404  # nothing shown, nothing recorded
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    reader = as_user(quality)
    log = _log(reader)
    who = f"user:{office.handler}"
    assert _seen(log) == [
        (who, "claim", "A-MOT-001", "claim_api"),
        (who, "claim", "A-MOT-001", "claim_page"),
        (who, "complaint", office.personal, "complaint_api"),
        (who, "complaint", office.personal, "complaint_page"),
    ]
    entry = log[0]
    assert entry["role"] == "complaint_handler" and entry["field"] is None and entry["reason"] is None
    assert before <= dt.datetime.fromisoformat(entry["accessed_at"]) <= after
    # Filters: by record, actor (with or without "user:"), and time.
    assert {e["purpose"] for e in _log(reader, record="A-MOT-001")} == {"claim_page", "claim_api"}
    assert len(_log(reader, actor=office.handler)) == 4 and len(_log(reader, actor=who)) == 4
    assert _log(reader, actor="user:nobody") == []
    assert len(_log(reader, since=before.isoformat(), until=after.isoformat())) == 4
    assert _log(reader, since=after.isoformat()) == []
    assert len(_log(reader, kind="complaint")) == 2
    # The quality manager's own reading of the log shows no personal data and is not a view of it.
    assert len(_log(reader)) == 4
    # Another insurer's quality manager sees none of it.
    assert _log(as_user(bbb_quality)) == []


def test_the_log_is_refused_to_other_roles_and_checks_its_parameters(
    office: Office, quality: str, as_user: Callable[[str], TestClient], client: TestClient, world: World
):
    for user in (office.handler, office.adjuster, office.supervisor, office.regulator):
        assert as_user(user).get("/api/v1/access-log").status_code == 403, user
    assert client.get("/api/v1/access-log").status_code == 401
    integration = world.api_key(office.acme, Role.INTEGRATION)
    assert client.get("/api/v1/access-log", headers={"X-API-Key": integration}).status_code == 403
    reader = as_user(quality)
    for params, field in (
        ({"since": "2026-11-02T09:00:00"}, "since"),  # no offset
        ({"until": "10000-01-01T00:00:00+08:00"}, "until"),
        ({"page": str(2**70)}, "page"),
        ({"kind": "everything"}, "kind"),
        ({"actor": "x" * 101}, "actor"),
        ({"record": "A-MOT\x00001"}, "record"),
    ):
        response = reader.get("/api/v1/access-log", params=params)
        assert response.status_code == 422, (params, response.text)
        assert field in {p["field"].split(".")[-1] for p in response.json()["problems"]}, response.json()


def test_a_regulators_views_and_exports_are_recorded_for_the_insurer(
    office: Office, quality: str, bbb_quality: str, as_user: Callable[[str], TestClient]
):
    regulator = as_user(office.regulator)
    assert regulator.get("/claims/A-MOT-001", params={"tenant": "ACME"}).status_code == 200
    assert regulator.get("/api/v1/claims/A-MOT-001", params={"tenant": "ACME"}).status_code == 200
    assert regulator.get(f"/complaints/{office.personal}", params={"tenant": "ACME"}).status_code == 200
    assert regulator.get(f"/api/v1/complaints/{office.bbb_only}").status_code == 200
    who = f"user:{office.regulator}"
    acme = _log(as_user(quality))
    assert _seen(acme) == [
        (who, "claim", "A-MOT-001", "claim_api"),
        (who, "claim", "A-MOT-001", "claim_page"),
        (who, "complaint", office.personal, "complaint_page"),
    ]
    assert {e["role"] for e in acme} == {"regulator"}
    assert _seen(_log(as_user(bbb_quality))) == [(who, "complaint", office.bbb_only, "complaint_api")]


def test_unmask_needs_the_role_and_a_reason_and_is_recorded(
    office: Office, quality: str, as_user: Callable[[str], TestClient], client: TestClient, world: World
):
    handler_key = {"X-API-Key": world.api_key(office.acme, Role.COMPLAINT_HANDLER)}
    reason = "客户来电 13900001111 核实身份后回拨"
    shown = client.post(
        "/api/v1/claims/A-MOT-001/unmask", json={"field": "phone", "reason": reason}, headers=handler_key
    )
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"field": "phone", "value": CLEAR_PHONE}
    assert shown.headers["cache-control"] == "no-store"
    id_number = client.post(
        f"/api/v1/complaints/{office.personal}/unmask",
        json={"field": "id_number", "reason": "核对投诉人身份"},
        headers=handler_key,
    )
    assert id_number.status_code == 200 and id_number.json()["value"] == CLEAR_ID_NUMBER

    refused = [
        # an adjuster or a quality manager may view claims, not unmask them
        (client, {"X-API-Key": world.api_key(office.acme, Role.ADJUSTER)}, {"field": "phone", "reason": reason}, 403),
        (
            client,
            {"X-API-Key": world.api_key(office.acme, Role.QUALITY_MANAGER)},
            {"field": "phone", "reason": reason},
            403,
        ),
        (client, handler_key, {"field": "phone", "reason": "  看看  "}, 422),  # too short once trimmed
        (client, handler_key, {"field": "phone"}, 422),
        (client, handler_key, {"field": "email", "reason": reason}, 422),
        (client, handler_key, {"field": "phone", "reason": 12345}, 422),
        (client, handler_key, {"field": "phone", "reason": "核实身份\x00后回拨"}, 422),
    ]
    for caller, headers, body, status in refused:
        response = caller.post("/api/v1/claims/A-MOT-001/unmask", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        if status == 422:
            fields = {p["field"].split(".")[-1] for p in response.json()["problems"]}
            assert fields & {"reason", "field"}, response.json()
    # Another insurer's claim is unknown; a claim without an ID number has none to show.
    bbb_key = {"X-API-Key": world.api_key(office.bbb, Role.COMPLAINT_HANDLER)}
    other = client.post("/api/v1/claims/A-MOT-001/unmask", json={"field": "phone", "reason": reason}, headers=bbb_key)
    assert other.status_code == 404
    absent = client.post(
        f"/api/v1/complaints/{office.late}/unmask", json={"field": "id_number", "reason": reason}, headers=handler_key
    )
    assert absent.status_code == 404

    log = _log(as_user(quality), record="A-MOT-001")
    assert len(log) == 1
    (entry,) = log
    assert entry["purpose"] == "unmask" and entry["field"] == "phone" and entry["role"] == "complaint_handler"
    assert entry["reason"] == "客户来电 139******** 核实身份后回拨"  # the reason is kept, scrubbed
    (complaint_entry,) = _log(as_user(quality), record=office.personal)
    assert complaint_entry["field"] == "id_number" and complaint_entry["reason"] == "核对投诉人身份"

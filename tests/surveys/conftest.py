"""Fixtures for the survey tests: claims made and closed through the event API, close to the real time
(a survey's link is checked against the real clock), and the link read back from the outbox the way
the delivery worker reads it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.notify.models import OutboxMessage
from claimwatch.privacy import field_cipher
from claimwatch.surveys.models import Survey
from tests.apps import shared_app
from tests.factories import HAPPY_PATH, TenantHandle, reported, transition

BASE_URL = "https://service.example.cn"
# tests.factories.at() counts hours from here.
FACTORY_BASE = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
LINK = re.compile(re.escape(BASE_URL) + r"/survey/([A-Za-z0-9_-]+)")


@pytest.fixture(autouse=True)
def survey_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CLAIMWATCH_PUBLIC_BASE_URL", BASE_URL)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client(database) -> TestClient:
    # https like BASE_URL: the session cookie is Secure behind an https public address.
    return TestClient(shared_app(), base_url="https://testserver")


def hours_for(when: dt.datetime) -> float:
    """The ``hours`` argument of tests.factories for an instant."""
    return (when - FACTORY_BASE).total_seconds() / 3600


def ingest(client: TestClient, tenant: TenantHandle, events: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 201, response.text


def close_claim(
    client: TestClient,
    tenant: TenantHandle,
    number: str,
    closed_at: dt.datetime,
    *,
    end: str = "closed",
    assignee: str | None = None,
    **claim: Any,
) -> None:
    """A claim reported a day before ``closed_at`` and taken to ``end`` (closed, rejected or withdrawn)
    at ``closed_at``; ``assignee`` handles it."""
    start = hours_for(closed_at - dt.timedelta(days=1))
    events = [reported(f"{number}-r", number, hours=start, **claim)]
    if assignee:
        events.append(
            {
                "event_id": f"{number}-a",
                "claim_number": number,
                "type": "assigned",
                "assignee": assignee,
                "occurred_at": (closed_at - dt.timedelta(hours=23)).isoformat(),
            }
        )
    path = {
        "closed": HAPPY_PATH,
        "rejected": ["accepted", "initial_review", "rejected"],
        "withdrawn": ["accepted", "withdrawn"],
    }[end]
    steps = len(path)
    for i, status in enumerate(path):
        hours = hours_for(closed_at) - (steps - 1 - i) * 0.1
        reason = "条款责任免除" if status in ("rejected", "withdrawn") else None
        events.append(transition(f"{number}-t{i}", number, status, hours=hours, reason=reason))
    ingest(client, tenant, events)


def reopen_and_close(client: TestClient, tenant: TenantHandle, number: str, closed_at: dt.datetime) -> None:
    """Reopen (an hour before) and close the claim again at ``closed_at``."""
    base = hours_for(closed_at)
    steps = ["reopened", "assessment", "verification", "approval", "payment", "closed"]
    events = [
        transition(
            f"{number}-re{i}",
            number,
            status,
            hours=base - (len(steps) - 1 - i) * 0.1,
            reason="客户申诉" if status == "reopened" else None,
        )
        for i, status in enumerate(steps)
    ]
    ingest(client, tenant, events)


def surveys(tenant: TenantHandle) -> list[Survey]:
    with unit_of_work(TenantContext(tenant_id=tenant.id, read_only=True)) as session:
        rows = list(session.execute(select(Survey).order_by(Survey.id)).scalars())
        session.expunge_all()
        return rows


def invitations(tenant: TenantHandle) -> list[OutboxMessage]:
    with unit_of_work(TenantContext(tenant_id=tenant.id, read_only=True)) as session:
        rows = list(
            session.execute(
                select(OutboxMessage).where(OutboxMessage.template == "survey_invitation").order_by(OutboxMessage.id)
            ).scalars()
        )
        session.expunge_all()
        return rows


def link_token(message: OutboxMessage) -> str:
    """The token in the text the worker sends (decrypted as jobs.deliver does)."""
    assert message.secret_body_enc, "the invitation keeps its link encrypted"
    clear = field_cipher().decrypt(message.secret_body_enc) or ""
    match = LINK.search(clear)
    assert match, clear
    return match.group(1)


def token_for(tenant: TenantHandle, reference: str) -> str:
    """The link token of the survey about this claim or complaint number (its SMS)."""
    found = [m for m in invitations(tenant) if m.reference == reference and m.channel == "sms"]
    assert found, f"no SMS invitation about {reference}"
    return link_token(found[-1])


def now() -> dt.datetime:
    return utc_now().replace(microsecond=0)

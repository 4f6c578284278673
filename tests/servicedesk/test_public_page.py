"""The public enquiry page /service/new (h3), no sign-in: the form in zh and en, CSRF, the insurer required, a refused
enquiry comes back with its text but never the phone typed, a good one is filed (channel public, the customer's phone
kept encrypted and the number shown), and the client address is throttled after five enquiries in an hour (429 with
Retry-After). The intake behind it runs on both databases in h1's tests, the throttle in the lookup's: SQLite only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.servicedesk import public_pages
from claimwatch.servicedesk.models import ServiceRequest
from tests.apps import shared_app
from tests.factories import World
from tests.servicedesk.requests_world import Desk, build
from tests.snapshots import Snapshot
from tests.web.conftest import csrf_from

pytestmark = pytest.mark.sqlite_only

PHONE = "13566667777"


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.requests", lambda: build(world))


def test_a_customer_files_an_enquiry_and_gets_its_number(desk: Desk) -> None:
    client = TestClient(shared_app())
    english = client.get("/service/new", params={"insurer": "sra", "lang": "en"})
    assert english.status_code == 200 and "Ask us a question" in english.text
    form = client.get("/service/new", params={"insurer": "SRA"})
    assert form.status_code == 200 and 'value="SRA" selected' in form.text and 'value="enquiry"' in form.text
    token = csrf_from(form.text)
    fields = {"csrf_token": token, "insurer": "SRA", "category": "enquiry", "subject": "犹豫期退保"}
    fields |= {"description": "我上周买的保险还在犹豫期，退保能全额退吗？", "name": "赵六", "phone": PHONE}
    assert client.post("/service/new", data=fields | {"csrf_token": "forged"}).status_code == 403
    assert client.post("/service/new", data=fields | {"insurer": "NOPE"}).status_code == 422
    refused = client.post("/service/new", data=fields | {"category": "nowhere"})
    assert refused.status_code == 422 and 'data-field="category"' in refused.text
    assert "还在犹豫期" in refused.text and PHONE not in refused.text and "赵六" not in refused.text
    no_phone = client.post("/service/new", data=fields | {"phone": ""})
    assert no_phone.status_code == 422 and 'data-field="phone"' in no_phone.text

    sent = client.post("/service/new", data=fields)
    assert sent.status_code == 201 and 'id="service-number"' in sent.text and PHONE not in sent.text
    number = sent.text.split('id="service-number">')[1].split("<")[0]
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        record = session.execute(select(ServiceRequest).where(ServiceRequest.number == number)).scalar_one()
        assert (record.channel, record.category, record.created_by) == ("public", "enquiry", "public:service")
        assert record.phone_enc and PHONE not in record.phone_enc and record.customer_name_masked == "赵*"

    for _ in range(public_pages.MAX_PER_WINDOW - 2):  # the refused category and the filed one counted already
        assert client.post("/service/new", data=fields).status_code == 201
    locked = client.post("/service/new", data=fields)
    assert (
        locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0 and 'id="service-message"' in locked.text
    )
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        assert len(session.execute(select(ServiceRequest.id)).all()) == public_pages.MAX_PER_WINDOW - 1

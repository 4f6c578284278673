"""The evidence pages: an insurer's staff see their heads with the witness's verdict, their keys and the receipt
form (the download verifies); an insurer whose rewritten history the witness refused sees the red banner; the
regulator sees every insurer, alarms first, and the alarm in its inbox. The witness and receipts themselves run
on both databases in test_witness.py and h2's tests: these pages run on SQLite."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.evidence import page_queries, receipts, witness
from tests.apps import shared_app
from tests.evidence.tamper import CONFIRMED, ingest, lifecycle, rewrite_history, sign_and_witness
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot
from tests.web.conftest import sign_in

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why


@dataclasses.dataclass(frozen=True)
class Office:
    acme: TenantHandle
    bbb: TenantHandle


def build(world: World) -> Office:
    """ACME: two claims, witnessed twice (first, consistent). BBB: witnessed, then its history rewritten and
    a new head signed: inconsistent at the witness. CCC: nothing signed yet."""
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    world.user("acme.adj", Role.ADJUSTER, acme)
    world.user("bbb.admin", Role.ADMIN, bbb)
    world.tenant("CCC", "新设保险")  # nothing signed yet
    world.user("cbirc", Role.REGULATOR, None)
    ingest(acme.id, lifecycle("E-1", 3))
    sign_and_witness(acme.id)
    ingest(acme.id, lifecycle("E-2", 2))
    sign_and_witness(acme.id)
    ingest(bbb.id, lifecycle("B-1", 2))
    sign_and_witness(bbb.id)
    rewrite_history(bbb.id, "B-1-t0", CONFIRMED + "。")
    sign_and_witness(bbb.id)
    return Office(acme, bbb)


@pytest.fixture
def office(world: World, db_snapshot: Snapshot) -> Office:
    return db_snapshot("evidence.pages", lambda: build(world))


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())


def _table(html: str, table: str) -> str:
    return html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]


def _rows(html: str, table: str) -> list[tuple[str, str]]:
    """(size or tenant code, witness status) of each row of a heads or witness table."""
    return re.findall(r'<tr data-(?:size|tenant)="([^"]+)" data-status="([^"]+)"', _table(html, table))


def test_staff_see_heads_witness_keys_and_download_a_receipt_that_verifies(office: Office, client: TestClient):
    sign_in(client, "acme.adj")
    page = client.get("/evidence?lang=en")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="evidence-alarm"' not in html
    assert 'id="witness-status" data-status="consistent"' in html
    heads = _rows(html, "heads-table")
    assert [status for _, status in heads] == [witness.CONSISTENT, witness.FIRST]
    assert int(heads[0][0]) > int(heads[1][0])
    assert _table(html, "keys-table").count("<tr data-key=") == 2  # the insurer's key, the platform's witness key
    assert "Supervising platform (witness)" in html and 'id="receipt-claim-form"' in html

    download = client.get("/evidence/receipt", params={"claim": "E-1"})
    assert download.status_code == 200, download.text
    assert download.headers["content-disposition"] == 'attachment; filename="receipt-ACME-E-1.json"'
    verified = receipts.verify(receipts.load(download.content))
    assert verified is not None
    one = client.get("/evidence/receipt", params={"seq": "1"})
    assert one.status_code == 200 and receipts.load(one.content)["seq"] == 1

    assert client.get("/evidence/receipt", params={"claim": "NOPE"}).status_code == 404
    assert client.get("/evidence/receipt", params={"seq": "x"}).status_code == 422
    assert client.get("/evidence/receipt").status_code == 422


def test_an_insurer_whose_history_was_rewritten_sees_the_red_banner(office: Office, client: TestClient):
    sign_in(client, "bbb.admin")
    html = client.get("/evidence?lang=en").text
    assert 'id="evidence-alarm" data-status="inconsistent"' in html
    assert "does not extend the witnessed head" in html
    assert [status for _, status in _rows(html, "heads-table")] == [witness.INCONSISTENT, witness.FIRST]


def test_the_regulator_sees_every_insurer_alarms_first_and_the_alarm_in_its_inbox(office: Office, client: TestClient):
    sign_in(client, "cbirc")
    html = client.get("/evidence?lang=en").text
    assert [(code, status) for code, status in _rows(html, "witness-table")] == [
        ("BBB", witness.INCONSISTENT),
        ("CCC", page_queries.NOT_WITNESSED),
        ("ACME", witness.CONSISTENT),
    ]
    banner = html.split('id="evidence-alarm"', 1)[1].split("</div>", 1)[0]
    assert 'data-tenant="BBB"' in banner and "ACME" not in banner

    one = client.get("/evidence?tenant=ACME&lang=en").text
    assert 'id="heads-table"' in one and 'name="tenant" value="ACME"' in one and 'id="receipt-read-only"' in one
    # Read-only: E-1 is covered by a signed head, so its receipt comes; the regulator must name the insurer.
    download = client.get("/evidence/receipt", params={"claim": "E-1", "tenant": "ACME"})
    assert download.status_code == 200 and receipts.verify(receipts.load(download.content)) is not None
    assert client.get("/evidence/receipt", params={"claim": "E-1"}).status_code == 422
    assert client.get("/evidence?tenant=NOPE").status_code == 404
    empty = client.get("/evidence?tenant=CCC&lang=en").text
    assert 'id="no-heads"' in empty and 'id="witness-status" data-status="not_witnessed"' in empty

    inbox = client.get("/my/evidence-alarms?lang=en")
    assert inbox.status_code == 200 and "/evidence?tenant=BBB" in inbox.text and "tenant=ACME" not in inbox.text

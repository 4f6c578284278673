"""Staff see on the claim page every message the claimant got: channel, masked recipient, the text
as the claimant saw it, and its delivery status."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from claimwatch.notify import jobs as notify_jobs
from tests.web.conftest import CLEAR_ID_NUMBER, CLEAR_PHONE, SlaWorld, sign_in

ROW = re.compile(r'<tr data-template="(\w+)" data-channel="(\w+)" data-status="(\w+)">')


def test_claim_page_lists_the_acknowledgement_and_its_delivery(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.adjuster)
    html = client.get("/claims/S-RED").text
    section = html[html.index('id="messages"') :]
    section = section[: section.index("</section>")]
    rows = ROW.findall(section)
    assert ("acknowledgement", "sms", "queued") in rows
    assert "发给报案人的消息" in section and "短信" in section and "待发送" in section
    assert "S-RED" in section  # the acknowledgement names the claim and how to look it up
    assert CLEAR_PHONE not in html and CLEAR_ID_NUMBER not in html
    assert "1381234" not in section  # recipient masked

    notify_jobs.deliver()
    html = client.get("/claims/S-RED", params={"lang": "en"}).text
    section = html[html.index('id="messages"') :]
    section = section[: section.index("</section>")]
    assert ("acknowledgement", "sms", "sent") in ROW.findall(section)
    assert "Messages to the claimant" in section and "Sent" in section

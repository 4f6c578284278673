"""The public lookup API: verification, what the claimant sees, lockout, one-time codes, isolation."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time

import pytest
from sqlalchemy import select

from claimwatch.config import get_settings
from claimwatch.db import BUSY_TIMEOUT_SECONDS, TenantContext, unit_of_work
from claimwatch.lookup import service
from claimwatch.lookup.api import find_insurer
from claimwatch.lookup.models import LookupCode, LookupThrottle
from tests.lookup.conftest import LAST4, bearer, lookup, new_claim


def verify(found: service.Insurer, *args, **kwargs) -> service.Outcome:  # type: ignore[no-untyped-def]
    """The service in the unit of work the route opens for it: the claimant's insurer only."""
    with unit_of_work(TenantContext.anonymous(found.id)) as session:
        return service.verify(session, found, *args, **kwargs)


def request_code(found: service.Insurer, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(TenantContext.anonymous(found.id)) as session:
        service.request_code(session, found, *args, **kwargs)


def test_last4_gives_the_claim_and_a_token_for_it(client, world):
    world.tenant("ACME", "示例保险")
    acme = world.tenant("ACME2", "示例保险二")
    new_claim(client, acme, "CLM-1")

    response = lookup(client, "acme2", " CLM-1 ", phone_last4=LAST4)
    assert response.status_code == 200, response.text
    body = response.json()
    claim = body["claim"]
    assert claim["insurer"] == {"code": "ACME2", "name": "示例保险二"}
    assert claim["claim_number"] == "CLM-1"
    assert claim["status"] == "awaiting_materials" and claim["status_label"] == "待补材料"
    assert [e["status"] for e in claim["timeline"]] == ["reported", "accepted", "initial_review", "awaiting_materials"]
    assert claim["timeline"][0]["label"] == "报案"
    assert claim["timeline"][-1]["reason"] == "客户 139******** 需补材料"  # masked
    assert all(set(e) == {"at", "status", "label", "reason"} for e in claim["timeline"])  # no actors
    assert claim["claimant"] == {"name": "张**", "phone": "138********"}
    # waiting for the claimant: the platform timeliness clock is paused, no date promised
    assert claim["expected"]["policy"] == "timeliness_small"
    assert claim["expected"]["state"] == "paused" and claim["expected"]["due_at"] is None
    text = json.dumps(body, ensure_ascii=False)
    for secret in ("13812345678", "13900001111", "110101199003071234", "张三丰", "ACME2-core", "integration"):
        assert secret not in text

    again = client.get("/api/v1/lookup/claim", headers=bearer(body["token"]), params={"lang": "en"})
    assert again.status_code == 200
    assert again.json()["status_label"] == "Awaiting materials"
    missing = client.get("/api/v1/lookup/claim")
    assert missing.status_code == 401 and missing.json()["problems"][0]["field"] == "authorization"
    assert client.get("/api/v1/lookup/claim", headers=bearer(body["token"] + "x")).status_code == 401

    # running: the timeliness clock's target (small claim, 24 h) is the expected date, 2026-11-03 09:00 +08:00
    new_claim(client, acme, "CLM-2", waiting=False)
    expected = lookup(client, "ACME2", "CLM-2", phone_last4=LAST4).json()["claim"]["expected"]
    assert expected["state"] == "running"
    assert dt.datetime.fromisoformat(expected["due_at"]) == dt.datetime(2026, 11, 3, 1, 0, tzinfo=dt.UTC)


def test_wrong_factor_and_unknown_claim_number_answer_exactly_the_same(client, world):
    acme = world.tenant("ACME")
    bbb = world.tenant("BBB")
    new_claim(client, acme, "CLM-1")
    new_claim(client, bbb, "CLM-B")  # exists at another insurer only
    wrong = lookup(client, "ACME", "CLM-1", phone_last4="0000")
    others = [
        lookup(client, "ACME", "CLM-404", phone_last4=LAST4),  # unknown anywhere
        lookup(client, "ACME", "CLM-B", phone_last4=LAST4),  # another insurer's claim, right phone
        lookup(client, "ACME", "CLM-1", code="123456"),  # no code was ever sent
        lookup(client, "ACME", "CLM-404", code="123456"),
    ]
    assert wrong.status_code == 401
    # the one error body, and nothing in it about the claim
    assert wrong.json() == {
        "detail": "verification failed: check the claim number and the verification factor",
        "problems": [
            {
                "field": "claim_number",
                "message": "verification failed: check the claim number and the verification factor",
            }
        ],
    }
    for response in others:
        assert response.status_code == 401
        assert response.content == wrong.content
        # Each answer has its own date and request id (a fresh random token either way); nothing else differs.
        varying = ("date", "x-request-id")
        assert {k: v for k, v in response.headers.items() if k not in varying} == {
            k: v for k, v in wrong.headers.items() if k not in varying
        }


def test_lockout_after_repeated_failures_even_with_the_right_factor(client, world):
    acme = world.tenant("ACME")
    new_claim(client, acme, "CLM-1")
    limit = get_settings().lookup_max_failures
    for _ in range(limit):
        assert lookup(client, "ACME", "CLM-1", phone_last4="0000").status_code == 401
    locked = lookup(client, "ACME", "CLM-1", phone_last4=LAST4)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    # the claim number is locked, not the client: another claim number still works for the same client
    new_claim(client, acme, "CLM-2")
    assert lookup(client, "ACME", "CLM-2", phone_last4=LAST4).status_code == 200
    # an unknown claim number locks the same way (the lock reveals nothing)
    for _ in range(limit):
        assert lookup(client, "ACME", "CLM-404", phone_last4=LAST4).status_code == 401
    unknown_locked = lookup(client, "ACME", "CLM-404", phone_last4=LAST4)
    assert unknown_locked.status_code == 429 and unknown_locked.content == locked.content
    # case variants of the number share the lock
    assert lookup(client, "ACME", "clm-1", phone_last4=LAST4).status_code == 429
    # after the lock, the right factor works again
    found = find_insurer("ACME")
    assert found is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=get_settings().lookup_lockout_seconds + 1)
    assert verify(found, "CLM-1", "testclient", phone_last4=LAST4, now=later).result == service.VERIFIED


def test_a_client_address_is_locked_across_claim_numbers(client, world, monkeypatch):
    monkeypatch.setenv("CLAIMWATCH_LOOKUP_IP_MAX_FAILURES", "3")
    get_settings.cache_clear()
    acme = world.tenant("ACME")
    new_claim(client, acme, "CLM-1")
    for number in ("X-1", "X-2", "X-3"):
        assert lookup(client, "ACME", number, phone_last4="1111").status_code == 401
    assert lookup(client, "ACME", "CLM-1", phone_last4=LAST4).status_code == 429
    with unit_of_work(TenantContext.regulator()) as session:
        rows = session.execute(select(LookupThrottle)).scalars().all()
        # neither claim numbers nor addresses are stored in clear
        assert all(len(row.key_hash) == 64 and "X-" not in row.key_hash for row in rows)
        assert {row.scope for row in rows} == {"claim", "ip"}


def test_unknown_insurer_and_malformed_factor(client, world):
    world.tenant("ACME")
    assert lookup(client, "NOPE", "CLM-1", phone_last4=LAST4).status_code == 404
    assert lookup(client, "ACME", "CLM-1", phone_last4="12").status_code == 422
    assert lookup(client, "ACME", "CLM-1").status_code == 422
    assert lookup(client, "ACME", "CLM-1", phone_last4=LAST4, code="123456").status_code == 422


@pytest.fixture
def sent_codes(monkeypatch):  # type: ignore[no-untyped-def]
    """The codes handed to the outbox (the real enqueue still runs)."""
    from claimwatch.notify import service as notify_service

    sent: list[dict] = []
    real = notify_service.enqueue

    def spy(session, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(kwargs)
        return real(session, **kwargs)

    monkeypatch.setattr(notify_service, "enqueue", spy)
    return sent


def test_one_time_code_by_sms(client, world, sent_codes):
    from claimwatch.notify.models import OutboxMessage

    acme = world.tenant("ACME")
    new_claim(client, acme, "CLM-1")
    known = client.post("/api/v1/lookup/otp", json={"insurer": "ACME", "claim_number": "CLM-1"}, params={"lang": "en"})
    unknown = client.post("/api/v1/lookup/otp", json={"insurer": "ACME", "claim_number": "CLM-404"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert len(sent_codes) == 1
    sent = sent_codes[0]
    code = sent["context"]["code"]
    assert sent["template"] == "lookup_otp" and sent["channels"] == ["sms"] and sent["context"]["minutes"] == 10
    assert len(code) == 6 and code.isdigit()
    assert sent["locale"] == "en"  # the language the claimant uses

    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        row = session.execute(select(LookupCode)).scalar_one()
        assert row.code_hash != code and code not in row.code_hash
        assert row.code_hash == service.code_hash(row.claim_id, code)
        assert row.expires_at - row.created_at == dt.timedelta(minutes=10)
        assert row.used_at is None
        outbox = session.execute(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == f"{sent['idempotency_key']}:sms")
        ).scalar_one()
        assert outbox.channel == "sms" and outbox.template == "lookup_otp" and outbox.claim_id == row.claim_id
        assert code not in outbox.body  # staff see the masked text

    wrong = "000000" if code != "000000" else "111111"
    assert lookup(client, "ACME", "CLM-1", code=wrong).status_code == 401
    ok = lookup(client, "ACME", "CLM-1", code=code)
    assert ok.status_code == 200, ok.text
    assert ok.json()["claim"]["claim_number"] == "CLM-1"
    # single use
    assert lookup(client, "ACME", "CLM-1", code=code).status_code == 401
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        row = session.execute(select(LookupCode)).scalar_one()
        assert row.used_at is not None and row.attempts == 1


def test_one_time_code_expires_and_runs_out_of_attempts(client, world, sent_codes, monkeypatch):
    monkeypatch.setenv("CLAIMWATCH_LOOKUP_OTP_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("CLAIMWATCH_LOOKUP_MAX_FAILURES", "10")  # the claim-number lock is tested elsewhere
    get_settings.cache_clear()
    acme = world.tenant("ACME")
    new_claim(client, acme, "CLM-1")
    found = find_insurer("ACME")
    assert found is not None

    request_code(found, "CLM-1", "10.0.0.1")
    code = sent_codes[-1]["context"]["code"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    assert verify(found, "CLM-1", "10.0.0.1", code=code, now=later).result == service.FAILED

    request_code(found, "CLM-1", "10.0.0.1")
    code = sent_codes[-1]["context"]["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(2):
        assert verify(found, "CLM-1", "10.0.0.2", code=wrong).result == service.FAILED
    assert verify(found, "CLM-1", "10.0.0.3", code=code).result == service.FAILED  # no attempts left

    # a newer code replaces the older one
    request_code(found, "CLM-1", "10.0.0.1")
    assert len(sent_codes) == 3
    assert verify(found, "CLM-1", "10.0.0.3", code=code).result == service.FAILED
    assert verify(found, "CLM-1", "10.0.0.3", code=sent_codes[-1]["context"]["code"]).result == "verified"


def test_code_requests_are_throttled_silently(client, world, sent_codes):
    acme = world.tenant("ACME")
    new_claim(client, acme, "CLM-1")
    answers = {
        client.post("/api/v1/lookup/otp", json={"insurer": "ACME", "claim_number": "CLM-1"}).content
        for _ in range(get_settings().lookup_otp_max_sends + 2)
    }
    assert len(answers) == 1
    assert len(sent_codes) == get_settings().lookup_otp_max_sends


def test_a_token_reaches_its_own_claim_only(client, world):
    acme = world.tenant("ACME")
    bbb = world.tenant("BBB")
    new_claim(client, acme, "CLM-1")
    new_claim(client, acme, "CLM-2")
    new_claim(client, bbb, "CLM-1")  # the same number at another insurer
    token = lookup(client, "ACME", "CLM-1", phone_last4=LAST4).json()["token"]
    own = client.get("/api/v1/lookup/claim", headers=bearer(token)).json()
    assert own["insurer"]["code"] == "ACME" and own["claim_number"] == "CLM-1"

    session = service.read_token(token)
    assert session is not None
    # a token changed to point at another claim or insurer no longer verifies
    prefix, tenant_id, claim_id, expires, signature = token.split(".")
    for forged in (
        f"{prefix}.{tenant_id}.{claim_id + '0'}.{expires}.{signature}",
        f"{prefix}.{bbb.id}.{claim_id}.{expires}.{signature}",
        f"{prefix}.{tenant_id}.{claim_id}.{int(expires) + 3600}.{signature}",
    ):
        assert client.get("/api/v1/lookup/claim", headers=bearer(forged)).status_code == 401
    # a validly signed token whose claim is not of its insurer finds nothing
    other, _ = service.issue_token(bbb.id, session.claim_id)
    assert client.get("/api/v1/lookup/claim", headers=bearer(other)).status_code == 401
    # an expired token
    old, _ = service.issue_token(acme.id, session.claim_id, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    assert client.get("/api/v1/lookup/claim", headers=bearer(old)).status_code == 401
    # staff API keys are not lookup tokens, and lookup tokens are not staff credentials
    assert client.get("/api/v1/lookup/claim", headers={"X-API-Key": acme.api_key}).status_code == 401
    assert client.get("/api/v1/claims/CLM-1", headers=bearer(token)).status_code == 401


def test_the_worker_forgets_throttle_rows_idle_for_a_day(client, world):
    """Throttle rows never expired: every claim number and address ever tried stayed a row. The worker's
    pass deletes those idle for a day whose lock is over, and keeps the rest."""
    from claimwatch import worker

    world.tenant("ACME")
    now = dt.datetime.now(dt.UTC)
    stale, fresh, locked = now - dt.timedelta(days=2), now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)
    with unit_of_work(TenantContext.system_context()) as session:
        for key, updated_at, locked_until in (
            ("a" * 64, stale, None),
            ("b" * 64, fresh, None),
            ("c" * 64, stale, locked),
        ):
            session.add(
                LookupThrottle(
                    scope="claim",
                    key_hash=key,
                    failures=1,
                    window_started_at=updated_at,
                    locked_until=locked_until,
                    updated_at=updated_at,
                )
            )

    worker.run(interval=0.01, passes=1, sweep=False, deliver=False, kpi=False)

    with unit_of_work(TenantContext.regulator()) as session:
        kept = set(session.execute(select(LookupThrottle.key_hash)).scalars())
    assert kept == {"b" * 64, "c" * 64}


def test_a_phone_check_writes_nothing_itself_and_its_failure_is_counted_after(client, world):
    """The API checks the phone factor in a read-only transaction; the failure it found is written after."""
    acme = world.tenant("ACME")
    new_claim(client, acme, "CLM-1")
    found = find_insurer("ACME")
    assert found is not None
    with unit_of_work(TenantContext.anonymous(found.id, read_only=True)) as session:
        failed = service.verify(session, found, "CLM-1", "10.0.0.9", phone_last4="0000", counts_later=True)
    assert failed.result == service.FAILED and failed.count_failure and not failed.clear_claim_failures
    with unit_of_work(TenantContext.regulator()) as session:
        assert session.execute(select(LookupThrottle)).scalars().all() == []
    with unit_of_work(TenantContext.anonymous(found.id)) as session:
        service.record_counts(session, found, "clm-1", "10.0.0.9", failed)
    with unit_of_work(TenantContext.regulator()) as session:
        rows = session.execute(select(LookupThrottle)).scalars().all()
        assert sorted((row.scope, row.failures) for row in rows) == [("claim", 1), ("ip", 1)]
    # The right factor next: the claim number's failures are to be cleared, by record_counts again.
    with unit_of_work(TenantContext.anonymous(found.id, read_only=True)) as session:
        verified = service.verify(session, found, "CLM-1", "10.0.0.9", phone_last4=LAST4, counts_later=True)
    assert verified.result == service.VERIFIED and verified.clear_claim_failures and not verified.count_failure
    with unit_of_work(TenantContext.anonymous(found.id)) as session:
        service.record_counts(session, found, "CLM-1", "10.0.0.9", verified)
    with unit_of_work(TenantContext.regulator()) as session:
        rows = session.execute(select(LookupThrottle)).scalars().all()
        assert sorted((row.scope, row.failures) for row in rows) == [("claim", 0), ("ip", 1)]
    with pytest.raises(ValueError):
        verify(found, "CLM-1", "10.0.0.9", code="123456", counts_later=True)


def test_a_right_phone_is_answered_while_a_writer_holds_sqlite_s_lock(client, world, database):
    """On SQLite the phone check begins DEFERRED: it does not wait for a writer (here one holding the write lock
    from another connection), where BEGIN IMMEDIATE would wait up to the busy timeout."""
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL readers never wait for writers")
    acme = world.tenant("ACME")
    new_claim(client, acme, "CLM-1")
    lookup(client, "ACME", "CLM-1", phone_last4=LAST4)  # the insurer is cached before the lock is taken
    writer = sqlite3.connect(str(database.path), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        answer = lookup(client, "ACME", "CLM-1", phone_last4=LAST4)
        waited = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert answer.status_code == 200 and answer.json()["claim"]["claim_number"] == "CLM-1"
    assert waited < BUSY_TIMEOUT_SECONDS / 2

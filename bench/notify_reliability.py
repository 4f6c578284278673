"""Reliability of the claimant outbox under SIGKILL.

Ingests claims whose acknowledgements make ``--messages`` outbox rows (email to a local aiosmtpd
server and a signed webhook to a local HTTP receiver, both on 127.0.0.1, both recording what they
got), runs the delivery worker as a subprocess (``python -m claimwatch notify worker``), SIGKILLs it
``--kills`` times mid-run, restarts it until the outbox is drained, then prints: enqueued,
delivered, lost (must be 0), duplicates (allowed only with the same idempotency key).

    .venv/bin/python bench/notify_reliability.py --messages 10000 --kills 5
    .venv/bin/python bench/notify_reliability.py --database postgresql://claimwatch:claimwatch@127.0.0.1/cw_bench
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from tests.notify.receivers import SmtpReceiver, WebhookReceiver  # noqa: E402

from claimwatch import db, migrate  # noqa: E402
from claimwatch.config import get_settings  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.notify.models import MessageStatus, OutboxMessage  # noqa: E402

SECRET = "bench-webhook-secret"


@dataclass
class Report:
    enqueued: int
    delivered: int
    received: int
    lost: int
    duplicates: int
    duplicates_with_other_key: int
    bad_signatures: int
    kills: int
    restarts: int
    seconds: float

    def lines(self) -> list[str]:
        return [
            f"enqueued:   {self.enqueued}",
            f"delivered:  {self.delivered} (status sent/delivered)",
            f"received:   {self.received} (SMTP + webhook, with repeats)",
            f"lost:       {self.lost}",
            f"duplicates: {self.duplicates} (all with the same idempotency key: "
            f"{'yes' if self.duplicates_with_other_key == 0 else 'NO'})",
            f"bad webhook signatures: {self.bad_signatures}",
            f"worker SIGKILLed {self.kills} times, started {self.restarts} times, {self.seconds:.1f} s",
        ]


def _env(url: str, smtp: SmtpReceiver, webhook: WebhookReceiver, lease: float) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CLAIMWATCH_DATABASE_URL": url,
            "CLAIMWATCH_SMTP_HOST": "127.0.0.1",
            "CLAIMWATCH_SMTP_PORT": str(smtp.port),
            "CLAIMWATCH_SMTP_FROM": "claims@insurer.example",
            "CLAIMWATCH_NOTIFY_WEBHOOK_URL": webhook.url,
            "CLAIMWATCH_NOTIFY_WEBHOOK_SECRET": SECRET,
            "CLAIMWATCH_NOTIFY_LEASE_SECONDS": str(lease),
            "CLAIMWATCH_NOTIFY_BATCH_SIZE": "100",
            "CLAIMWATCH_NOTIFY_BACKOFF_BASE_SECONDS": "1",
            "CLAIMWATCH_NOTIFY_MAX_ATTEMPTS": "20",
            "CLAIMWATCH_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _apply_env(env: dict[str, str]) -> None:
    for name, value in env.items():
        if name.startswith("CLAIMWATCH_"):
            os.environ[name] = value
    get_settings.cache_clear()


def seed(url: str, claims: int) -> None:
    """A tenant and ``claims`` reported claims (email, no phone): 2 messages each, through ingestion."""
    from claimwatch.auth import service as auth_service
    from claimwatch.cases import service as cases_service
    from claimwatch.cases.schemas import EventIn
    from claimwatch.tenancy import service as tenancy_service

    with unit_of_work(TenantContext.system_context()) as session:
        tenant = tenancy_service.create_tenant(session, code="BENCH", name="可靠性测试")
        tenant_id = tenant.id
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        _, key = auth_service.create_api_key(session, tenant_id=tenant_id, name="bench-core")
    with unit_of_work(TenantContext.system_context()) as session:
        principal = auth_service.principal_for_api_key(session, key)
    assert principal is not None
    for start in range(0, claims, 1000):
        events = [
            EventIn.model_validate(
                {
                    "event_id": f"r-{n}",
                    "claim_number": f"REL{n:07d}",
                    "type": "reported",
                    "occurred_at": "2026-11-02T09:00:00+08:00",
                    "claim": {
                        "line": "motor",
                        "policy_number": f"P{n}",
                        "claimant": {"name": "李四", "email": f"c{n}@example.cn"},
                        "reported_amount": "1000.00",
                    },
                }
            )
            for n in range(start, min(start + 1000, claims))
        ]
        with unit_of_work(principal.context()) as session:
            cases_service.ingest_events(session, principal, events)


def _counts() -> dict[str, int]:
    with unit_of_work(TenantContext.system_context()) as session:
        rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status: count for status, count in rows}


def _start_worker(env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "claimwatch", "notify", "worker", "--interval", "0.2"]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT)


def run(url: str, messages: int, kills: int, lease: float = 3.0, timeout: float = 600.0, quiet: bool = False) -> Report:
    """Everything but migrating the database (the caller's): seed, run, kill, drain, count."""
    started = time.monotonic()
    smtp = SmtpReceiver().start()
    webhook = WebhookReceiver(SECRET).start()
    env = _env(url, smtp, webhook, lease)
    saved = dict(os.environ)
    _apply_env(env)
    db.configure(url)
    try:
        seed(url, messages // 2)
        enqueued = sum(_counts().values())

        def received() -> int:
            return len(smtp.received) + len(webhook.received)

        kills_done = restarts = 0
        with tempfile.TemporaryFile() as log:
            step = max(1, enqueued // (kills + 2))
            while kills_done < kills:
                worker = _start_worker(env, log)
                restarts += 1
                target = received() + step
                deadline = time.monotonic() + 60
                while received() < target and time.monotonic() < deadline and worker.poll() is None:
                    time.sleep(0.01)
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                kills_done += 1
                if not quiet:
                    print(f"kill {kills_done}: {received()} received so far", flush=True)
            worker = _start_worker(env, log)
            restarts += 1
            deadline = time.monotonic() + timeout
            try:
                while time.monotonic() < deadline:
                    counts = _counts()
                    if not any(counts.get(s, 0) for s in MessageStatus.PENDING):
                        break
                    time.sleep(0.2)
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        with unit_of_work(TenantContext.system_context()) as session:
            keys = dict(session.execute(select(OutboxMessage.id, OutboxMessage.idempotency_key)).all())
        counts = _counts()
        got = list(smtp.received) + list(webhook.received)
        by_message: dict[int, set[str]] = defaultdict(set)
        repeats: dict[int, int] = defaultdict(int)
        for item in got:
            by_message[item.outbox_id].add(item.idempotency_key)
            repeats[item.outbox_id] += 1
        lost = sum(1 for message_id in keys if message_id not in by_message)
        other_key = sum(1 for mid, seen in by_message.items() if seen != {keys.get(mid)})
        return Report(
            enqueued=enqueued,
            delivered=sum(counts.get(s, 0) for s in MessageStatus.DONE),
            received=len(got),
            lost=lost,
            duplicates=sum(n - 1 for n in repeats.values()),
            duplicates_with_other_key=other_key,
            bad_signatures=sum(1 for item in webhook.received if not item.signature_ok),
            kills=kills_done,
            restarts=restarts,
            seconds=time.monotonic() - started,
        )
    finally:
        smtp.stop()
        webhook.stop()
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--lease", type=float, default=3.0, help="seconds a claimed message stays leased")
    parser.add_argument("--database", default=None, help="an empty database URL; default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'reliability.db'}"
        migrate.upgrade(url)
        report = run(url, args.messages, args.kills, args.lease)
    for line in report.lines():
        print(line)
    ok = report.lost == 0 and report.duplicates_with_other_key == 0 and report.delivered == report.enqueued
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

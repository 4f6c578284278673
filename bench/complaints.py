"""Complaint keyword trends and intake with many complaints stored.

    .venv/bin/python bench/complaints.py [--complaints 60000] [--months 6] [--intake 300]

Setup (not measured): a fresh SQLite file, migrated, one tenant; ``--complaints`` complaints spread over
``--months`` months, their texts drawn from the demo's complaint texts (``demo.complaint_texts``) with a
running number so no two are the same, inserted by ``db.bulk_insert``. The terms each complaint keeps
(``complaints.terms.stored_terms``) are computed during the setup and the time per complaint is printed:
that is what intake pays once per complaint.

Measured, in the same run:
  1. keyword trends over the months with the terms stored (what the service does);
  2. baseline: the same call with ``keywords`` emptied, so every text is segmented on read (what it would
     cost without stored terms), with jieba's memo cleared first;
  3. intake: ``--intake`` complaints through ``complaints.service.create_complaint`` (validation,
     encryption, clocks, repeat check, outbox receipt, audit chain), one transaction each.
Both trend results must be equal (checked). Prints figures and the ratio baseline / stored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from claimwatch import db, migrate  # noqa: E402
from claimwatch.auth.models import Role  # noqa: E402
from claimwatch.auth.principal import Principal  # noqa: E402
from claimwatch.complaints import keywords, schemas, terms  # noqa: E402
from claimwatch.complaints import service as complaints_service  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.demo.complaint_texts import TEXTS  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402

COLUMNS = (
    "tenant_id",
    "number",
    "channel",
    "received_at",
    "category",
    "sub_cause",
    "subject",
    "description",
    "keywords",
    "region_code",
    "special_team",
    "complex",
    "status",
    "created_by",
    "created_at",
    "updated_at",
)
REGIONS = ("440000", "320000", "510000", "410000", "110000")


def _rows(tenant_id: int, count: int, months: int, now: dt.datetime) -> tuple[list[tuple], float]:  # type: ignore[type-arg]
    rng = random.Random(7)
    pairs = list(TEXTS.items())
    rows = []
    segmenting = 0.0
    for i in range(count):
        (category, sub_cause), options = pairs[i % len(pairs)]
        subject, description = rng.choice(options)
        description = description.format(line="车险", days=rng.randint(3, 40)) + f"（第{i}次来电）"
        received = now - dt.timedelta(days=rng.uniform(0, 30 * months - 1))
        started = time.perf_counter()
        stored = terms.stored_terms(subject, description, None)
        segmenting += time.perf_counter() - started
        rows.append(
            (
                tenant_id,
                f"TSB{i:09d}",
                "hotline",
                received,
                category,
                sub_cause,
                subject,
                description,
                stored,
                REGIONS[i % len(REGIONS)],
                False,
                False,
                "closed",
                "bench",
                received,
                received,
            )
        )
    return rows, segmenting / max(count, 1)


def _trends(tenant_id: int, first: str, last: str) -> tuple[float, dict]:  # type: ignore[type-arg]
    principal = Principal(role=Role.QUALITY_MANAGER, tenant_id=tenant_id, actor="user:bench")
    started = time.perf_counter()
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        found = keywords.keyword_trends(session, principal, period_from=first, period_to=last, top=20)
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, default=60_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--intake", type=int, default=300)
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="cw-bench-complaints-"))
    url = f"sqlite:///{directory / 'bench.db'}"
    migrate.upgrade(url)
    db.configure(url)
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_id = tenancy_service.create_tenant(session, code="BENCH", name="基准保险", actor="bench").id
    now = dt.datetime.now(dt.UTC)
    terms.segmenter()  # built once per process, as in the server
    rows, per_complaint = _rows(tenant_id, args.complaints, args.months, now)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        stamps = sum(1 << i for i, name in enumerate(COLUMNS) if name.endswith("_at"))
        db.bulk_insert(session, "complaints", COLUMNS, rows, stamps)
    print(
        f"setup: {args.complaints} complaints over {args.months} months; terms at intake "
        f"{per_complaint * 1000:.2f} ms per complaint"
    )

    zone = keywords._zone()
    last = keywords.Month.of(now, zone)
    first = last
    for _ in range(args.months - 1):
        first = first.previous()
    stored_seconds, stored = _trends(tenant_id, first.label, last.label)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        session.execute(text("UPDATE complaints SET keywords = NULL"))
    terms.segmenter()._memo.clear()
    read_seconds, segmented = _trends(tenant_id, first.label, last.label)
    assert stored["periods"] == segmented["periods"], "stored terms and segmenting on read must agree"
    print(
        f"keyword trends, {args.months} months: stored terms {stored_seconds:.2f} s; "
        f"segmenting on read {read_seconds:.2f} s; ratio {read_seconds / stored_seconds:.1f}x"
    )

    desk = Principal(role=Role.COMPLAINT_HANDLER, tenant_id=tenant_id, actor="user:bench")
    started = time.perf_counter()
    for i in range(args.intake):
        subject, description = TEXTS[("claims", "delay")][i % 3]
        data = schemas.ComplaintIn(
            channel="hotline",
            complainant=schemas.ComplainantIn(name="张三", phone=f"139{i:08d}"),
            category="claims",
            sub_cause="delay",
            subject=subject,
            description=description.format(line="车险", days=i % 30 + 1),
        )
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            complaints_service.create_complaint(session, desk, data)
    intake = time.perf_counter() - started
    print(
        f"intake through the service: {args.intake / intake:.0f} complaints/s "
        f"({intake / args.intake * 1000:.1f} ms each, one transaction each)"
    )
    db.get_engine().dispose()


if __name__ == "__main__":
    main()

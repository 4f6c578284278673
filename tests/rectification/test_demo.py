"""The demo hook moves rectifications through their states with backdated times: one closed on time, one
plan overdue (red), one sent back and reworked, one accepted late, one waiting for acceptance; re-running it
changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from claimwatch.auth.models import Role
from claimwatch.db import utc_now
from claimwatch.demo import rectifications as demo
from claimwatch.rectification.models import Rectification
from tests.rectification.helpers import Office


def test_demo_story(world) -> None:
    tenant = world.tenant("DEMO")
    world.user("demo.qm", Role.QUALITY_MANAGER, tenant)
    world.user("demo.adjuster01", Role.ADJUSTER, tenant)
    world.user("demo.adjuster02", Role.ADJUSTER, tenant)
    now = utc_now()
    loaded = demo.load([tenant.id], now)
    assert loaded.by_status == {"closed": 1, "open": 1, "in_progress": 1, "accepted": 1, "submitted_for_acceptance": 1}
    assert loaded.red >= 1
    office = Office(world, tenant, 0, 0, {})
    with office.session() as session:
        rows = {r.title: r for r in session.execute(select(Rectification)).scalars()}
    late = rows["理赔进度未主动告知客户"]
    assert (late.plan_outcome, late.acceptance_outcome) == ("met", "breached")
    assert rows["车险小额案件材料一次性告知执行不到位"].acceptance_outcome == "met"
    assert rows["医疗险理算金额复核缺失"].sent_back_count == 1
    again = demo.load([tenant.id], now)
    assert again.moved == 0 and again.by_status == loaded.by_status

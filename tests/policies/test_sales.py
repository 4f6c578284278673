"""Recording sales and the rules that flag them (service level, both databases): the flags at recording, the
refusals (unknown agent, nothing written), cancellations and the agent's cooling-off rate, complaints about a sale
(matched by the customer's keyed hash when they arrive, or linked by staff), clearing and confirming flags, and the
agents' appraisal metrics."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.complaints import intake, terms
from claimwatch.complaints.schemas import ComplaintIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict, Invalid
from claimwatch.people import appraisal_scheme
from claimwatch.people.appraisal_scheme import PersonRef
from claimwatch.people.models import StaffMember
from claimwatch.policies import (
    appraisal_metrics,
    sales,
    sales_subscriptions,  # noqa: F401 - registers the complaint reaction
)
from claimwatch.policies.models import PolicySale, SaleComplaintLink, SaleFlag
from tests.factories import World
from tests.policies.sales_world import OLD_ID, YOUNG_ID, SalesWorld, admin, build, sale
from tests.snapshots import Snapshot

NOV = dt.date(2026, 11, 1)


@pytest.fixture
def sw(world: World, db_snapshot: Snapshot) -> SalesWorld:
    return db_snapshot("policies.sales", lambda: build(world))


def _flags(session, number: str) -> dict[str, str]:
    sale_row = session.execute(select(PolicySale).where(PolicySale.policy_number == number)).scalar_one()
    rows = session.execute(select(SaleFlag.rule, SaleFlag.status).where(SaleFlag.sale_id == sale_row.id))
    return dict(rows.all())


def test_recording_flags_the_sale_and_keeps_the_customer_masked(sw: SalesWorld):
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        assert _flags(session, "P-UNLIC") == {"unlicensed_agent": "open"}
        assert _flags(session, "P-CLEAN") == {}
        assert _flags(session, "P-NODISC") == {"missing_disclosure": "open"}
        assert _flags(session, "P-BANK") == {"missing_recording": "open"}
        bank = session.execute(select(PolicySale).where(PolicySale.policy_number == "P-BANK")).scalar_one()
        assert (bank.flag_count, bank.customer_age, bank.customer_name_masked) == (1, 76, "李**")
        assert bank.customer_key and OLD_ID not in bank.customer_key
        kinds = set(session.execute(select(AuditEntry.kind).where(AuditEntry.kind.like("sales.%"))).scalars())
        assert kinds == {"sales.sale_recorded", "sales.flag_raised"}
        # Bad input: a clear error naming the field, nothing written.
        before = session.execute(select(func.count(PolicySale.id))).scalar_one()
        with pytest.raises(Invalid) as unknown:
            sales.record_sale(session, admin(sw.acme.id), sale("P-NEW", "NOBODY"))
        assert unknown.value.field == "agent"
        with pytest.raises(Invalid) as unpaired:
            sales.record_sale(session, admin(sw.acme.id), sale("P-NEW", "A-OK", recording_sha256=None))
        assert unpaired.value.field == "recording_sha256"
        with pytest.raises(Conflict):
            sales.record_sale(session, admin(sw.acme.id), sale("P-CLEAN", "A-OK"))
        assert session.execute(select(func.count(PolicySale.id))).scalar_one() == before
    with unit_of_work(TenantContext.for_tenant(sw.bbb.id)) as session:  # another insurer's agent code: not ours
        sales.record_sale(session, admin(sw.bbb.id), sale("P-UNLIC", "A-OK"))


def test_cooling_off_metrics_and_the_review_of_flags(sw: SalesWorld):
    who = admin(sw.acme.id)
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        for index in range(8):
            sales.record_sale(session, who, sale(f"P-C{index}", "A-OK", signed_on=dt.date(2026, 11, 10 + index)))
        with pytest.raises(Invalid) as early:
            sales.cancel_sale(session, who, "P-C0", dt.date(2026, 11, 1))
        assert early.value.field == "cancelled_on"
        late = sales.cancel_sale(session, who, "P-C0", dt.date(2026, 12, 31))
        assert not late.cancelled_in_cooling_off
        assert sales.evaluate_cooling_off(session, sw.acme.id, "2026-11") == []  # 0 of 10
        sales.cancel_sale(session, who, "P-C1", dt.date(2026, 11, 20))
        sales.cancel_sale(session, who, "P-C2", dt.date(2026, 11, 21))  # 2 of 10 > 10 %: flagged at once
        agent = session.execute(select(StaffMember).where(StaffMember.code == "A-OK")).scalar_one()
        flag = session.execute(select(SaleFlag).where(SaleFlag.rule == "cooling_off_rate")).scalar_one()
        assert (flag.agent_id, flag.period, flag.sale_id, flag.detail["cancelled"]) == (agent.id, "2026-11", None, 2)
        assert sales.evaluate_cooling_off(session, sw.acme.id, "2026-11") == []  # once
        window = appraisal_scheme.month_window(sw.acme.id, NOV, dt.UTC)
        people = [PersonRef(agent.id, "A-OK", "agent", None, agent.org_unit_id)]
        rate = appraisal_metrics.COOLING_OFF.compute(session, window, people)[agent.id]
        assert (rate.value, rate.volume) == (20.0, 10)
        flags = appraisal_metrics.SALE_FLAGS.compute(session, window, people)[agent.id]
        assert (flags.value, flags.params) == (10.0, {"flags": 1, "sales": 10})  # P-NODISC's
    # A flag is cleared or confirmed once, with a reason.
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        flag = session.execute(select(SaleFlag).where(SaleFlag.rule == "missing_disclosure")).scalar_one()
        with pytest.raises(Invalid) as silent:
            sales.decide_flag(session, who, flag.id, "clear", "  ")
        assert silent.value.field == "reason"
        sales.decide_flag(session, who, flag.id, "clear", "投保提示书纸质件已补扫")
        sale_row = session.get(PolicySale, flag.sale_id)
        assert sale_row is not None and sale_row.flag_count == 0 and flag.status == "cleared"
        with pytest.raises(Conflict):
            sales.decide_flag(session, who, flag.id, "confirm", "again")
        # Another domain's flag (the revisit's): accepted by its code, raised once.
        _, created = sales.flag_sale(session, sale_row, "revisit_misled", {"revisit": 1}, actor="system")
        again, created_again = sales.flag_sale(session, sale_row, "revisit_misled", {}, actor="system", finding_id=7)
        assert (created, created_again, again.finding_id, sale_row.flag_count) == (True, False, 7, 1)


def test_a_sales_complaint_is_linked_to_the_customers_sale_and_flags_it(
    sw: SalesWorld, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(terms, "stored_terms", lambda *args: "")  # the keyword index is not the point here
    who = admin(sw.acme.id)
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        complaint, _ = intake.intake(
            session,
            Principal(Role.ADMIN, sw.acme.id, "user:test.admin"),
            ComplaintIn.model_validate(
                {"channel": "hotline", "received_at": "2026-11-20T10:00:00+08:00", "category": "sales",
                 "complainant": {"name": "王小明", "id_number": YOUNG_ID, "phone": "13800001111"},
                 "subject": "销售误导", "description": "业务员承诺保本高收益"}
            ),
        )  # fmt: skip
        links = session.execute(select(SaleComplaintLink)).scalars().all()
        # YOUNG_ID bought every policy but P-BANK: each is linked (by the system) and flagged.
        assert len(links) == 3 and {link.linked_by for link in links} == {"system"}
        assert _flags(session, "P-CLEAN") == {"mis_selling_complaint": "open"}
        with pytest.raises(Conflict):
            sales.link_complaint(session, who, "P-CLEAN", complaint.number)
        sales.link_complaint(session, who, "P-BANK", complaint.number)  # staff link another customer's sale
        assert _flags(session, "P-BANK") == {"missing_recording": "open", "mis_selling_complaint": "open"}
        agent = session.execute(select(StaffMember).where(StaffMember.code == "A-OK")).scalar_one()
        window = appraisal_scheme.month_window(sw.acme.id, dt.date(2026, 11, 1), dt.UTC)
        people = [PersonRef(agent.id, "A-OK", "agent", None, None)]
        # Linked in the month the test runs, not November: none in November.
        assert appraisal_metrics.MIS_SELLING.compute(session, window, people)[agent.id].value == 0.0

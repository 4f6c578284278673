"""One small sales world per database kind (built once with ``db_snapshot``): ACME with a quality manager, a
supervisor and an adjuster (API keys), three agents — A-OK (a sales licence valid in 2026), A-EXP (a licence
that expired before their sales), A-USER (licensed, also the platform user ``agent.user``) — and four sales
recorded through the service: an unlicensed one, a clean one, a bank sale without a recording and one without a
disclosure; BBB with an agent of the same code (another insurer's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.people import service as people_service
from claimwatch.people.schemas import LicenceIn, StaffIn
from claimwatch.policies import sales
from claimwatch.policies.sales_schemas import SaleIn
from tests.factories import TenantHandle, World

SHA = "ab" * 32
# A resident ID number of someone born 1950-03-07 (76 at signing in 2026): keyed hash and age only.
OLD_ID = "110101195003070015"
YOUNG_ID = "11010119900101002X"


@dataclass(frozen=True)
class SalesWorld:
    acme: TenantHandle
    bbb: TenantHandle
    keys: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], "Accept-Language": "en"}


def admin(tenant_id: int) -> Principal:
    return Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="user:test.admin")


def sale(number: str, agent: str, **extra: Any) -> SaleIn:
    values: dict[str, Any] = {
        "policy_number": number, "product_code": "LIFE-20", "product_name": "福寿二十年定期寿险", "line": "life",
        "long_term": False, "channel": "agent", "agent": agent, "premium": Decimal("3600.00"),
        "signed_on": dt.date(2026, 11, 5), "disclosure_signed_on": dt.date(2026, 11, 5),
        "recording_ref": "rec/1", "recording_sha256": SHA, "customer_id_number": YOUNG_ID, "customer_name": "王小明",
    }  # fmt: skip
    values.update(extra)
    return SaleIn.model_validate(values)


def _licence(number: str, issued: dt.date, expires: dt.date) -> LicenceIn:
    return LicenceIn(kind="sales", number=number, issued_on=issued, expires_on=expires)


def build(world: World) -> SalesWorld:
    acme, bbb = world.tenant("ACME", "示例保险"), world.tenant("BBB", "另一保险")
    world.user("acme.qm", Role.QUALITY_MANAGER, acme)
    world.user("agent.user", Role.ADJUSTER, acme)
    keys = {
        "qm": world.api_key(acme, Role.QUALITY_MANAGER),
        "supervisor": world.api_key(acme, Role.SUPERVISOR),
        "adjuster": world.api_key(acme, Role.ADJUSTER),
        "bbb": world.api_key(bbb, Role.QUALITY_MANAGER),
    }
    year = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        who = admin(acme.id)
        for code, licence, user in (
            ("A-OK", _licence("S-1", *year), None),
            ("A-EXP", _licence("S-2", dt.date(2023, 1, 1), dt.date(2026, 6, 30)), None),
            ("A-USER", _licence("S-3", *year), "agent.user"),
        ):
            people_service.create_staff(
                session, who,
                StaffIn(code=code, name=f"代理人{code}", kind="agent", org_unit=acme.branch_code, username=user,
                        hired_on=dt.date(2022, 1, 1), licence=licence),
            )  # fmt: skip
        sales.record_sale(session, who, sale("P-UNLIC", "A-EXP"))
        sales.record_sale(session, who, sale("P-CLEAN", "A-OK"))
        sales.record_sale(
            session, who, sale("P-BANK", "A-USER", channel="bank", recording_ref=None, recording_sha256=None,
                               customer_id_number=OLD_ID, customer_name="李老伯")
        )  # fmt: skip
        sales.record_sale(session, who, sale("P-NODISC", "A-OK", disclosure_signed_on=None))
    with unit_of_work(TenantContext.for_tenant(bbb.id)) as session:
        people_service.create_staff(
            session, admin(bbb.id),
            StaffIn(code="A-OK", name="别家代理人", kind="agent", hired_on=dt.date(2022, 1, 1),
                    licence=_licence("B-1", *year)),
        )  # fmt: skip
    return SalesWorld(acme, bbb, keys)

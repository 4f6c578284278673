"""The ``disclosures`` KPI snapshot table (claimwatch.kpi.sources): one row per tenant and quarter, from the
latest published version of its disclosure: how many indicators are required and how many it carries. The
catalogue's ``disclosure_completeness`` is sum(present) / sum(required)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Select, String, cast, func, null, select
from sqlalchemy.orm import aliased

from claimwatch.kpi import sources
from claimwatch.reports.disclosure_models import PublicDisclosure


def disclosures_query(taken_at: dt.datetime) -> Select:
    later = aliased(PublicDisclosure)
    newest = (
        select(func.max(later.version))
        .where(
            later.tenant_id == PublicDisclosure.tenant_id,
            later.quarter == PublicDisclosure.quarter,
            later.published_at <= taken_at,
        )
        .scalar_subquery()
    )
    statement = (
        select(
            PublicDisclosure.tenant_id,
            cast(null(), BigInteger),
            cast(null(), BigInteger),
            cast(null(), String),
            cast(null(), String),
            PublicDisclosure.quarter_start,
            PublicDisclosure.required,
            PublicDisclosure.present,
            PublicDisclosure.published_at,
        )
        .where(PublicDisclosure.version == newest)
        .order_by(PublicDisclosure.tenant_id, PublicDisclosure.quarter)
    )
    return statement


sources.register("disclosures", disclosures_query)

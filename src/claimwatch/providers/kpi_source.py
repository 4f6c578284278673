"""The ``provider_tasks`` KPI snapshot table (:data:`claimwatch.kpi.columns.TABLES`): one row per task sent to a
third party, not cancelled, under its claim's org unit, with the task's region and line (copied from the claim
when it was sent) and its provider's code and 统一社会信用代码 (the regulator's join across insurers).

The providers domain sits below the KPI domain, so this module does not import it: :mod:`claimwatch.kpi_sources`
registers :func:`query` with ``claimwatch.kpi.sources``. The catalogue's ``provider_standard_rate`` and
``provider_report_on_time`` count, among the tasks due in the period with a verdict, the standard and on-time ones.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, select

from claimwatch.cases.models import Claim
from claimwatch.providers.models import Provider, ProviderTask

CANCELLED = "cancelled"


def query(taken_at: dt.datetime) -> Select:
    """The rows in the column order of the snapshot table (``taken_at`` is unused: the verdicts are final)."""
    del taken_at
    return (
        select(
            ProviderTask.tenant_id,
            ProviderTask.claim_id,
            Claim.org_unit_id,
            ProviderTask.region_code,
            ProviderTask.line,
            ProviderTask.provider_id,
            Provider.code,
            Provider.credit_code,
            ProviderTask.kind,
            ProviderTask.status,
            ProviderTask.sent_at,
            ProviderTask.due_at,
            ProviderTask.reported_at,
            ProviderTask.on_time,
            ProviderTask.standard,
        )
        .join(Claim, Claim.id == ProviderTask.claim_id)
        .join(Provider, Provider.id == ProviderTask.provider_id)
        .where(ProviderTask.status != CANCELLED)
        .order_by(ProviderTask.id)
    )

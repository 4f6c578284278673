"""The wiring of the to-do inbox (我的待办): which domains contribute sections. Loaded by name by
:mod:`claimwatch.todo.registry` on first use, as :mod:`claimwatch.subscriptions` is by the reactions.

Each domain declares its sections in its own ``work.py``; a domain filed later (inspections, corrective
actions) adds one import line here and nothing in the inbox.
"""

from __future__ import annotations

from claimwatch.actions import work as actions_work  # noqa: F401 - my actions and steps, overdue actions
from claimwatch.committee import work as committee_work  # noqa: F401 - undecided items of the open meeting
from claimwatch.complaints import work as complaints_work  # noqa: F401 - my complaints, unassigned ones
from claimwatch.evidence import work as evidence_work  # noqa: F401 - the witness's alarms (regulator)
from claimwatch.inspections import work as inspections_work  # noqa: F401 - my sampled cases, my reviews
from claimwatch.kb import work as kb_work  # noqa: F401 - article versions waiting for review
from claimwatch.kpi import work as kpi_work  # noqa: F401 - red KPIs, quality alerts
from claimwatch.notify import work as notify_work  # noqa: F401 - dead letters
from claimwatch.people import (
    licence_work,  # noqa: F401 - licences expiring within 30 days
    training_work,  # noqa: F401 - mandatory training overdue
)
from claimwatch.policies import (
    revisit_work,  # noqa: F401 - revisits due or overdue that I may make
    underwriting_work,  # noqa: F401 - applications in my review, unassigned ones
)
from claimwatch.providers import work as providers_work  # noqa: F401 - my claims' third-party tasks late or answered
from claimwatch.rectification import work as rectification_work  # noqa: F401 - my rectifications, awaiting acceptance
from claimwatch.risk import work as risk_work  # noqa: F401 - high-risk claims waiting for my review
from claimwatch.sanctions import work as sanctions_work  # noqa: F401 - sanctions waiting for approval
from claimwatch.servicedesk import work as servicedesk_work  # noqa: F401 - my service requests, unassigned ones
from claimwatch.sla import work as sla_work  # noqa: F401 - my claims, escalations, filings, insurers
from claimwatch.supervision import work as supervision_work  # noqa: F401 - open rating objections (regulator)
from claimwatch.surveys import work as surveys_work  # noqa: F401 - low satisfaction scores

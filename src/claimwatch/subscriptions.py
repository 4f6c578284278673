"""The wiring of domain reactions: which domain reacts to which topic, in the order the handlers run.
Loaded by :mod:`claimwatch.reactions` on the first publish.

Each subscribing domain keeps its reaction in its own ``subscriptions`` module; a reaction that needs two
domains that do not know each other (the claimant's acknowledgement quotes the SLA clock's expected date,
and the clocks sit above the outbox) is composed here, at the top. The clocks run before the claimant
messages, so the new claim's timeliness clock exists when the acknowledgement asks for its target.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions

# First: triage decides a new claim's route, priority and risk before the clocks start (sla), a handler is chosen
# (assignment) or a message is queued, since they read the claim's route column. Subscribers run in import order.
from claimwatch.triage import subscriptions as triage_subscriptions  # noqa: F401 - routes new claims (三免, green)

# isort: split
from claimwatch.actions import subscriptions as actions_subscriptions  # noqa: F401 - action due dates follow the calendar
from claimwatch.assignment import subscriptions as assignment_subscriptions  # noqa: F401 - assigns new claims and complaints
from claimwatch.cases.events import CaseChange
from claimwatch.complaints import subscriptions as complaints_subscriptions  # noqa: F401 - complaint deadlines
from claimwatch.inspections import subscriptions as inspections_subscriptions  # noqa: F401 - special inspections from new alerts
from claimwatch.notify import service as notify_service
from claimwatch.ops import ingest as ops_ingest  # noqa: F401 - counts ingested events for /metrics
from claimwatch.policies import sales_subscriptions  # noqa: F401 - links sales complaints to the sale and its agent
from claimwatch.providers import subscriptions as providers_subscriptions  # noqa: F401 - tasks to third parties by rule
from claimwatch.rectification import subscriptions as rectification_subscriptions  # noqa: F401 - rectification deadlines
from claimwatch.servicedesk import subscriptions as servicedesk_subscriptions  # noqa: F401 - request deadlines follow the calendar
from claimwatch.sla import service as sla_service
from claimwatch.sla import subscriptions as sla_subscriptions  # noqa: F401 - registers the clocks' reactions


@reactions.subscribe(reactions.CASE_EVENTS)
def enqueue_claimant_messages(session: Session, tenant_id: int | None, changes: list[CaseChange]) -> int:
    assert tenant_id is not None
    return notify_service.on_case_events(session, tenant_id, changes, sla_service.expected_completion)

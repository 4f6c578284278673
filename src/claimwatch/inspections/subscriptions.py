"""The inspections domain's reactions: a new statistical alert opens a special inspection where the insurer
configures it (:mod:`claimwatch.inspections.special`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.inspections import special


@reactions.subscribe(reactions.QUALITY_ALERTS_RAISED)
def open_special_inspections(session: Session, tenant_id: int | None, alerts: list[special.AlertRef]) -> int:
    return special.on_alerts_raised(session, tenant_id, alerts)

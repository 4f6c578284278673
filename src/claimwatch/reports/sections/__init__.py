"""Report sections: importing this package registers every section builder (see base.py)."""

from claimwatch.reports.sections import (  # noqa: F401
    actions_section,
    alerts,
    committee_section,
    complaints,
    inspections,
    insurers,
    kpis,
    sla,
    special_action,
    special_alert,
    special_plan,
    summary,
    surveys,
)

"""Screen labels that live in the message catalogue (English msgids, translated at render time).

Workflow statuses and lines of business are not here: their labels come from the workflow YAML.
"""

from __future__ import annotations

from claimwatch.auth.models import Role
from claimwatch.web.i18n import N_

ROLE_LABELS: dict[Role, str] = {
    Role.ADJUSTER: N_("Adjuster"),
    Role.SUPERVISOR: N_("Claims supervisor"),
    Role.COMPLAINT_HANDLER: N_("Complaint handler"),
    Role.INSPECTOR: N_("Quality inspector"),
    Role.QUALITY_MANAGER: N_("Quality manager"),
    Role.REGULATOR: N_("Regulator"),
    Role.ADMIN: N_("Administrator"),
    Role.INTEGRATION: N_("Integration"),
    Role.UNDERWRITER: N_("Underwriter"),
    Role.PROVIDER: N_("Third-party provider"),
}

EVENT_TYPE_LABELS: dict[str, str] = {
    "reported": N_("Claim reported"),
    "transition": N_("Status change"),
    "assigned": N_("Assigned"),
    "amounts": N_("Amounts updated"),
}

# SLA clocks (时效).
LIGHT_LABELS: dict[str, str] = {
    "green": N_("Green"),
    "yellow": N_("Yellow"),
    "red": N_("Red"),
}

# The unit of a clock's budget (SLA and complaint clocks alike).
UNIT_LABELS: dict[str, str] = {
    "hours": N_("hours"),
    "business_hours": N_("business hours"),
    "calendar_days": N_("calendar days"),
    "working_days": N_("working days"),
}

# The state of a clock (SLA and complaint clocks alike).
CLOCK_STATE_LABELS: dict[str, str] = {
    "running": N_("Running"),
    "paused": N_("Paused (waiting for the claimant)"),
    "suspended": N_("Suspended"),
    "stopped": N_("Stopped"),
}

OUTCOME_LABELS: dict[str, str] = {
    "met": N_("On time"),
    "breached": N_("Overdue"),
    "void": N_("No longer applies (route changed)"),
}

PERIOD_KIND_LABELS: dict[str, str] = {
    "paused": N_("Paused"),
    "suspended": N_("Suspended"),
}

ESCALATION_LEVEL_LABELS: dict[str, str] = {
    "yellow": N_("Yellow: past the deadline"),
    "red": N_("Red: reported to the regulator"),
}

ESCALATION_STATUS_LABELS: dict[str, str] = {
    "open": N_("Open"),
    "acknowledged": N_("Acknowledged"),
}

# Materials (材料).
REQUIREMENT_LABELS: dict[str, str] = {
    "required": N_("Required"),
    "conditional": N_("Conditional"),
    "optional": N_("Optional"),
}

NOTICE_KIND_LABELS: dict[str, str] = {
    "one_time": N_("One-time notice"),
    "supplement": N_("Supplement"),
}

NOTICE_BASIS_LABELS: dict[str, str] = {
    "first": N_("First request"),
    "repeat": N_("Reminder"),
    "new_fact": N_("New facts"),
    "knowable": N_("Knowable at the first notice"),
}

# Why a clock paused, when the materials rules paused it (the reason text itself is English).
SIGNAL_REASON_LABELS: dict[str, str] = {
    "materials_requested": N_("Missing-materials notice sent"),
    "materials_received": N_("Missing materials received"),
}
NOTICE_ROUND_REASON = N_("Missing-materials notice, round %(round)s")

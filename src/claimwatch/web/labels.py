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
}

EVENT_TYPE_LABELS: dict[str, str] = {
    "reported": N_("Claim reported"),
    "transition": N_("Status change"),
    "assigned": N_("Assigned"),
    "amounts": N_("Amounts updated"),
}

"""How the complaint pages name what the services leave as codes: English msgids marked with ``N_``,
translated by the message catalogue when a template renders them."""

from __future__ import annotations

from claimwatch.web.i18n import N_

# How the pages name things the service leaves as codes (English msgids, translated when rendered).
# Clock units and states are the web shell's (web/labels.py), shared with the SLA clocks.
CLOCK_OUTCOME_LABELS: dict[str, str] = {
    "met": N_("On time"),
    "breached": N_("Overdue"),
    "applied": N_("Review requested in time"),
    "lapsed": N_("No review requested"),
    "waived": N_("Window closed"),
}
TREND_LABELS: dict[str, str] = {
    "new": N_("New"),
    "rising": N_("Rising"),
    "falling": N_("Falling"),
    "steady": N_("Steady"),
}
ACTION_TITLES: dict[str, str] = {
    "accept": N_("Accept (受理)"),
    "note": N_("Add an investigation note"),
    "complex": N_("Mark complex: decide within 30 days"),
    "extend": N_("Approve an extension to 60 days"),
    "appraisal-start": N_("External appraisal begins"),
    "appraisal-end": N_("External appraisal ended"),
    "new-facts": N_("New facts or requests: restart the clock"),
    "withdraw": N_("Withdrawn by the complainant"),
    "decide": N_("Decide the complaint"),
    "review-request": N_("Review (核查) requested"),
    "review-decision": N_("Review decision"),
    "close": N_("Close the complaint"),
    "major": N_("Escalate as a major complaint"),
}
# Which form field each action's text goes to (the service names it so in its errors).
# The field a refusal names, as the page shows it.
FIELD_LABELS: dict[str, str] = {
    "note": N_("Note"),
    "reason": N_("Reason"),
    "outcome": N_("Outcome"),
    "facts": N_("Facts verified"),
    "basis": N_("Basis and reasons"),
    "remedy": N_("What we will do"),
    "compensation": N_("Compensation"),
    "first_contact_resolved": N_("Resolved at first contact"),
    "received_at": N_("Received at"),
    "status": N_("Status"),
    "complex": N_("Complex"),
    "approver": N_("Approver"),
    "contact": N_("Contact"),
    "deadline": N_("Deadline"),
    "appraisal": N_("Appraisal"),
    "at": N_("Time"),
    "role": N_("Role"),
    "tenant": N_("Insurer"),
    "number": N_("Complaint number"),
}
# A friendlier word than the schema's pattern for the fields people mistype.
FIELD_HINTS: dict[str, str] = {
    "phone": N_("Enter a phone number of 5 to 20 digits."),
    "id_number": N_("Enter an ID number of 6 to 32 letters and digits."),
    "email": N_("Enter an e-mail address such as name@example.com."),
    "received_at": N_("Enter a date and time, not in the future."),
    "regulator_received_at": N_("Enter a date and time, not in the future."),
    "compensation": N_("Enter an amount in yuan, such as 1200.50."),
}
REQUIRED_HINT = N_("This field is required.")

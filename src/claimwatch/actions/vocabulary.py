"""The improvement-action vocabulary: PDCA phases and the moves between them, source kinds, root-cause
methods and fishbone categories, verdicts, outcomes, standard kinds and audit event kinds, with their labels
(catalogue msgids marked with ``N_``)."""

from __future__ import annotations

from claimwatch.web.i18n import N_, translate

PLAN, DO, CHECK, ACT, CLOSED, CANCELLED = "plan", "do", "check", "act", "closed", "cancelled"
PHASES = (PLAN, DO, CHECK, ACT, CLOSED, CANCELLED)
PDCA = (PLAN, DO, CHECK, ACT)  # the board's columns
OPEN_PHASES = (PLAN, DO, CHECK, ACT)
RUNNING = (PLAN, DO)  # the due date still runs (Do not ended)
OVERDUE_PHASES = (PLAN, DO, CHECK)  # open_overdue(): due date passed and not yet acted upon
STEP_EDITABLE = (PLAN, DO)
PHASE_LABELS: dict[str, str] = {
    PLAN: N_("Plan (P)"),
    DO: N_("Do (D)"),
    CHECK: N_("Check (C)"),
    ACT: N_("Act (A)"),
    CLOSED: N_("Action closed"),
    CANCELLED: N_("Action cancelled"),
}
# The moves move_phase() makes: (from, to). Closing from Act without standards is allowed; standardise()
# and new_cycle() are their own calls.
MOVES: dict[tuple[str, str], str] = {
    (PLAN, DO): "start",
    (DO, CHECK): "done",
    (CHECK, ACT): "checked",
    (ACT, CLOSED): "close",
    (PLAN, CANCELLED): "cancel",
    (DO, CANCELLED): "cancel",
    (CHECK, CANCELLED): "cancel",
    (ACT, CANCELLED): "cancel",
}
NEXT_PHASE = {PLAN: DO, DO: CHECK, CHECK: ACT, ACT: CLOSED}

SOURCE_KINDS = ("finding", "complaint_cause", "alert", "kpi", "survey", "committee", "manual")
SOURCE_KIND_LABELS: dict[str, str] = {
    "finding": N_("Inspection finding"),
    "complaint_cause": N_("Complaint root cause"),
    "alert": N_("Quality alert"),
    "kpi": N_("KPI"),
    "survey": N_("Survey dimension"),
    "committee": N_("Committee decision"),
    "manual": N_("Raised by hand"),
}
# Survey dimension → the KPI that measures it.
SURVEY_KPIS = {
    "overall": "satisfaction",
    "timeliness": "timeliness_score",
    "transparency": "transparency_score",
    "attitude": "attitude_score",
}
SURVEY_LABELS: dict[str, str] = {
    "overall": N_("Overall satisfaction"),
    "timeliness": N_("Timeliness"),
    "transparency": N_("Transparency"),
    "attitude": N_("Attitude"),
}

FIVE_WHYS, FISHBONE = "five_whys", "fishbone"
RCA_METHODS = (FIVE_WHYS, FISHBONE)
RCA_LABELS: dict[str, str] = {FIVE_WHYS: N_("5 whys"), FISHBONE: N_("Fishbone")}
# 人/机/料/法/环/测
FISHBONE_CATEGORIES = ("man", "machine", "material", "method", "environment", "measurement")
FISHBONE_LABELS: dict[str, str] = {
    "man": N_("Man (人)"),
    "machine": N_("Machine (机)"),
    "material": N_("Material (料)"),
    "method": N_("Method (法)"),
    "environment": N_("Environment (环)"),
    "measurement": N_("Measurement (测)"),
}

VERDICTS = ("improved", "no_change", "worse", "insufficient")
OUTCOMES = ("standardised", "closed", "new_cycle", "cancelled")
OUTCOME_LABELS: dict[str, str] = {
    "standardised": N_("Standardised"),
    "closed": N_("Closed without standardising"),
    "new_cycle": N_("New cycle"),
    "cancelled": N_("Action cancelled"),
}
STANDARD_KINDS = ("workflow", "checklist", "policy", "scorecard", "document")
STANDARD_LABELS: dict[str, str] = {
    "workflow": N_("Workflow"),
    "checklist": N_("Materials checklist"),
    "policy": N_("Policy"),
    "scorecard": N_("Scorecard"),
    "document": N_("Document version"),
}

# Audit entries (kind "action.<event>") and how the history names them.
EVENT_LABELS: dict[str, str] = {
    "raised": N_("Action raised"),
    "updated": N_("Action updated"),
    "step_added": N_("Step added"),
    "step_updated": N_("Step updated"),
    "step_done": N_("Step done"),
    "start": N_("Do started"),
    "done": N_("Do ended"),
    "checked": N_("Moved to Act"),
    "check_run": N_("Effectiveness checked"),
    "standardised": N_("Standardised"),
    "close": N_("Action closed"),
    "cancel": N_("Action cancelled"),
    "new_cycle": N_("New cycle started"),
    "reminder": N_("Reminder sent"),
    "overdue": N_("Overdue notice"),
}


def label(table: dict[str, str], code: str | None, locale: str) -> str:
    """The label of a code in one of the tables, in ``locale`` (the code itself when unknown)."""
    if code is None:
        return ""
    message = table.get(code)
    return code if message is None else translate(locale, message)

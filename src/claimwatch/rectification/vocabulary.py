"""The rectification vocabulary: states, the transitions each action makes, severities, evidence steps,
event kinds and their labels (catalogue msgids marked with ``N_``). Shared by the service, the queries and
the pages."""

from __future__ import annotations

from dataclasses import dataclass

from claimwatch.auth.principal import Permission
from claimwatch.web.i18n import N_, translate

OPEN, PLAN_SUBMITTED, IN_PROGRESS, SUBMITTED = "open", "plan_submitted", "in_progress", "submitted_for_acceptance"
ACCEPTED, SENT_BACK, CLOSED = "accepted", "sent_back", "closed"
STATUSES = (OPEN, PLAN_SUBMITTED, IN_PROGRESS, SUBMITTED, SENT_BACK, ACCEPTED, CLOSED)
# Still being worked: the board's default, the inbox, the overdue reminders.
ACTIVE = (OPEN, PLAN_SUBMITTED, IN_PROGRESS, SUBMITTED, SENT_BACK)
DONE = (ACCEPTED, CLOSED)

STATUS_LABELS: dict[str, str] = {
    OPEN: N_("Plan due"),
    PLAN_SUBMITTED: N_("Plan submitted"),
    IN_PROGRESS: N_("Rectifying"),
    SUBMITTED: N_("Awaiting acceptance"),
    SENT_BACK: N_("Sent back"),
    ACCEPTED: N_("Acceptance passed"),
    CLOSED: N_("Rectification closed"),
}

SEVERITIES = ("minor", "major", "severe")
SEVERITY_LABELS: dict[str, str] = {
    "minor": N_("Minor (一般)"),
    "major": N_("Major (较重)"),
    "severe": N_("Severe (严重)"),
}

SOURCE_KIND_LABELS: dict[str, str] = {
    "inspection_finding": N_("Inspection finding"),
    "corrective_action": N_("Corrective action"),
    "regulator_finding": N_("Regulator's finding"),
    "third_party_review": N_("Third-party review"),
}

STEPS = ("plan", "progress", "acceptance")
STEP_LABELS: dict[str, str] = {
    "plan": N_("Rectification plan"),
    "progress": N_("Progress"),
    "acceptance": N_("For acceptance"),
}


@dataclass(frozen=True)
class Transition:
    action: str  # the API's path segment and the page's form
    allowed: tuple[str, ...]  # the states it may start from
    to: str
    permission: Permission
    text_field: str | None  # the text the action records (required unless optional)
    optional_text: bool = False
    title: str = ""  # msgid of the button


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(
            "plan", (OPEN,), PLAN_SUBMITTED, Permission.WORK_RECTIFICATIONS, "plan", title=N_("Submit the plan")
        ),
        Transition(
            "progress",
            (PLAN_SUBMITTED, IN_PROGRESS, SENT_BACK),
            IN_PROGRESS,
            Permission.WORK_RECTIFICATIONS,
            "note",
            title=N_("Record progress"),
        ),
        Transition(
            "submit",
            (IN_PROGRESS,),
            SUBMITTED,
            Permission.WORK_RECTIFICATIONS,
            "note",
            title=N_("Submit for acceptance"),
        ),
        Transition(
            "accept",
            (SUBMITTED,),
            ACCEPTED,
            Permission.ACCEPT_RECTIFICATIONS,
            "note",
            True,
            title=N_("Accept the rectification"),
        ),
        Transition(
            "send-back", (SUBMITTED,), SENT_BACK, Permission.ACCEPT_RECTIFICATIONS, "reason", title=N_("Send back")
        ),
        Transition(
            "close",
            (ACCEPTED,),
            CLOSED,
            Permission.ACCEPT_RECTIFICATIONS,
            "note",
            True,
            title=N_("Close the rectification"),
        ),
    )
}

EVENT_LABELS: dict[str, str] = {
    "opened": N_("Rectification opened"),
    "plan": N_("Plan submitted"),
    "progress": N_("Progress recorded"),
    "submit": N_("Submitted for acceptance"),
    "accept": N_("Acceptance passed"),
    "send-back": N_("Sent back"),
    "close": N_("Rectification closed"),
    "evidence": N_("Evidence uploaded"),
    "overdue": N_("Overdue"),
    "reminder": N_("Overdue reminder sent"),
}

LIGHT_RANK = {"green": 0, "yellow": 1, "red": 2}


def label(labels: dict[str, str], code: str | None, locale: str) -> str:
    if code is None:
        return ""
    msgid = labels.get(code)
    return translate(locale, msgid) if msgid else code


def step_for(status: str) -> str:
    """The step evidence belongs to when the uploader does not say: the plan until it is in, then progress,
    then what was submitted for acceptance."""
    if status in (OPEN, PLAN_SUBMITTED):
        return "plan"
    if status in (IN_PROGRESS, SENT_BACK):
        return "progress"
    return "acceptance"

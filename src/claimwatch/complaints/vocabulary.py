"""The complaint vocabulary: channels, statuses, outcomes, major reasons, categories and sub-causes
(defaults/complaints/categories.yaml), their labels (catalogue msgids marked with ``N_``; categories carry
their zh/en names in their YAML), and the error every complaint module raises.
Shared by the services, the queries, the importer and the pages."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from claimwatch.auth.principal import Permission, Principal
from claimwatch.config import PACKAGE_DIR
from claimwatch.errors import Problem
from claimwatch.web.i18n import N_, translate
from claimwatch.yaml_source import ConfigFileError, Mapping, line_of
from claimwatch.yaml_source import load as load_yaml

CHANNELS: tuple[str, ...] = (
    "hotline",
    "app",
    "wechat",
    "email",
    "letter",
    "walk_in",
    "regulator_12378",
    "consumer_association",
)
MAJOR_REASONS = ("group", "media", "regulator_transfer", "vulnerable")
STATUSES = (
    "received",
    "accepted",
    "investigating",
    "decided",
    "review_requested",
    "reviewed",
    "closed",
    "withdrawn",
)
OUTCOMES = ("upheld", "partly_upheld", "not_upheld")
REVIEW_OUTCOMES = ("upheld", "changed")
HANDLING = ("received", "accepted", "investigating")  # before the decision
CLOSED = ("closed", "withdrawn")

CHANNEL_LABELS: dict[str, str] = {
    "hotline": N_("Hotline"),
    "app": N_("App"),
    "wechat": N_("WeChat"),
    "email": N_("Email"),
    "letter": N_("Letter"),
    "walk_in": N_("Walk-in"),
    "regulator_12378": N_("Regulator transfer (12378)"),
    "consumer_association": N_("Consumer association"),
}
MAJOR_REASON_LABELS: dict[str, str] = {
    "group": N_("Group complaint"),
    "media": N_("Media attention"),
    "regulator_transfer": N_("Regulator transfer"),
    "vulnerable": N_("Vulnerable customer"),
}
STATUS_LABELS: dict[str, str] = {
    "received": N_("Registered"),
    "accepted": N_("Accepted"),
    "investigating": N_("Investigating"),
    "decided": N_("Decided"),
    "review_requested": N_("Under review"),
    "reviewed": N_("Reviewed"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
}
OUTCOME_LABELS: dict[str, str] = {
    "upheld": N_("Complaint upheld"),
    "partly_upheld": N_("Complaint partly upheld"),
    "not_upheld": N_("Complaint not upheld"),
}
# A review's outcome is about the original decision, not the complaint: "upheld" means the decision stands.
REVIEW_OUTCOME_LABELS: dict[str, str] = {
    "upheld": N_("Decision upheld on review"),
    "changed": N_("Decision changed on review"),
}
EVENT_LABELS: dict[str, str] = {
    "deadline_recomputed": N_("Deadline recomputed (holiday calendar loaded)"),
    "received": N_("Complaint received"),
    "accepted": N_("Complaint accepted"),
    "note": N_("Investigation note"),
    "complex": N_("Marked complex (30 days)"),
    "extended": N_("Extension approved (60 days)"),
    "appraisal_started": N_("External appraisal started (time excluded)"),
    "appraisal_ended": N_("External appraisal ended"),
    "new_facts": N_("New facts: clock restarted"),
    "withdrawn": N_("Withdrawn by the complainant"),
    "decided": N_("Decision made"),
    "review_requested": N_("Review applied for"),
    "reviewed": N_("Review decided"),
    "closed": N_("Complaint closed"),
    "review_window_lapsed": N_("Review window lapsed: closed"),
    "repeat_linked": N_("Repeat complaint linked"),
    "escalated_major": N_("Major complaint: special team"),
    "marked_major": N_("Marked as a major complaint"),
    "overdue": N_("Overdue warning"),
}

# Actions a complaint in a status allows (the API's action names); refined by clock state and role.
# What can be done while the complaint is being handled (before the decision); acceptance only once.
_HANDLING_ACTIONS = (
    "note",
    "complex",
    "extend",
    "appraisal-start",
    "appraisal-end",
    "new-facts",
    "withdraw",
    "decide",
    "major",
)
STATUS_ACTIONS: dict[str, tuple[str, ...]] = {
    "received": ("accept", *_HANDLING_ACTIONS),
    "accepted": _HANDLING_ACTIONS,
    "investigating": _HANDLING_ACTIONS,
    "decided": ("note", "review-request", "close"),
    "review_requested": ("note", "appraisal-start", "appraisal-end", "withdraw", "review-decision", "major"),
    "reviewed": ("note", "close"),
    "closed": (),
    "withdrawn": (),
}
CATEGORY_FILE = PACKAGE_DIR / "defaults" / "complaints" / "categories.yaml"


def label(table: dict[str, str], code: str | None, locale: str) -> str:
    """The label of a code in one of the label tables, in ``locale`` (the code itself when unknown)."""
    if code is None:
        return ""
    message = table.get(code)
    return code if message is None else translate(locale, message)


class ComplaintError(Problem):
    """A refused complaint request: HTTP status, the field at fault, and a message naming it."""


@dataclass(frozen=True)
class SubCause:
    code: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return self.zh if locale == "zh" else self.en


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str
    sub_causes: dict[str, SubCause]

    def label(self, locale: str) -> str:
        return self.zh if locale == "zh" else self.en


# -- categories --------------------------------------------------------------------------------------


def _pair(node: Any, source: str, what: str) -> tuple[str, str]:
    if not isinstance(node, Mapping) or not isinstance(node.get("zh"), str) or not isinstance(node.get("en"), str):
        raise ConfigFileError(source, line_of(node), f"{what} needs zh and en labels")
    return node["zh"], node["en"]


def parse_categories(text: str, source: str) -> dict[str, Category]:
    doc = load_yaml(text, source, ConfigFileError)
    if not isinstance(doc, Mapping) or set(doc) != {"categories"} or not isinstance(doc["categories"], Mapping):
        raise ConfigFileError(source, 1, "a category file is a mapping with one key, 'categories'")
    found: dict[str, Category] = {}
    for code, node in doc["categories"].items():
        zh, en = _pair(node, source, f"category {code!r}")
        subs = node.get("sub_causes")
        if not isinstance(subs, Mapping) or not subs:
            raise ConfigFileError(source, line_of(node), f"category {code!r} needs sub_causes")
        causes = {}
        for sub_code, sub_node in subs.items():
            sub_zh, sub_en = _pair(sub_node, source, f"sub-cause {code}.{sub_code}")
            causes[str(sub_code)] = SubCause(str(sub_code), sub_zh, sub_en)
        found[str(code)] = Category(str(code), zh, en, causes)
    return found


@lru_cache
def categories() -> dict[str, Category]:
    """code -> category with zh/en labels and its sub-causes, from defaults/complaints/categories.yaml."""
    return parse_categories(CATEGORY_FILE.read_text(encoding="utf-8"), str(CATEGORY_FILE))


def category_label(code: str, locale: str) -> str:
    category = categories().get(code)
    return category.label(locale) if category else code


def sub_cause_label(category: str, sub_cause: str | None, locale: str) -> str:
    if sub_cause is None:
        return ""
    found = categories().get(category)
    cause = found.sub_causes.get(sub_cause) if found else None
    return cause.label(locale) if cause else sub_cause


def known(values: Any) -> str:
    return ", ".join(values)


def require(principal: Principal, permission: Permission) -> None:
    if not principal.can(permission):
        raise ComplaintError(403, "role", f"role {principal.role.value!r} may not {permission.value.replace('_', ' ')}")


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise ComplaintError(403, "tenant", "this account belongs to no tenant and cannot record complaints")
    return principal.tenant_id

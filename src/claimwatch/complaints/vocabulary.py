"""The complaint vocabulary: channels, statuses, outcomes, major reasons, categories and sub-causes
(defaults/complaints/categories.yaml), their zh/en labels, and the error every complaint module raises.
Shared by the service, the views, the importer and the pages."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from claimwatch.auth.principal import Permission, Principal
from claimwatch.config import PACKAGE_DIR
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

CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "hotline": ("客服热线", "Hotline"),
    "app": ("APP", "App"),
    "wechat": ("微信", "WeChat"),
    "email": ("电子邮件", "Email"),
    "letter": ("信函", "Letter"),
    "walk_in": ("现场来访", "Walk-in"),
    "regulator_12378": ("监管转办(12378)", "Regulator transfer (12378)"),
    "consumer_association": ("消费者协会", "Consumer association"),
}
MAJOR_REASON_LABELS: dict[str, tuple[str, str]] = {
    "group": ("群体性投诉", "Group complaint"),
    "media": ("媒体关注", "Media attention"),
    "regulator_transfer": ("监管转办", "Regulator transfer"),
    "vulnerable": ("特殊群体（老年人等）", "Vulnerable customer"),
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "received": ("已登记", "Received"),
    "accepted": ("已受理", "Accepted"),
    "investigating": ("调查中", "Investigating"),
    "decided": ("已作出处理决定", "Decided"),
    "review_requested": ("核查中", "Review requested"),
    "reviewed": ("已核查", "Reviewed"),
    "closed": ("已办结", "Closed"),
    "withdrawn": ("已撤回", "Withdrawn"),
}
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "upheld": ("投诉成立", "Complaint upheld"),
    "partly_upheld": ("投诉部分成立", "Complaint partly upheld"),
    "not_upheld": ("投诉不成立", "Complaint not upheld"),
}
# A review's outcome is about the original decision, not the complaint: "upheld" means the decision stands.
REVIEW_OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "upheld": ("核查维持原处理决定", "Decision upheld on review"),
    "changed": ("核查变更原处理决定", "Decision changed on review"),
}
EVENT_LABELS: dict[str, tuple[str, str]] = {
    "received": ("登记投诉", "Complaint received"),
    "accepted": ("受理", "Accepted"),
    "note": ("调查记录", "Investigation note"),
    "complex": ("认定情况复杂（延长至30日）", "Marked complex (30 days)"),
    "extended": ("审批延期（延长至60日）", "Extension approved (60 days)"),
    "appraisal_started": ("外部鉴定开始（期间不计入）", "External appraisal started (time excluded)"),
    "appraisal_ended": ("外部鉴定结束", "External appraisal ended"),
    "new_facts": ("新事实/新请求，重新计时", "New facts: clock restarted"),
    "withdrawn": ("投诉人撤回", "Withdrawn by the complainant"),
    "decided": ("作出处理决定", "Decided"),
    "review_requested": ("申请核查", "Review requested"),
    "reviewed": ("核查决定", "Review decided"),
    "closed": ("办结", "Closed"),
    "review_window_lapsed": ("核查申请期满，自动办结", "Review window lapsed: closed"),
    "repeat_linked": ("关联重复投诉", "Repeat complaint linked"),
    "escalated_major": ("重大投诉，转专班处理", "Major complaint: special team"),
    "marked_major": ("认定为重大投诉", "Marked as a major complaint"),
    "overdue": ("超期预警", "Overdue warning"),
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


def label(table: dict[str, tuple[str, str]], code: str | None, locale: str) -> str:
    """The zh or en label of a code in one of the label tables (the code itself when unknown)."""
    if code is None:
        return ""
    pair = table.get(code)
    if pair is None:
        return code
    return pair[0] if locale == "zh" else pair[1]


class ComplaintError(Exception):
    """A refused request: HTTP status, the field at fault, and a message naming it."""

    def __init__(self, status: int, field: str, message: str) -> None:
        self.status = status
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


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

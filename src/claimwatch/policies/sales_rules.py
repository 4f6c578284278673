"""The sales-quality rules as data (``defaults/sales/rules.yaml``), validated with file and line, and
their evaluation (pure functions: no database).

A sale is flagged (:class:`claimwatch.policies.models.SaleFlag`) by these rules:

* ``unlicensed_agent``: the agent held no valid licence of the named kind on the day of signing (持证销售);
* ``missing_disclosure``: no 投保提示书 acknowledged on or before the signing day;
* ``missing_recording``: the sale needed a 双录 recording (its channel, the customer's age, a long-term policy
  of a named line) and has none;
* ``cooling_off_rate``: per agent and month, the share of the month's sales cancelled in the cooling-off
  period (犹豫期) is above the threshold, on enough sales;
* ``mis_selling_complaint``: a complaint of a named category from the sale's customer, or linked by staff.

Other domains flag sales with their own codes (:data:`EXTERNAL_RULES`: the revisit's ``revisit_misled``).
An insurer's own file replaces the bundled one whole (``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/sales_rules/<TENANT>.yaml``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from claimwatch.audit.hashing import sha256_hex
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.web.i18n import N_
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

RULES_FILE = PACKAGE_DIR / "defaults" / "sales" / "rules.yaml"
OVERRIDES_SUBDIR = "sales_rules"
UNLICENSED, DISCLOSURE, RECORDING = "unlicensed_agent", "missing_disclosure", "missing_recording"
COOLING_OFF, MIS_SELLING = "cooling_off_rate", "mis_selling_complaint"
RULES = (UNLICENSED, DISCLOSURE, RECORDING, COOLING_OFF, MIS_SELLING)
# Flags raised by other domains through sales.flag_sale (h6's revisit: a misled customer).
REVISIT_MISLED = "revisit_misled"
EXTERNAL_RULES = (REVISIT_MISLED,)
ALL_RULES = RULES + EXTERNAL_RULES
RULE_LABELS = {
    UNLICENSED: N_("Agent without a valid licence"),
    DISCLOSURE: N_("Missing disclosure"),
    RECORDING: N_("Missing recorded sale"),
    COOLING_OFF: N_("Cooling-off cancellations above threshold"),
    MIS_SELLING: N_("Mis-selling complaint"),
    REVISIT_MISLED: N_("Misled customer at revisit"),
}
LICENCE_KINDS = ("sales", "claims_adjuster", "underwriter", "other")
_TOP_KEYS = {"version", "channels", "lines", "rules"}
_RULE_KEYS: dict[str, set[str]] = {
    UNLICENSED: {"enabled", "licence_kind"},
    DISCLOSURE: {"enabled", "channels"},
    RECORDING: {"enabled", "channels", "customer_age_at_least", "long_term_lines"},
    COOLING_OFF: {"enabled", "rate_above", "min_sales"},
    MIS_SELLING: {"enabled", "categories", "within_days"},
}


class SalesRulesError(ConfigFileError):
    pass


@dataclass(frozen=True)
class SalesRules:
    version: str
    channels: tuple[str, ...]
    lines: tuple[str, ...]
    enabled: frozenset[str]
    licence_kind: str = "sales"
    disclosure_channels: frozenset[str] = frozenset()
    recording_channels: frozenset[str] = frozenset()
    recording_age: int | None = None
    recording_long_term_lines: frozenset[str] = frozenset()
    cooling_off_rate: float = 0.1
    cooling_off_min_sales: int = 10
    complaint_categories: frozenset[str] = frozenset({"sales"})
    complaint_within_days: int = 730
    digest: str = ""
    source: str = ""

    def on(self, rule: str) -> bool:
        return rule in self.enabled


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> SalesRulesError:
    return SalesRulesError(source, line_of(node, key), problem)


def _codes(source: str, node: Mapping, key: str, known: tuple[str, ...] | None = None) -> tuple[str, ...]:
    value = node.get(key)
    if not isinstance(value, Sequence) or not value:
        raise _fail(source, node, f"'{key}' is a non-empty list", key)
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > 32:
            raise _fail(source, node, f"each of '{key}' is a code of at most 32 characters, not {item!r}", key)
        if known is not None and item not in known:
            raise _fail(source, node, f"unknown {key[:-1]} {item!r} in '{key}' (known: {', '.join(known)})", key)
    if len(set(value)) != len(value):
        raise _fail(source, node, f"'{key}' repeats a value", key)
    return tuple(str(item) for item in value)


def _number(source: str, node: Mapping, key: str, low: float, high: float, *, whole: bool) -> float:
    value = node.get(key)
    allowed = isinstance(value, int) if whole else isinstance(value, int | float)
    if isinstance(value, bool) or not isinstance(value, int | float) or not allowed or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise _fail(source, node, f"'{key}' is {kind} from {low:g} to {high:g}, not {value!r}", key)
    return float(value)


def parse(text: str, source: str, categories: tuple[str, ...] | None = None) -> SalesRules:
    """A sales-rule file; every error names ``source:line``. ``categories``: the complaint categories known
    (None: not checked)."""
    doc = load_yaml(text, source, SalesRulesError)
    if not isinstance(doc, Mapping):
        raise SalesRulesError(source, 1, "a sales-rule file is a mapping (version, channels, lines, rules)")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(source, doc, f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})", key)
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, str | int | float) or not str(version).strip():
        raise _fail(source, doc, "'version' is required (e.g. \"2026.12-1\")", "version")
    channels = _codes(source, doc, "channels")
    lines = _codes(source, doc, "lines")
    rules = doc.get("rules")
    if not isinstance(rules, Mapping) or not rules:
        raise _fail(source, doc, f"'rules' is a mapping of rules (known: {', '.join(RULES)})", "rules")
    values: dict[str, Any] = {}
    enabled: set[str] = set()
    for code, node in rules.items():
        if code not in _RULE_KEYS:
            raise _fail(source, rules, f"unknown rule {code!r} (known: {', '.join(RULES)})", code)
        if not isinstance(node, Mapping):
            raise _fail(source, rules, f"rule {code!r} is a mapping ({', '.join(sorted(_RULE_KEYS[code]))})", code)
        for key in node:
            if key not in _RULE_KEYS[code]:
                known = ", ".join(sorted(_RULE_KEYS[code]))
                raise _fail(source, node, f"unknown key {key!r} in rule {code!r} (known: {known})", key)
        on = node.get("enabled", True)
        if not isinstance(on, bool):
            raise _fail(source, node, "'enabled' is true or false", "enabled")
        if on:
            enabled.add(code)
        if code == UNLICENSED:
            kind = node.get("licence_kind", "sales")
            if kind not in LICENCE_KINDS:
                raise _fail(source, node, f"'licence_kind' is one of {', '.join(LICENCE_KINDS)}", "licence_kind")
            values["licence_kind"] = kind
        elif code == DISCLOSURE:
            values["disclosure_channels"] = frozenset(_codes(source, node, "channels", channels))
        elif code == RECORDING:
            if "channels" in node:
                values["recording_channels"] = frozenset(_codes(source, node, "channels", channels))
            if "customer_age_at_least" in node:
                age = _number(source, node, "customer_age_at_least", 18, 120, whole=True)
                values["recording_age"] = int(age)
            if "long_term_lines" in node:
                values["recording_long_term_lines"] = frozenset(_codes(source, node, "long_term_lines", lines))
            if not ({"channels", "customer_age_at_least", "long_term_lines"} & set(node)):
                raise _fail(source, node, "say when a recording is required: channels, customer_age_at_least "
                            "and/or long_term_lines", "enabled")  # fmt: skip
        elif code == COOLING_OFF:
            values["cooling_off_rate"] = _number(source, node, "rate_above", 0, 1, whole=False)
            values["cooling_off_min_sales"] = int(_number(source, node, "min_sales", 1, 100_000, whole=True))
        elif code == MIS_SELLING:
            values["complaint_categories"] = frozenset(_codes(source, node, "categories", categories))
            values["complaint_within_days"] = int(_number(source, node, "within_days", 1, 3650, whole=True))
    return SalesRules(
        version=str(version).strip(),
        channels=channels,
        lines=lines,
        enabled=frozenset(enabled),
        digest=sha256_hex(text),
        source=source,
        **values,
    )


def _complaint_categories() -> tuple[str, ...] | None:
    from claimwatch.complaints.vocabulary import categories

    return tuple(categories())


@lru_cache
def base_rules() -> SalesRules:
    return parse(RULES_FILE.read_text(encoding="utf-8"), str(RULES_FILE), _complaint_categories())


@lru_cache(maxsize=64)
def _cached(path: Path, _mtime: int) -> SalesRules:
    return parse(path.read_text(encoding="utf-8"), str(path), _complaint_categories())


def rules_for(tenant_code: str | None) -> SalesRules:
    """The insurer's own file when it has one, else the bundled one."""
    path = tenant_override(OVERRIDES_SUBDIR, tenant_code)
    return _cached(path, path.stat().st_mtime_ns) if path is not None else base_rules()


# -- evaluation (pure) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaleFacts:
    """What the per-sale rules read of a sale. ``agent_licensed``: a valid licence on the signing day."""

    channel: str
    line: str
    long_term: bool
    customer_age: int | None
    signed_on: dt.date
    disclosure_signed_on: dt.date | None
    recorded: bool
    agent_licensed: bool


def recording_reasons(facts: SaleFacts, rules: SalesRules) -> list[str]:
    """Why the sale needs a 双录 recording (empty: it does not): channel, age, long_term."""
    found = []
    if facts.channel in rules.recording_channels:
        found.append("channel")
    if rules.recording_age is not None and facts.customer_age is not None and facts.customer_age >= rules.recording_age:
        found.append("age")
    if facts.long_term and facts.line in rules.recording_long_term_lines:
        found.append("long_term")
    return found


def sale_findings(facts: SaleFacts, rules: SalesRules) -> list[tuple[str, dict[str, Any]]]:
    """The per-sale rules that fire, each with the figures that fired it."""
    fired: list[tuple[str, dict[str, Any]]] = []
    if rules.on(UNLICENSED) and not facts.agent_licensed:
        fired.append((UNLICENSED, {"licence_kind": rules.licence_kind, "signed_on": facts.signed_on.isoformat()}))
    if rules.on(DISCLOSURE) and facts.channel in rules.disclosure_channels:
        signed = facts.disclosure_signed_on
        if signed is None or signed > facts.signed_on:
            fired.append(
                (DISCLOSURE, {"disclosure_signed_on": signed.isoformat() if signed else None,
                              "signed_on": facts.signed_on.isoformat()})
            )  # fmt: skip
    if rules.on(RECORDING) and not facts.recorded:
        reasons = recording_reasons(facts, rules)
        if reasons:
            fired.append((RECORDING, {"required_by": reasons}))
    return fired


def cooling_off_fires(sales: int, cancelled: int, rules: SalesRules) -> bool:
    """An agent's month: enough sales, and the cooling-off cancellation share above the threshold."""
    if not rules.on(COOLING_OFF) or sales < rules.cooling_off_min_sales or sales == 0:
        return False
    return cancelled / sales > rules.cooling_off_rate


def in_cooling_off(signed_on: dt.date, cooling_off_days: int, cancelled_on: dt.date) -> bool:
    """A cancellation on or before the last day of the cooling-off period (signing day + days)."""
    return cancelled_on <= signed_on + dt.timedelta(days=cooling_off_days)

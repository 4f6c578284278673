"""The service-request vocabulary an insurer configures (``defaults/servicedesk/categories.yaml``): categories with
their zh/en labels, the team that handles each, its resolution target (hours, or working days on the tenant's
calendar) and the resolution codes a handler closes it with; the priorities (normal | urgent | emergency) and the
teams with their labels. An insurer may replace the file whole
(``<policy_overrides_dir>/servicedesk/categories/<TENANT>.yaml``). A bad file names ``file:line``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.calendar.workdays import Unit
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.yaml_source import ConfigFileError, Mapping, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_FILE = PACKAGE_DIR / "defaults" / "servicedesk" / "categories.yaml"
OVERRIDES_SUBDIR = Path("servicedesk") / "categories"
PRIORITIES = ("normal", "urgent", "emergency")  # the clocks know these three (service_levels.yaml)
UNITS = tuple(unit.value for unit in Unit)  # hours, business_hours, calendar_days, working_days
_CODE_MAX = 32


@dataclass(frozen=True)
class Label:
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
    team: str
    resolution_value: float
    resolution_unit: str  # hours | business_hours | calendar_days | working_days (calendar.workdays.Unit)
    resolution_codes: dict[str, Label]

    def label(self, locale: str) -> str:
        return self.zh if locale == "zh" else self.en


@dataclass(frozen=True)
class Catalogue:
    categories: dict[str, Category]
    priorities: dict[str, Label]
    teams: dict[str, Label]
    source: str

    def category_label(self, code: str | None, locale: str) -> str:
        found = self.categories.get(code or "")
        return found.label(locale) if found else (code or "")

    def priority_label(self, code: str | None, locale: str) -> str:
        found = self.priorities.get(code or "")
        return found.label(locale) if found else (code or "")

    def team_label(self, code: str | None, locale: str) -> str:
        found = self.teams.get(code or "")
        return found.label(locale) if found else (code or "")

    def resolution_label(self, category: str, code: str | None, locale: str) -> str:
        found = self.categories.get(category)
        item = found.resolution_codes.get(code or "") if found else None
        return item.label(locale) if item else (code or "")


def _labels(node: Any, source: str, what: str) -> dict[str, Label]:
    if not isinstance(node, Mapping) or not node:
        raise ConfigFileError(source, line_of(node), f"{what} is a non-empty mapping of code -> {{zh, en}}")
    found: dict[str, Label] = {}
    for code, item in node.items():
        line = line_of(node, str(code))
        if not isinstance(code, str) or not code or len(code) > _CODE_MAX:
            raise ConfigFileError(source, line, f"{what}: code {code!r} must be text of at most {_CODE_MAX}")
        if (
            not isinstance(item, Mapping)
            or set(item) != {"zh", "en"}
            or not all(isinstance(item[k], str) and item[k].strip() for k in ("zh", "en"))
        ):
            raise ConfigFileError(source, line, f"{what} {code!r} needs exactly zh and en labels")
        found[code] = Label(code, item["zh"], item["en"])
    return found


def _resolution(node: Any, source: str, code: str, line: int | None) -> tuple[float, str]:
    if not isinstance(node, Mapping) or len(node) != 1 or next(iter(node)) not in UNITS:
        raise ConfigFileError(source, line, f"category {code!r}: resolution is {{UNIT: N}} (UNIT: {', '.join(UNITS)})")
    unit, value = next(iter(node.items()))
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 24 * 366:
        raise ConfigFileError(source, line_of(node, unit), f"category {code!r}: resolution {unit} must be above 0")
    return float(value), unit


def parse(text: str, source: str) -> Catalogue:
    """Parse and validate a categories file; :class:`ConfigFileError` names ``file:line``."""
    doc = load_yaml(text, source, ConfigFileError)
    if not isinstance(doc, Mapping) or set(doc) != {"priorities", "teams", "categories"}:
        raise ConfigFileError(source, 1, "a categories file has exactly the keys priorities, teams and categories")
    priorities = _labels(doc["priorities"], source, "priorities")
    for code in priorities:
        if code not in PRIORITIES:
            raise ConfigFileError(
                source, line_of(doc["priorities"], code), f"unknown priority {code!r} (known: {', '.join(PRIORITIES)})"
            )
    if "normal" not in priorities:
        raise ConfigFileError(source, line_of(doc, "priorities"), "the priority 'normal' is required")
    teams = _labels(doc["teams"], source, "teams")
    nodes = doc["categories"]
    if not isinstance(nodes, Mapping) or not nodes:
        raise ConfigFileError(source, line_of(doc, "categories"), "categories is a non-empty mapping")
    categories: dict[str, Category] = {}
    for code, node in nodes.items():
        line = line_of(nodes, str(code))
        if not isinstance(code, str) or not code or len(code) > _CODE_MAX:
            raise ConfigFileError(source, line, f"category code {code!r} must be text of at most {_CODE_MAX}")
        if not isinstance(node, Mapping):
            raise ConfigFileError(source, line, f"category {code!r} is a mapping")
        unknown = set(node) - {"zh", "en", "team", "resolution", "resolution_codes"}
        if unknown:
            raise ConfigFileError(source, line_of(node, sorted(unknown)[0]), f"unknown key {sorted(unknown)[0]!r}")
        for key in ("zh", "en"):
            if not isinstance(node.get(key), str) or not node[key].strip():
                raise ConfigFileError(source, line_of(node), f"category {code!r} needs its {key} label")
        team = node.get("team")
        if team not in teams:
            raise ConfigFileError(
                source, line_of(node, "team"), f"category {code!r}: unknown team {team!r} (known: {', '.join(teams)})"
            )
        value, unit = _resolution(node.get("resolution"), source, code, line_of(node, "resolution") or line)
        codes = _labels(node.get("resolution_codes"), source, f"category {code!r} resolution_codes")
        categories[code] = Category(code, node["zh"], node["en"], str(team), value, unit, codes)
    return Catalogue(categories, priorities, teams, source)


def load_file(path: Path) -> Catalogue:
    return parse(path.read_text(encoding="utf-8"), str(path))


@lru_cache
def base() -> Catalogue:
    return load_file(DEFAULT_FILE)


@lru_cache(maxsize=64)
def _cached(path: Path, _mtime: int) -> Catalogue:
    return load_file(path)


def load(tenant_code: str | None = None) -> Catalogue:
    """The insurer's own file when it has one, else the bundled one."""
    path = tenant_override(OVERRIDES_SUBDIR, tenant_code)
    return _cached(path, path.stat().st_mtime_ns) if path is not None else base()


def for_tenant(session: Session, tenant_id: int | None) -> Catalogue:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id) if tenant_id is not None else None
    return load(tenant.code if tenant is not None else None)


def resolution_target(session: Session, tenant_id: int, category: str) -> tuple[float, str] | None:
    """(amount, unit) of a category's resolution target for the clocks; None for a category the file lacks."""
    found = for_tenant(session, tenant_id).categories.get(category)
    return (found.resolution_value, found.resolution_unit) if found is not None else None

"""The contract between the report builder and its sections (h5, h6 write sections; h4 runs them).

A section module calls :func:`register` at import time; ``reports/sections/__init__.py`` imports every module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from claimwatch.kpi.engine import Period, Scope
from claimwatch.kpi.service import OpenSnapshot


@dataclass
class ReportContext:
    session: Any  # sqlalchemy.orm.Session
    tenant_id: int | None  # None: the regulator edition, every tenant
    period: Period
    locale: str
    zone: ZoneInfo
    snap: OpenSnapshot
    scope: Scope
    kind: str
    subject_id: int | None
    now: dt.datetime
    tenant_label: str


@dataclass
class Section:
    key: str
    title: str
    template: str  # path under templates/reports/sections/
    data: dict[str, Any]
    charts: dict[str, str] = field(default_factory=dict)  # name → inline SVG text
    level: int = 1
    subsections: list[tuple[str, str]] = field(default_factory=list)  # (anchor, title) for the table of contents


SectionBuilder = Callable[[ReportContext], Section | None]  # None: nothing to report, the section is omitted

_REGISTRY: dict[str, list[tuple[int, SectionBuilder]]] = {}


def register(kind: str, order: int, builder: SectionBuilder) -> None:
    entries = _REGISTRY.setdefault(kind, [])
    entries[:] = [(o, b) for o, b in entries if b is not builder]
    entries.append((order, builder))
    entries.sort(key=lambda entry: entry[0])


def unregister(kind: str, builder: SectionBuilder) -> None:
    """Tests only: take a builder out again."""
    _REGISTRY[kind] = [(o, b) for o, b in _REGISTRY.get(kind, []) if b is not builder]


def builders(kind: str) -> list[SectionBuilder]:
    return [builder for _, builder in _REGISTRY.get(kind, [])]

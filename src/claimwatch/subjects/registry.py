"""The one registry of subject kinds (被检对象): what inspections, rectifications and sanctions may refer to.

A record kind becomes inspectable by declaring a :class:`SubjectKind` in its own domain (e.g.
``cases/inspection_subject.py``) and registering it with :func:`register`; the modules are imported by
:mod:`claimwatch.subject_sources` (at the top of the layers), which this module loads by name on first use,
as the to-do inbox loads ``todo_sources``. So a domain filed later (policies, sales calls, service
requests) plugs in with one module and one import line, without changing the inspections domain.

A kind answers three questions:

* ``population(session, tenant_id, filters, now)``: a SELECT over its records matching a plan's population
  filter, with the labelled columns of :data:`POPULATION_COLUMNS` (``score`` may be a constant 0 for kinds
  without a score). The SELECT is tenant-scoped by the kind (it names ``tenant_id`` so indexes apply).
  Unknown or malformed filter keys raise ``claimwatch.errors.Invalid(field, message)`` naming the key.
* ``describe(session, tenant_id, ids)``: what an inspector sees of each record (number, title, link,
  unit, line, handler) — personal data already masked.
* ``handled_by(session, tenant_id, ids)``: the user ids that handled each record (assignee now or before,
  actors of its events): an inspector is never given a record they handled.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select
from sqlalchemy.orm import Session

from claimwatch.errors import Invalid

# The columns every population SELECT exposes (labels), in this order.
POPULATION_COLUMNS = (
    "subject_id",  # the record's id
    "org_unit_id",  # its org unit (strata, own-unit exclusion, responsibility)
    "line",  # line of business (strata)
    "region_code",
    "handler_id",  # the user currently responsible (nullable)
    "sample_key",  # a uniform random integer in [0, 2**31): the permanent random number drawn on
    "score",  # a number for targeted "top-k by score" plans (0 where the kind has none)
)


@dataclass(frozen=True)
class SubjectRef:
    kind: str
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> SubjectRef:
        kind, _, ident = text.partition(":")
        if not kind or not ident.isdigit():
            raise Invalid("subject", f"{text!r} is not a subject reference (kind:id)")
        return cls(kind, int(ident))


@dataclass(frozen=True)
class SubjectSummary:
    id: int
    number: str  # the record's business number (claim / complaint number)
    title: str  # one line: line of business, amount, status… (masked)
    url: str  # its page
    org_unit_id: int | None = None
    line: str | None = None
    region_code: str | None = None
    handler_id: int | None = None
    occurred_at: dt.datetime | None = None  # reported / received (UTC)


class SubjectKind(Protocol):
    code: str  # "claim", "complaint", …
    label: str  # msgid, e.g. N_("Claim")
    filter_fields: frozenset[str]  # the population filter keys this kind understands

    def population(
        self, session: Session, tenant_id: int, filters: Mapping[str, Any], now: dt.datetime
    ) -> Select[Any]: ...

    def describe(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, SubjectSummary]: ...

    def handled_by(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, set[int]]: ...


_KINDS: dict[str, SubjectKind] = {}
_loaded = False


def register(kind: SubjectKind) -> SubjectKind:
    _KINDS[kind.code] = kind
    return kind


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module("claimwatch.subject_sources")


def kinds() -> dict[str, SubjectKind]:
    _load()
    return dict(_KINDS)


def get(code: str, field: str = "subject_kind") -> SubjectKind:
    _load()
    try:
        return _KINDS[code]
    except KeyError:
        raise Invalid(field, f"unknown subject kind {code!r} (known: {', '.join(sorted(_KINDS))})") from None

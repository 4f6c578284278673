"""The one registry of the to-do inbox (我的待办): each domain contributes a :class:`Source` of work waiting
on a signed-in user; the inbox asks every source that applies to the user's role.

A source is declared in its domain's ``work.py`` and registered with :func:`register`; the modules are
imported by :mod:`claimwatch.todo_sources` (at the top of the layers), which this module loads by name on
first use, as :mod:`claimwatch.reactions` loads the subscriptions. So a domain filed later (inspections,
corrective actions) adds its section with one ``work.py`` and one import line, without touching the inbox.

A source's ``fetch(session, principal, locale, now, limit, offset)`` answers how many items wait and the
page ``[offset, offset + limit)`` of them, in the order they should be worked (nearest deadline, red
first). ``limit=0`` asks for the count only (the navigation badge). The count and the items come from one
filter, so the count equals the length of the full list behind "see all" (``/my/<key>``).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import NotFound

LIGHTS = ("green", "yellow", "red")


@dataclass(frozen=True)
class Action:
    """A one-click action shown beside an item (a POST form): e.g. acknowledge an escalation."""

    url: str
    label: str  # msgid
    field_name: str | None = None  # an optional text field sent with it (e.g. "note")
    field_label: str | None = None  # msgid of the field's placeholder


@dataclass(frozen=True)
class Item:
    """One thing waiting: what it is (``title``), where it is worked (``url``), and why it is urgent."""

    title: str
    url: str
    detail: str = ""
    due_at: dt.datetime | None = None  # UTC; shown in local time
    light: str | None = None  # green | yellow | red
    key: str = ""  # a stable id for tests and anchors (claim number, escalation id…)
    action: Action | None = None


@dataclass(frozen=True)
class Page:
    count: int
    items: list[Item] = field(default_factory=list)


Fetch = Callable[[Session, Principal, str, dt.datetime, int, int], Page]


@dataclass(frozen=True)
class Source:
    key: str  # url-safe: /my/<key>
    label: str  # msgid of the section heading
    permission: Permission  # who sees the section: a permission of the role matrix (auth/principal.py)
    fetch: Fetch
    order: int = 100  # sections sorted by it
    waiting: bool = True  # counts towards the "waiting" total in the header (False: an overview)
    empty: str = ""  # msgid shown when nothing waits
    links: tuple[tuple[str, str], ...] = ()  # (msgid, url): the domain's own pages for this work

    def applies_to(self, principal: Principal) -> bool:
        return principal.can(self.permission)


@dataclass(frozen=True)
class Section:
    source: Source
    count: int
    items: list[Item]

    @property
    def key(self) -> str:
        return self.source.key

    @property
    def label(self) -> str:
        return self.source.label

    @property
    def see_all(self) -> str:
        return f"/my/{self.source.key}"

    @property
    def more(self) -> bool:
        return self.count > len(self.items)


_sources: dict[str, Source] = {}
_loaded = False
WIRING = "claimwatch.todo_sources"


def register(source: Source) -> Source:
    """Adds (or replaces, by key) a source. Idempotent, so a module imported twice registers once."""
    _sources[source.key] = source
    return source


def unregister(key: str) -> None:
    _sources.pop(key, None)


def _load_sources() -> None:
    global _loaded
    if not _loaded:
        # By name: this module sits below every domain that contributes and must not import them.
        importlib.import_module(WIRING)
        _loaded = True


def sources() -> list[Source]:
    _load_sources()
    return sorted(_sources.values(), key=lambda s: (s.order, s.key))


def sources_for(principal: Principal) -> list[Source]:
    return [source for source in sources() if source.applies_to(principal)]


def source(principal: Principal, key: str) -> Source:
    """The source ``key`` if it applies to the caller; otherwise as unknown as a missing one (404)."""
    found = next((s for s in sources_for(principal) if s.key == key), None)
    if found is None:
        raise NotFound("section", f"no to-do list {key!r}")
    return found


def section(
    session: Session,
    principal: Principal,
    key: str,
    locale: str,
    *,
    now: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Section:
    chosen = source(principal, key)
    page = chosen.fetch(session, principal, locale, now or utc_now(), limit, offset)
    return Section(chosen, page.count, page.items)


def inbox(
    session: Session, principal: Principal, locale: str, *, now: dt.datetime | None = None, limit: int = 5
) -> list[Section]:
    """Every section that applies to the caller, each with its count and its first ``limit`` items."""
    moment = now or utc_now()
    found = []
    for chosen in sources_for(principal):
        page = chosen.fetch(session, principal, locale, moment, limit, 0)
        found.append(Section(chosen, page.count, page.items))
    return found


def waiting_total(sections: Iterable[Section]) -> int:
    return sum(s.count for s in sections if s.source.waiting)


def total(session: Session, principal: Principal, *, now: dt.datetime | None = None) -> int:
    """How many items wait on the caller (the badge beside 我的待办): counts only, no items read."""
    moment = now or utc_now()
    return sum(s.fetch(session, principal, "zh", moment, 0, 0).count for s in sources_for(principal) if s.waiting)

"""The registry: sources by permission, counts only for the badge, the overview left out of the total."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import NotFound
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source

ADJUSTER = Principal(role=Role.ADJUSTER, tenant_id=1, actor="user:a", user_id=1)
SUPERVISOR = Principal(role=Role.SUPERVISOR, tenant_id=1, actor="user:s", user_id=2)
calls: list[int] = []


def _fetch(session, principal, locale, now, limit, offset) -> Page:  # type: ignore[no-untyped-def]
    calls.append(limit)
    items = [Item(title=f"x{i}", url=f"/x/{i}", key=str(i)) for i in range(7)]
    return Page(len(items), items[offset : offset + limit])


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Two sources of the adjuster's; the real ones are left out (these tests need no database)."""
    real = registry.sources_for
    monkeypatch.setattr(registry, "sources_for", lambda p: [s for s in real(p) if s.key.startswith("test-")])
    registry.register(Source("test-waiting", "Test", Permission.INBOX_MY_CLAIMS, _fetch, order=-2))
    registry.register(Source("test-overview", "Overview", Permission.INBOX_MY_CLAIMS, _fetch, order=-1, waiting=False))
    calls.clear()
    yield
    registry.unregister("test-waiting")
    registry.unregister("test-overview")


def test_the_wiring_registers_every_domain_section():
    keys = {source.key for source in registry.sources()}
    assert {
        "claims",
        "escalations",
        "filings",
        "insurers",
        "complaints",
        "unassigned-complaints",
        "red-kpis",
        "alerts",
        "low-scores",
        "dead-letters",
        "inspections",
        "inspection-reviews",
        "rectifications",
        "rectifications-acceptance",
        "sanctions",
    } <= keys


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.ADJUSTER, ["claims", "provider-tasks", "rectifications", "actions"]),
        (
            Role.SUPERVISOR,
            [
                "escalations",
                "provider-tasks",
                "service-requests",
                "service-requests-unassigned",
                "rectifications",
                "actions",
                "actions-overdue",
                "risk-reviews",
                "kb-review",
            ],
        ),
        (
            Role.COMPLAINT_HANDLER,
            [
                "complaints",
                "unassigned-complaints",
                "service-requests",
                "service-requests-unassigned",
                "rectifications",
                "revisits",
                "actions",
            ],
        ),
        (
            Role.QUALITY_MANAGER,
            [
                "red-kpis",
                "alerts",
                "committee",
                "rectifications",
                "rectifications-acceptance",
                "actions",
                "actions-overdue",
                "licences-expiring",
                "sanctions",
                "training-overdue",
                "kb-review",
            ],
        ),
        (Role.INSPECTOR, ["inspections", "inspection-reviews", "low-scores", "actions", "risk-reviews"]),
        (Role.ADMIN, ["dead-letters", "actions-overdue", "licences-expiring", "training-overdue"]),
        (Role.UNDERWRITER, ["underwriting", "underwriting-unassigned"]),
        (Role.REGULATOR, ["filings", "evidence-alarms", "insurers", "rating-objections"]),
        (Role.INTEGRATION, []),
    ],
)
def test_each_role_gets_its_own_sections(role: Role, expected: list[str]):
    principal = Principal(role=role, tenant_id=None if role is Role.REGULATOR else 1, actor="user:x", user_id=9)
    assert [source.key for source in registry.sources_for(principal)] == expected


def test_sections_in_order_with_counts_and_first_items(fake: None):
    sections = registry.inbox(None, ADJUSTER, "zh", limit=3)  # type: ignore[arg-type]
    test_sections = sections
    assert [s.key for s in test_sections] == ["test-waiting", "test-overview"]
    first = test_sections[0]
    assert first.count == 7 and [i.key for i in first.items] == ["0", "1", "2"] and first.more
    assert first.see_all == "/my/test-waiting"
    page = registry.section(None, ADJUSTER, "test-waiting", "zh", limit=3, offset=6)  # type: ignore[arg-type]
    assert [i.key for i in page.items] == ["6"] and page.count == 7


def test_the_badge_counts_only_waiting_work_and_reads_no_items(fake: None):
    assert registry.total(None, ADJUSTER, now=dt.datetime.now(dt.UTC)) == 7  # type: ignore[arg-type]
    assert calls == [0]  # the overview is not asked; the waiting one for its count only
    sections = registry.inbox(None, ADJUSTER, "zh")  # type: ignore[arg-type]
    assert registry.waiting_total(sections) == 7


def test_a_section_of_another_role_is_unknown(fake: None):
    with pytest.raises(NotFound):
        registry.section(None, SUPERVISOR, "test-waiting", "zh")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        registry.section(None, ADJUSTER, "no-such-section", "zh")  # type: ignore[arg-type]

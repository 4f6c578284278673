"""One claim's clocks are read and written back by the DB-API connection (sla/repository.py: claim_clock_states,
the driver UPDATE of a few clocks) with the values and stored text the Core statements give, on SQLite and
PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.sla import engine, repository
from tests.factories import reported, transition
from tests.sla.helpers import post_events

# Every instant column of the clocks, as stored (SQLite: text; PostgreSQL: rendered in UTC by the query).
_STORED = (
    "SELECT id, unit, yellow_budget, red_budget, extended, consumed, state, light, outcome,"
    " CAST(started_at AS TEXT), CAST(anchor_at AS TEXT), CAST(running_since AS TEXT), CAST(paused_since AS TEXT),"
    " CAST(suspended_since AS TEXT), CAST(stopped_at AS TEXT), CAST(yellow_due_at AS TEXT),"
    " CAST(red_due_at AS TEXT), CAST(breached_at AS TEXT), missed_by, calendar_gap, CAST(next_check_at AS TEXT),"
    " escalated, CAST(updated_at AS TEXT) FROM sla_clocks WHERE claim_id = :c ORDER BY id"
)


def _claims(client: Any, tenant: Any) -> dict[str, int]:
    """Two claims with running, paused and stopped clocks (instants set and unset)."""
    post_events(
        client,
        tenant.api_key,
        [
            reported("r1", "K-1", org_code=tenant.branch_code, amount="3000"),
            transition("a1", "K-1", "accepted", hours=1),
            transition("i1", "K-1", "initial_review", hours=2),
            transition("w1", "K-1", "awaiting_materials", hours=3),
            reported("r2", "K-2", org_code=tenant.branch_code, amount="90000"),
        ],
    )
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        rows = session.execute(text("SELECT number, id FROM claims WHERE tenant_id = :t"), {"t": tenant.id})
        return {number: claim_id for number, claim_id in rows}


def _core_states(session: Any, tenant_id: int, claim_ids: list[int], claim_id: int) -> list[engine.ClockState]:
    """The Core read (several claims) of one claim's clocks."""
    states = [s for s in repository.clock_states(session, tenant_id, claim_ids) if s.claim_id == claim_id]
    return sorted(states, key=lambda s: s.id or 0)


def test_one_claims_clocks_read_by_the_driver_are_the_core_read(client: Any, world: Any) -> None:
    tenant, other = world.tenant("KA"), world.tenant("KB")
    ids = _claims(client, tenant)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        for claim_id in ids.values():
            driver = sorted(repository.claim_clock_states(session, tenant.id, claim_id), key=lambda s: s.id or 0)
            core = _core_states(session, tenant.id, sorted(ids.values()), claim_id)
            assert driver == core and len(driver) >= 3
            for state in driver:
                for field in dataclasses.fields(state):
                    value = getattr(state, field.name)
                    assert type(value) is type(getattr(core[driver.index(state)], field.name))
                    if isinstance(value, dt.datetime):
                        assert value.utcoffset() == dt.timedelta(0)
            # clock_states of one claim takes the driver path.
            assert sorted(repository.clock_states(session, tenant.id, [claim_id]), key=lambda s: s.id or 0) == driver
        states = [
            *repository.claim_clock_states(session, tenant.id, ids["K-1"]),
            *repository.claim_clock_states(session, tenant.id, ids["K-2"]),
        ]
        assert {s.state for s in states} >= {engine.RUNNING, engine.PAUSED, engine.STOPPED}
        assert any(s.paused_since is not None for s in states) and any(s.stopped_at is not None for s in states)
        assert any(s.running_since is None for s in states) and any(s.yellow_due_at is not None for s in states)
    with unit_of_work(TenantContext.for_tenant(other.id)) as session:
        assert repository.claim_clock_states(session, other.id, ids["K-1"]) == []


def _changed(states: list[engine.ClockState], at: dt.datetime) -> list[engine.ClockState]:
    """Every clock changed in every updatable column kind: a float, an instant set, one cleared, an int."""
    out = []
    for state in states:
        copy = dataclasses.replace(state)
        copy.consumed += 1234.5
        copy.light = engine.YELLOW
        copy.breached_at = at
        copy.next_check_at = None
        copy.escalated = 1
        copy.updated_at = at
        out.append(copy)
    return out


def test_a_few_clocks_written_by_the_driver_are_stored_as_the_core_update_stores_them(
    client: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = world.tenant("KA")
    ids = _claims(client, tenant)
    at = dt.datetime(2026, 11, 3, 4, 5, 6, 789, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    before: dict[str, list[tuple[Any, ...]]] = {}
    after: dict[str, list[tuple[Any, ...]]] = {}
    for number, limit in (("K-1", repository.DRIVER_UPDATE_MAX), ("K-2", 0)):  # the driver path, then Core
        monkeypatch.setattr(repository, "DRIVER_UPDATE_MAX", limit)
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            before[number] = [tuple(row[1:]) for row in session.execute(text(_STORED), {"c": ids[number]})]
            states = _changed(repository.claim_clock_states(session, tenant.id, ids[number]), at)
            repository.update_clock_states(session, states)
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            again = sorted(repository.claim_clock_states(session, tenant.id, ids[number]), key=lambda s: s.id or 0)
            assert again == sorted(states, key=lambda s: s.id or 0)
            after[number] = [tuple(row[1:]) for row in session.execute(text(_STORED), {"c": ids[number]})]
    # Columns: 4 consumed, 6 light, 16 breached_at, 19 next_check_at, 20 escalated, 21 updated_at were changed.
    changed = {4, 6, 16, 19, 20, 21}
    for number in ("K-1", "K-2"):
        for old, new in zip(before[number], after[number], strict=True):
            # What was not changed is stored as it was (the instants' text too), by either path.
            assert [v for k, v in enumerate(old) if k not in changed] == [
                v for k, v in enumerate(new) if k not in changed
            ]
            assert new[4] == pytest.approx(old[4] + 1234.5)
    # The values set are stored as the same text by either path.
    assert {tuple(row[k] for k in sorted(changed - {4})) for number in after for row in after[number]} == {
        tuple(after["K-2"][0][k] for k in sorted(changed - {4}))
    }
    assert after["K-1"][0][16] is not None and after["K-1"][0][19] is None


def test_a_naive_instant_is_refused_by_the_driver_update(client: Any, world: Any) -> None:
    tenant = world.tenant("KA")
    ids = _claims(client, tenant)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        states = repository.claim_clock_states(session, tenant.id, ids["K-1"])
        states[0].updated_at = dt.datetime(2026, 11, 3, 4, 5, 6)  # noqa: DTZ001 - the naive value refused
        with pytest.raises(ValueError, match="naive"):
            repository.update_clock_states(session, states[:1])

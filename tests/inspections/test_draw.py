"""inspections.draw: the SQL draw equals the PRN definition exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from typing import Any

import pytest
from sqlalchemy import event, insert, literal, select

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid
from claimwatch.inspections import draw as sampling
from claimwatch.subjects.registry import POPULATION_COLUMNS
from claimwatch.tenancy import service as tenancy_service
from tests.factories import reported

M = sampling.KEY_RANGE
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def _population(tenant_id: int) -> Any:  # a Select[Any], as a subject kind returns
    return select(
        Claim.id.label("subject_id"),
        Claim.org_unit_id.label("org_unit_id"),
        Claim.line.label("line"),
        Claim.region_code.label("region_code"),
        Claim.assignee_id.label("handler_id"),
        Claim.sample_key.label("sample_key"),
        Claim.reported_amount_fen.label("score"),
    ).where(Claim.tenant_id == tenant_id)


@pytest.fixture
def claims(world) -> dict[str, Any]:
    """~3000 claims over org × line strata of many, 2 and 1 records; a third of the keys tied, some keys
    at both ends of the key range (the wrap-around); one claim without an org unit."""
    tenant = world.tenant()
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        b2 = tenancy_service.add_org_unit(
            session, tenant_id=tenant.id, code="ACME-B2", name="上海分公司", parent_code="ACME-HQ", region_code="310000"
        ).id
    rng = random.Random(13)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        from claimwatch.tenancy.models import OrgUnit

        units = dict(session.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.tenant_id == tenant.id)).all())
        hq, b1 = units["ACME-HQ"], units["ACME-B1"]
        tied = [rng.randrange(M) for _ in range(150)]
        rows: list[dict[str, Any]] = []

        def add(org: int | None, line: str, region: str, key: int) -> None:
            n = len(rows)
            rows.append(
                {
                    "tenant_id": tenant.id,
                    "number": f"C{n:05d}",
                    "org_unit_id": org,
                    "region_code": region,
                    "line": line,
                    "policy_number": f"P{n}",
                    "claimant_name": "张三",
                    "reported_amount_fen": rng.choice([100, 200, 300, 5000, rng.randrange(10**6)]),
                    "status": "reported",
                    "reported_at": NOW,
                    "status_changed_at": NOW,
                    "sample_key": key,
                }
            )

        for _ in range(2990):
            org = rng.choices([hq, b1, b2], [5, 3, 2])[0]
            line = rng.choices(["motor", "medical", "accident"], [6, 3, 1])[0]
            roll = rng.random()
            key = (
                rng.choice(tied)
                if roll < 0.33
                else rng.choice([0, 1, M - 2, M - 1])
                if roll < 0.35
                else rng.randrange(M)
            )
            add(org, line, rng.choice(["440000", "310000"]), key)
        add(b2, "property", "310000", rng.randrange(M))  # a stratum of one
        add(hq, "property", "440000", rng.randrange(M))  # a stratum of two, tied keys
        add(hq, "property", "440000", rows[-1]["sample_key"])
        add(None, "motor", "440000", 5)  # no org unit: its own stratum
        session.execute(insert(Claim), rows)
    return {"tenant": tenant.id, "units": (hq, b1, b2)}


def _stored(tenant_id: int) -> list[dict[str, Any]]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return [dict(row) for row in session.execute(_population(tenant_id)).mappings()]


def _naive(
    rows: list[dict[str, Any]], by: tuple[str, ...], sizes: dict[tuple[Any, ...], int], seed: int
) -> dict[tuple[Any, ...], list[int]]:
    """The definition: every rotated key computed in Python; per stratum the n smallest (ties by id)."""
    strata: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        strata[tuple(row[name] for name in by)].append(row)
    return {
        key: [
            row["subject_id"]
            for row in sorted(
                strata.get(key, []), key=lambda r: (sampling.rotated_key(r["sample_key"], seed), r["subject_id"])
            )[:n]
        ]
        for key, n in sizes.items()
    }


def _proportional(counts: dict[tuple[Any, ...], int], share: float) -> dict[tuple[Any, ...], int]:
    return {key: max(1, round(n * share)) for key, n in counts.items()}


def test_draw_equals_the_definition(claims: dict[str, Any]) -> None:
    tenant_id = claims["tenant"]
    rows = _stored(tenant_id)
    population = _population(tenant_id)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(statement)

    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        engine = session.get_bind()
        counts = sampling.count_strata(session, population, ("org_unit_id", "line"))
        expected_counts = Counter((r["org_unit_id"], r["line"]) for r in rows)
        assert counts == dict(expected_counts)
        sizes_of = Counter(counts.values())
        assert sizes_of[1] >= 2 and sizes_of[2] == 1 and counts[(None, "motor")] == 1
        assert sampling.count_strata(session, population, ()) == {(): len(rows)}

        cases = [
            (("org_unit_id", "line"), _proportional(counts, 0.05)),
            (("org_unit_id", "line"), _proportional(counts, 0.3)),
            (("org_unit_id", "line"), dict(counts)),  # sizes equal to N_h: everything
            (("org_unit_id", "line"), {key: n + 5 for key, n in counts.items()}),  # more than there is
            (("line",), {("motor",): 40, ("medical",): 0, ("property",): 2, ("nope",): 3}),
            ((), {(): 25}),
            (
                ("org_unit_id", "line", "region_code"),
                {(None, "motor", "440000"): 1, (claims["units"][0], "motor", "310000"): 17},
            ),
        ]
        for seed in (0, 1, 20261130, 2**62 + 7, -5):
            for by, sizes in cases:
                got = sampling.draw(session, population, by, sizes, seed)
                want = _naive(rows, by, sizes, seed)
                assert {key: [r["subject_id"] for r in picked] for key, picked in got.items()} == want, (seed, by)
                for picked in got.values():
                    for row in picked:
                        assert tuple(row.keys()) == POPULATION_COLUMNS

        # Counts only steer the work: inflated counts make every stratum fall short of the shared threshold,
        # so each is drawn by its exact query — with the same answer.
        sizes = _proportional(counts, 0.1)
        lying = {key: n * 50 for key, n in counts.items()}
        assert {
            k: [r["subject_id"] for r in v]
            for k, v in sampling.draw(session, population, ("org_unit_id", "line"), sizes, 42, counts=lying).items()
        } == _naive(rows, ("org_unit_id", "line"), sizes, 42)

        # The fast path: one or two range scans for the big strata, one query per tiny stratum.
        tiny = sum(1 for n in counts.values() if n <= 2)
        event.listen(engine, "before_cursor_execute", seen)
        try:
            sampling.draw(session, population, ("org_unit_id", "line"), sizes, 7, counts=counts)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert 1 <= len(statements) <= 2 + 2 * tiny, statements

    # Sequential SRS with PRNs (Ohlsson): with the stored keys fixed, a seed picks a starting point on the key
    # circle, so the samples of 2 out of 20 are runs of 2 neighbours in key order; seeds differ, and one seed
    # always gives the same sample. (The SRS property comes from the keys being i.i.d. uniform, not the seed.)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        distinct = {r["sample_key"]: r["subject_id"] for r in rows if 10 < r["sample_key"] < M - 10}
        twenty = sorted(distinct.values())[:20]
        circle = [i for _, i in sorted((k, i) for k, i in distinct.items() if i in twenty)]
        runs = {frozenset((circle[j], circle[(j + 1) % 20])) for j in range(20)}
        small = _population(tenant_id).where(Claim.id.in_(twenty))
        samples = {
            frozenset(r["subject_id"] for r in sampling.draw(session, small, (), {(): 2}, seed)[()])
            for seed in range(100)
        }
        again = sampling.draw(session, small, (), {(): 2}, 3)[()]
        assert again == sampling.draw(session, small, (), {(): 2}, 3)[()]
    assert samples <= runs and len(samples) >= 8


def test_bad_dimensions_and_sizes() -> None:
    """Refused before the database is asked anything (no session needed)."""
    population = _population(1)
    session: Any = None
    for by, sizes in ((("handler_id",), {}), (("line", "line"), {}), (("line",), {("motor", "x"): 1})):
        with pytest.raises(Invalid) as error:
            sampling.draw(session, population, by, sizes, 1)
        assert error.value.field == "strata"
    with pytest.raises(Invalid) as error:
        sampling.draw(session, population, ("line",), {("motor",): -1}, 1)
    assert error.value.field == "size"
    with pytest.raises(Invalid):
        sampling.count_strata(session, population, ("claimant_name",))


def test_top_by_score_and_hashed_keys(claims: dict[str, Any]) -> None:
    tenant_id = claims["tenant"]
    rows = _stored(tenant_id)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        top = sampling.top_by_score(session, _population(tenant_id), 60)
        want = sorted(rows, key=lambda r: (-r["score"], r["sample_key"], r["subject_id"]))[:60]
        assert [r["subject_id"] for r in top] == [r["subject_id"] for r in want]
        assert sampling.top_by_score(session, _population(tenant_id), 0) == []

        # The hashed key: the same number on both databases as in Python, for small and large ids.
        ids = [r["subject_id"] for r in rows] + [2**31 - 2, 2**31 + 5, 10**12 + 3]
        keyed = select(Claim.id, sampling.hashed_sample_key(Claim.id)).where(Claim.tenant_id == tenant_id)
        for claim_id, key in session.execute(keyed):
            assert key == sampling.hashed_sample_key_value(claim_id)
        for big in ids[-3:]:
            value = session.execute(select(sampling.hashed_sample_key(literal(big)))).scalar_one()
            assert value == sampling.hashed_sample_key_value(big)

    # Well mixed: consecutive ids spread evenly over the key range and over their low bits, with no
    # correlation between neighbours (a Weyl sequence a·id mod m fails the neighbour test).
    keys = [sampling.hashed_sample_key_value(i) for i in range(1, 20_001)]
    assert len(set(keys)) == len(keys) and all(0 <= k < M for k in keys)
    for buckets in (Counter(k * 50 // M for k in keys), Counter(k % 64 for k in keys)):
        expected = len(keys) / len(buckets)
        chi2 = sum((n - expected) ** 2 / expected for n in buckets.values())
        assert chi2 < 2.0 * len(buckets), chi2
    mean = sum(keys) / len(keys)
    cov = sum((a - mean) * (b - mean) for a, b in zip(keys, keys[1:], strict=False)) / len(keys)
    var = sum((k - mean) ** 2 for k in keys) / len(keys)
    assert abs(cov / var) < 0.03
    steps = Counter((b - a) % M for a, b in zip(keys, keys[1:], strict=False))
    assert steps.most_common(1)[0][1] <= 2


def test_ingest_gives_every_claim_its_own_key(world: Any) -> None:
    tenant = world.tenant()
    principal = Principal(role=Role.INTEGRATION, tenant_id=tenant.id, actor="test")
    events = [EventIn.model_validate(reported(f"e{n}", f"K{n:03d}")) for n in range(40)]
    with unit_of_work(principal.context()) as session:
        cases_service.ingest_events(session, principal, events)
    with unit_of_work(principal.context()) as session:
        keys = list(session.execute(select(Claim.sample_key).where(Claim.tenant_id == tenant.id)).scalars())
    assert len(keys) == 40 and len(set(keys)) == 40 and all(0 <= k < M for k in keys)

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.config import get_settings
from claimwatch.kpi import loader, snapshot
from claimwatch.sla import jobs
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.kpi.helpers import close, ingest, local, report, steps
from tests.snapshots import Snapshot

BASE = local(2026, 11, 2, 9, 0)
SNAPSHOT_AT = local(2026, 11, 5, 10, 1)


@pytest.fixture(autouse=True)
def snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every KPI test writes its Parquet snapshot under its own temporary directory."""
    path = tmp_path / "snapshot"
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())


@dataclass(frozen=True)
class KpiWorld:
    acme: TenantHandle
    bbb: TenantHandle
    quality: str  # ACME quality manager
    supervisor: str  # ACME
    adjuster: str  # ACME
    bbb_quality: str
    regulator: str


def _materials(client: TestClient, tenant: TenantHandle, number: str, *notices: dict) -> None:  # type: ignore[type-arg]
    headers = {"X-API-Key": tenant.api_key}
    response = client.put(
        f"/api/v1/claims/{number}/materials/profile",
        json={"claim_type": "vehicle_damage", "facts": []},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    for notice in notices:
        facts = notice.pop("facts", None)
        if facts is not None:
            response = client.put(
                f"/api/v1/claims/{number}/materials/profile",
                json={"claim_type": "vehicle_damage", "facts": facts},
                headers=headers,
            )
            assert response.status_code == 200, response.text
        response = client.post(f"/api/v1/claims/{number}/materials/notices", json=notice, headers=headers)
        assert response.status_code == 201, response.text


@pytest.fixture
def kpi_world(world: World, client: TestClient, db_snapshot: Snapshot) -> KpiWorld:
    return db_snapshot("kpi.kpi_world", lambda: build_kpi_world(world, client))


def build_kpi_world(world: World, client: TestClient) -> KpiWorld:
    """ACME (branch ACME-B1 in 440000), reported 2026-11-02 09:00 unless said:
    K0  small, 10-15, closed after 8 h                         (October)
    K1  small, B1, closed after 8 h; 1st notice asks 2 items only, 2nd after a new fact: supplement + violation
    K2  small, B1, closed after 30 h: small clock breached
    K3  small, 310000, no org, open: breached by the sweep of 11-05 10:00, red → a regulator filing
    K4  large (60 000), B1, open; one complete notice (no supplement)
    K5  middle (10 000), 310000, open; a profile, no notice
    BBB: one small open claim (breached, red) that ACME never sees."""
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险", region="310000")
    people = KpiWorld(
        acme=acme,
        bbb=bbb,
        quality=world.user("qian.quality", Role.QUALITY_MANAGER, acme),
        supervisor=world.user("wang.supervisor", Role.SUPERVISOR, acme),
        adjuster=world.user("li.adjuster", Role.ADJUSTER, acme),
        bbb_quality=world.user("zhao.quality", Role.QUALITY_MANAGER, bbb),
        regulator=world.user("cbirc.gd", Role.REGULATOR, None),
    )
    october = local(2026, 10, 15, 9, 0)
    ingest(
        client,
        acme,
        [
            report("k0", "K0", october, org_code=acme.branch_code),
            *close("K0", october, steps(1, 8)),
            report("k1", "K1", BASE, org_code=acme.branch_code),
            report("k2", "K2", BASE, amount="900.00", org_code=acme.branch_code),
            *close("K2", BASE, steps(23, 30)),
            report("k3", "K3", BASE, amount="700.00", region="310000"),
            report("k4", "K4", BASE, amount="60000.00", org_code=acme.branch_code),
            report("k5", "K5", BASE, amount="10000.00", region="310000"),
        ],
    )
    _materials(
        client,
        acme,
        "K1",
        {"items": ["claim_form", "id_proof"], "issued_at": (BASE.replace(minute=20)).isoformat()},
        {"facts": ["injury"], "issued_at": (BASE.replace(minute=40)).isoformat()},
    )
    ingest(client, acme, close("K1", BASE, steps(1, 8)))
    _materials(client, acme, "K4", {"issued_at": BASE.replace(minute=30).isoformat()})
    _materials(client, acme, "K5")
    ingest(client, bbb, [report("b1", "B1", BASE, amount="500.00", region="310000")])
    jobs.sweep(now=local(2026, 11, 5, 10, 0))
    return people


def take() -> snapshot.SnapshotInfo:
    return snapshot.take_snapshot(now=SNAPSHOT_AT)


@pytest.fixture(scope="module")
def module_snapshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("module-snapshot")


@pytest.fixture
def kpi_snapshot(
    kpi_world: KpiWorld, module_snapshot_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> snapshot.SnapshotInfo:
    """The KPI world's snapshot (:func:`take`), taken once per module and database, for tests that only read it:
    every test starts from the same saved world, so its snapshot is the same. The snapshot folder is one per
    database (``snapshot_root``), so the SQLite and PostgreSQL runs of a module keep apart."""
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(module_snapshot_dir))
    get_settings.cache_clear()
    return snapshot.current() or take()


@pytest.fixture(scope="module")
def kpis() -> list[loader.Kpi]:
    """Every catalogue KPI whose data the platform collects."""
    return [kpi for kpi in loader.catalogue() if kpi.available]

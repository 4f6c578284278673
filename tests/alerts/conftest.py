from tests.kpi.conftest import client, snapshot_dir  # noqa: F401 - the same fixtures as the KPI tests

"""KPIs (指标): the catalogue as data, a Parquet snapshot, DuckDB computation, the dashboard and its API, and the
statistical alerts (预警) on the KPI series."""

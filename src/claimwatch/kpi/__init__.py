"""KPIs (指标): the catalogue as data, a Parquet snapshot, DuckDB computation, the dashboard and its API."""

"""Statistical alerts (预警): p-chart limits on KPI rates by region and org unit, per month."""

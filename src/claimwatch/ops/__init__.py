"""Running it for real: one command for web app and worker, readiness, Prometheus metrics, backup and restore."""

#!/usr/bin/env bash
# The whole check: lint, types, and the test suite on SQLite and on a real PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh
if [ -z "${CLAIMWATCH_TEST_PG_URL:-}" ]; then
  CLAIMWATCH_TEST_PG_URL=$(scripts/start-postgres.sh)
  export CLAIMWATCH_TEST_PG_URL
fi
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest -n "${PYTEST_WORKERS:-2}" "$@"

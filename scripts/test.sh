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
# worksteal: a worker that runs out of tests takes some of the other's, so the run does not end on one slow file.
# --durations=15: the slowest tests are printed at the end, so a test that grows is seen.
.venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --dist worksteal --durations=15 "$@"

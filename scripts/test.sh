#!/usr/bin/env bash
# The whole check: lint, types, and the test suite on SQLite and on a real PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
# Python keeps each compiled module, and pytest each assertion-rewritten test module, in __pycache__ (ignored by git).
# With PYTHONDONTWRITEBYTECODE set in the environment nothing is kept, and every process of the run - both workers,
# each CLI and web-app subprocess - compiles the ~3 000 modules it imports and rewrites ~600 test modules again: about
# 30 s of CPU per worker before its first test, 7 s per subprocess (2026-12-07).
unset PYTHONDONTWRITEBYTECODE
scripts/system-deps.sh
if [ -z "${CLAIMWATCH_TEST_PG_URL:-}" ]; then
  CLAIMWATCH_TEST_PG_URL=$(scripts/start-postgres.sh)
  export CLAIMWATCH_TEST_PG_URL
fi
.venv/bin/ruff check .
.venv/bin/lint-imports
# The type check runs beside the suite (one core for ~20 s, the suite's tail leaves room); its verdict counts the same.
types_log=$(mktemp)
.venv/bin/mypy >"$types_log" 2>&1 &
types=$!
# worksteal: a worker that runs out of tests takes some of the other's, so the run does not end on one slow file.
# --durations=15: the slowest tests are printed at the end, so a test that grows is seen.
suite=0
.venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --dist worksteal --durations=15 "$@" || suite=$?
typed=0
wait "$types" || typed=$?
cat "$types_log"
rm -f "$types_log"
if [ "$typed" -ne 0 ]; then
  echo "mypy failed (above)" >&2
fi
[ "$suite" -eq 0 ] && [ "$typed" -eq 0 ]

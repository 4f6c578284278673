"""Published snapshot generations, each opened once per process and lent to callers as cursors.

Opening a generation costs 65-90 ms of CPU (DuckDB binds a view over each table's Parquet files and checks the
monthly summary's facts), which every KPI request, dashboard page and report section paid before its first query
(2026-12-07). A generation never changes once published (``kpi.snapshot.publish`` points ``current`` at a finished
folder), so its views can be kept. Each caller gets its own cursor: a DuckDB connection is not to be shared between
threads, and a cursor is one more connection to the same in-memory catalogue (about 40 µs).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import duckdb

from claimwatch.kpi.columns import open_snapshot

# Snapshot roots whose current generation stays open: one per database a process serves (tests use many).
MAX_ROOTS = 8

_lock = threading.Lock()
_open: OrderedDict[Path, tuple[Path, duckdb.DuckDBPyConnection]] = OrderedDict()


def cursor(generation: Path) -> duckdb.DuckDBPyConnection:
    """A new connection to ``generation``'s views (the caller closes it), opening the generation on first use.

    The generation a root held before is forgotten, not closed: closing a DuckDB connection closes its cursors,
    and a request may still be reading through one. Its catalogue goes when the last of them is closed."""
    root = generation.parent
    with _lock:
        held = _open.get(root)
        if held is None or held[0] != generation:
            held = (generation, open_snapshot(generation))
            _open[root] = held
            while len(_open) > MAX_ROOTS:
                _open.popitem(last=False)
        _open.move_to_end(root)
        return held[1].cursor()


def forget() -> None:
    """Drops every open generation (a test that rewrites a published generation's files in place)."""
    with _lock:
        _open.clear()

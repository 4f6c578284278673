"""Snapshot tables the KPI domain does not read itself (improvement actions, disclosures, provider tasks).

Such a domain cannot be imported from here (it imports the KPI engine for its own checks), so it registers
the query of its table, ``sources.register("actions", query)`` with ``query(taken_at) -> Select``, at import
of its ``kpi_source`` module, wired by one line in :mod:`claimwatch.kpi_sources`. A domain below the KPI
domain (providers) cannot import this module either: the wiring module registers its query for it. The
table's schema stays data in :data:`claimwatch.kpi.columns.TABLES`; the query selects exactly those columns
in that order (timestamps as UTC-aware datetimes, as every other table). A table whose domain registered
nothing is written empty.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select

from claimwatch.kpi.columns import TABLES

WIRING = "claimwatch.kpi_sources"
REGISTERED: tuple[str, ...] = ("actions", "disclosures", "provider_tasks")

# A query takes the snapshot's time (UTC), for columns "as of the snapshot" such as overdue.
Query = Callable[[dt.datetime], Select[Any]]
_queries: dict[str, Query] = {}


def register(name: str, query: Query) -> None:
    if name not in REGISTERED or name not in TABLES:
        raise ValueError(f"{name!r} is not a registrable snapshot table ({', '.join(REGISTERED)})")
    _queries[name] = query


def queries() -> dict[str, Query]:
    """The registered queries, after loading the wiring module (by name: it sits above this domain)."""
    importlib.import_module(WIRING)
    return dict(_queries)

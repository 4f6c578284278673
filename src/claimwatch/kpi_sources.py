"""The wiring of snapshot tables that higher domains fill: which domains register a KPI source with
:mod:`claimwatch.kpi.sources`. Loaded by name when a snapshot is taken, as :mod:`claimwatch.subject_sources` is
by the inspections.

The schema of each table is data in :data:`claimwatch.kpi.columns.TABLES` (so the catalogue is checked
against it); the rows come from the registering domain, which the KPI domain must not import.
"""

from __future__ import annotations

from claimwatch.actions import kpi_source  # noqa: F401 - the `actions` table (improvement actions)
from claimwatch.kpi import sources as _sources
from claimwatch.providers import kpi_source as provider_kpi_source
from claimwatch.reports import kpi_source as disclosure_kpi_source  # noqa: F401 - the `disclosures` table

_sources.register("provider_tasks", provider_kpi_source.query)  # the `provider_tasks` table (third parties)

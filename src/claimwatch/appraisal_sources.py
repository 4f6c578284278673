"""The wiring of appraisal metric sources: which domains register a metric with
:mod:`claimwatch.people.appraisal_scheme` (``register_metric_source``). Loaded by name on first use, as
:mod:`claimwatch.subject_sources` is by the inspections: ``people`` sits below ``policies`` and must not import it.
"""

from __future__ import annotations

from claimwatch.people import appraisal  # noqa: F401 - the handler metrics (SLA, inspections, complaints, surveys, violations)
from claimwatch.policies import appraisal_metrics  # noqa: F401 - agent metrics (sales flags, cooling-off, mis-selling)

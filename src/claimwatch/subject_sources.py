"""The wiring of inspectable record kinds: which domains declare a subject kind. Loaded by name by
:mod:`claimwatch.subjects.registry` on first use, as :mod:`claimwatch.todo_sources` is by the inbox.

A domain filed later (policies, sales calls, service requests) adds one import line here and nothing in
the inspections domain.
"""

from __future__ import annotations

from claimwatch.cases import inspection_subject as claim_subject  # noqa: F401 - claims (赔案)
from claimwatch.complaints import inspection_subject as complaint_subject  # noqa: F401 - complaints (投诉)
from claimwatch.policies import inspection_subject as policy_subjects  # noqa: F401 - sales (销售) and underwriting cases (核保)
from claimwatch.providers import complaint_link  # noqa: F401, E402 - the provider a complaint names (complaints.provider_link)
from claimwatch.servicedesk import survey_source  # noqa: F401, E402 - a closed service request's survey (surveys.sources)

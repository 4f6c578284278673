"""Survey subject sources: the kinds of closed case beyond claims and complaints that get a satisfaction survey (a
service request's consultation-satisfaction survey, 咨询满意度回访), registered by their own domain.

The surveys domain sits below the domains that close such cases, so it never imports them: a domain declares a
:class:`SurveySource` in its own module and registers it with :func:`register`; the modules are imported by
:mod:`claimwatch.subject_sources` (the wiring at the top of the layers), which this module loads by name on first use
— as :mod:`claimwatch.subjects.registry` loads the inspectable kinds. Issuing, the public link, the answer and the
results are the survey domain's own, unchanged.

A source answers two questions:

* ``due(session, since, until)``: the session's tenant's cases of its kind closed in [since, until) as
  :class:`claimwatch.surveys.service.Subject` (``subject_type`` = the source's ``code``, ``key`` unique per closure);
* ``contact(session, subject)``: whom the invitation goes to (:class:`claimwatch.notify.repository.Contact`).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from claimwatch.notify.repository import Contact
    from claimwatch.surveys.service import Subject

MAX_CODE = 16  # surveys.subject_type


@dataclass(frozen=True)
class SurveySource:
    code: str  # the surveys' subject_type, e.g. "service_request"
    label: str  # N_ msgid: the kind in the results ("Service request")
    invitation: str  # N_ msgid: how the invitation names the case ("service request")
    url: str  # the staff page of one case, with {reference}
    due: Callable[[Session, dt.datetime, dt.datetime], list[Subject]]
    contact: Callable[[Session, Subject], Contact]


_SOURCES: dict[str, SurveySource] = {}
_loaded = False


def register(source: SurveySource) -> SurveySource:
    if not source.code or len(source.code) > MAX_CODE or source.code in ("claim", "complaint"):
        raise ValueError(f"survey source code {source.code!r}: 1-{MAX_CODE} characters, not claim or complaint")
    _SOURCES[source.code] = source
    return source


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module("claimwatch.subject_sources")


def sources() -> dict[str, SurveySource]:
    _load()
    return dict(_SOURCES)


def get(code: str) -> SurveySource | None:
    _load()
    return _SOURCES.get(code)


def labels() -> dict[str, Any]:
    """The registered kinds' labels by code (msgids)."""
    return {code: source.label for code, source in sources().items()}

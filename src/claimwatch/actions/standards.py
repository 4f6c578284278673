"""The standards an action's Act links (workflow, checklist, policy, scorecard, document versions): checking
the references a manager gives and pinning the SHA-256 of the version in force where the code is one of ours."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from claimwatch.actions.schemas import StandardRefIn
from claimwatch.actions.vocabulary import STANDARD_KINDS
from claimwatch.errors import Invalid
from claimwatch.inspections import scorecards
from claimwatch.materials import service as materials_service
from claimwatch.privacy import scrub_text
from claimwatch.workflow import service as workflow_service


def file_digest(source: str) -> str | None:
    """SHA-256 of a configuration file's text (what ``config.*`` audit entries record)."""
    try:
        return hashlib.sha256(Path(source).read_text(encoding="utf-8").encode()).hexdigest()
    except OSError:
        return None


def pinned_digest(kind: str, code: str) -> str | None:
    """The SHA-256 of the version in force of a workflow (by line), checklist (by line) or scorecard (by
    code), as the audit chain records them; None for a policy or a document (the caller gives its version)."""
    if kind == "workflow":
        workflow = workflow_service.registry().get(code)
        if workflow is None:
            raise Invalid("refs", f"no workflow {code!r} (known: {', '.join(workflow_service.lines())})")
        return file_digest(workflow.source)
    if kind == "checklist":
        checklist = materials_service.registry().get(code)
        if checklist is None:
            raise Invalid("refs", f"no materials checklist {code!r}")
        return file_digest(checklist.source)
    if kind == "scorecard":
        card = scorecards.registry().get(code)
        if card is None:
            raise Invalid("refs", f"no scorecard {code!r}")
        return card.digest
    return None


def checked_refs(refs: Sequence[Any]) -> list[dict[str, Any]]:
    if not refs:
        raise Invalid("refs", "name at least one changed workflow, checklist, policy, scorecard or document")
    found = []
    for index, raw in enumerate(refs):
        try:
            ref = raw if isinstance(raw, StandardRefIn) else StandardRefIn.model_validate(raw)
        except ValidationError as error:
            raise Invalid("refs", f"refs[{index}]: {error.errors()[0].get('msg', 'invalid')}") from error
        if ref.kind not in STANDARD_KINDS:
            raise Invalid("refs", f"refs[{index}]: unknown kind {ref.kind!r} (known: {', '.join(STANDARD_KINDS)})")
        digest = pinned_digest(ref.kind, ref.code)
        if digest is not None and ref.digest and ref.digest != digest:
            raise Invalid(
                "refs", f"refs[{index}]: {ref.kind} {ref.code} in force has digest {digest}, not {ref.digest}"
            )
        if digest is None and ref.kind in ("policy", "document") and not (ref.version or ref.digest):
            raise Invalid("refs", f"refs[{index}]: name the version (or digest) of {ref.kind} {ref.code}")
        item = {"kind": ref.kind, "code": ref.code, "version": ref.version, "digest": digest or ref.digest}
        if ref.note:
            item["note"] = scrub_text(ref.note)
        found.append({k: v for k, v in item.items() if v is not None})
    return found

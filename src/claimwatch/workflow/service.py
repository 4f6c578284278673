"""The loaded workflows, one per line of business."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import sha256_hex
from claimwatch.config import get_settings
from claimwatch.errors import Invalid
from claimwatch.workflow.loader import Workflow, load_workflow_dir


class UnknownLine(Invalid):
    """A line of business no workflow describes (422, field ``line``)."""

    def __init__(self, message: str) -> None:
        super().__init__("line", message)


@lru_cache
def registry() -> dict[str, Workflow]:
    settings = get_settings()
    return load_workflow_dir(settings.workflows_dir, settings.extra_workflows_dir)


def get_workflow(line: str) -> Workflow:
    workflows = registry()
    if line not in workflows:
        raise UnknownLine(f"unknown line of business {line!r} (known: {', '.join(sorted(workflows))})")
    return workflows[line]


def lines() -> list[str]:
    return sorted(registry())


def state_label(line: str, state: str, locale: str) -> str:
    workflow = registry().get(line)
    if workflow is None or state not in workflow.states:
        return state
    spec = workflow.states[state]
    return spec.label_zh if locale == "zh" else spec.label_en


def line_label(line: str, locale: str) -> str:
    workflow = registry().get(line)
    if workflow is None:
        return line
    return workflow.name_zh if locale == "zh" else workflow.name_en


def record_workflows(session: Session, tenant_id: int, actor: str) -> int:
    """Put the content of every workflow file in force into the tenant's audit chain."""
    count = 0
    for line, workflow in sorted(registry().items()):
        text = Path(workflow.source).read_text(encoding="utf-8")
        audit_service.record(
            session,
            tenant_id,
            "config.workflow",
            line,
            actor,
            {"file": Path(workflow.source).name, "sha256": sha256_hex(text), "yaml": text},
        )
        count += 1
    return count

"""Plan YAML files (``claimwatch inspections sample PLAN.yaml``, ``defaults/inspections/plans/``) read into a
:class:`~claimwatch.inspections.schemas.PlanDefinition`; every error names the file and the line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from claimwatch.config import PACKAGE_DIR
from claimwatch.inspections.schemas import PlanDefinition, error_field, error_message
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

PLANS_DIR = PACKAGE_DIR / "defaults" / "inspections" / "plans"


class PlanFileError(ConfigFileError):
    """A plan file is invalid; ``str()`` is ``file:line: problem``."""


@dataclass(frozen=True)
class PlanFile:
    definition: PlanDefinition
    source: str
    document: Any

    def line(self, field: str) -> int | None:
        return line_for(self.document, field)

    def error(self, field: str, message: str) -> PlanFileError:
        """A refusal of ``field`` (e.g. by the service: an unknown scorecard) at its line of the file."""
        return PlanFileError(self.source, self.line(field), f"{field}: {message}")


def line_for(document: Any, field: str) -> int | None:
    """The line of a dotted field (``population.light``, ``strata.1``): the deepest node found."""
    node, line = document, line_of(document)
    for part in field.split("."):
        if isinstance(node, Mapping) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, Sequence) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            found = line_of(node)
            line = found if found else line
        else:
            break
    return line


def parse_plan(text: str, source: str) -> PlanFile:
    document = load_yaml(text, source, PlanFileError)
    if not isinstance(document, Mapping):
        raise PlanFileError(source, 1, "a plan file is a mapping (code, name, scorecard, population, method, size)")
    try:
        definition = PlanDefinition.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = error_field(tuple(first["loc"]), str(first["msg"]))
        raise PlanFileError(source, line_for(document, field), f"{field}: {error_message(str(first['msg']))}") from None
    return PlanFile(definition, source, document)


def load_plan_file(path: Path) -> PlanFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(str(path), None, f"cannot read the plan: {exc}") from exc
    return parse_plan(text, str(path))


def bundled_plans() -> list[PlanFile]:
    """The example plans shipped in ``defaults/inspections/plans/``."""
    return [load_plan_file(path) for path in sorted(PLANS_DIR.glob("*.yaml"))]

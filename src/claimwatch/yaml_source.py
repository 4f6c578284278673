"""YAML configuration files read with the line of every node, so errors can name file and line.

Workflows, SLA policies and materials checklists all use this reader.
"""

from __future__ import annotations

from typing import Any

import yaml


class ConfigFileError(ValueError):
    """A configuration file is invalid; ``str()`` is ``file:line: problem``."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {problem}")


class Mapping(dict[str, Any]):
    """A YAML mapping that remembers the line of each key (1-based)."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.key_lines: dict[str, int] = {}


class Sequence(list[Any]):
    def __init__(self) -> None:
        super().__init__()
        self.line = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Mapping:
    mapping = Mapping()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> Sequence:
    seq = Sequence()
    seq.line = node.start_mark.line + 1
    seq.extend(loader.construct_object(child, deep=True) for child in node.value)
    return seq


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load(text: str, source: str, error: type[ConfigFileError] = ConfigFileError) -> Any:
    """Parse YAML text into :class:`Mapping`/:class:`Sequence` nodes; syntax errors name the line."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise error(source, line, f"not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:  # e.g. a control character the reader refuses before any parsing
        raise error(source, None, f"not valid YAML: {exc}") from exc


def line_of(node: Any, key: str | None = None) -> int | None:
    if isinstance(node, Mapping):
        if key is not None and key in node.key_lines:
            return node.key_lines[key]
        return node.line
    if isinstance(node, Sequence):
        return node.line
    return None


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]

"""The task kinds as data (``defaults/providers/task_kinds.yaml``), validated with file and line.

Each kind names the provider kinds that do it, its standard document set (a task counts as standard only when
all of them went out with it), the fields its report must carry (every kind ``conclusion``; appraisal and
repair estimate also ``amount_assessed``), its default service level (when no contract in force sets one) and
the share of the level after which its clock turns yellow. An insurer's own file replaces the bundled one whole:
``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/providers/<TENANT_CODE>.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.audit.hashing import sha256_hex
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_FILE = PACKAGE_DIR / "defaults" / "providers" / "task_kinds.yaml"
# appraisal agency 鉴定机构, repair shop 维修机构, hospital 医院, surveyor 查勘机构 (公估), law firm 律师事务所
PROVIDER_KINDS = ("appraisal_agency", "repair_shop", "hospital", "surveyor", "law_firm")
FIELD_TYPES = ("amount", "text", "date", "choice")
UNITS = ("working_days", "calendar_days", "hours")
# Every kind's report carries these; the amount only where the kind says so (appraisal, repair estimate).
ALWAYS_REQUIRED = ("conclusion",)
MAX_LEVEL = {"working_days": 250, "calendar_days": 365, "hours": 24 * 365}
_TOP_KEYS = {"version", "kinds"}
_KIND_KEYS = {"code", "name", "provider_kinds", "standard_documents", "required_fields", "level", "yellow_share"}
_FIELD_KEYS = {"name", "type", "label", "choices"}


class TaskKindError(ConfigFileError):
    pass


@dataclass(frozen=True)
class Choice:
    value: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class RequiredField:
    """A field the report of a task kind must carry: ``type`` amount | text | date | choice."""

    name: str
    type: str
    label_zh: str
    label_en: str
    choices: tuple[Choice, ...] = ()

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_zh

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)


@dataclass(frozen=True)
class TaskKind:
    code: str
    name_zh: str
    name_en: str
    provider_kinds: tuple[str, ...]
    standard_documents: tuple[str, ...]  # document names (zh), as a task's ``documents`` lists them
    required_fields: tuple[RequiredField, ...]
    days: int  # the default service level, when no contract in force sets one
    unit: str  # working_days | calendar_days | hours
    yellow_share: float

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_zh

    def field(self, name: str) -> RequiredField | None:
        return next((f for f in self.required_fields if f.name == name), None)

    def as_dict(self, locale: str) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name(locale),
            "provider_kinds": list(self.provider_kinds),
            "standard_documents": list(self.standard_documents),
            "required_fields": [
                {
                    "name": f.name,
                    "type": f.type,
                    "label": f.label(locale),
                    "choices": [{"value": c.value, "label": c.label(locale)} for c in f.choices],
                }
                for f in self.required_fields
            ],
            "level": {"days": self.days, "unit": self.unit},
            "yellow_share": self.yellow_share,
        }


@dataclass(frozen=True)
class Catalogue:
    version: str
    kinds: dict[str, TaskKind]
    digest: str
    source: str


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> TaskKindError:
    return TaskKindError(source, line_of(node, key), problem)


def _text(source: str, node: Mapping, key: str, limit: int = 100) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, node, f"'{key}' is required (text)", key)
    if len(value.strip()) > limit:
        raise _fail(source, node, f"'{key}' must be at most {limit} characters", key)
    return value.strip()


def _names(source: str, node: Mapping, key: str) -> tuple[str, str]:
    """A {zh, en} pair."""
    value = node.get(key)
    if not isinstance(value, Mapping) or set(value) != {"zh", "en"}:
        raise _fail(source, node, f"'{key}' takes zh and en", key)
    return _text(source, value, "zh"), _text(source, value, "en")


def _field(source: str, node: Any, seen: set[str]) -> RequiredField:
    if not isinstance(node, Mapping):
        raise TaskKindError(source, line_of(node), "each required field is a mapping (name, type, label)")
    for key in node:
        if key not in _FIELD_KEYS:
            raise _fail(source, node, f"unknown key {key!r} in a field (known: {', '.join(sorted(_FIELD_KEYS))})", key)
    name = _text(source, node, "name", 48)
    if not name.isidentifier() or not name.isascii():
        raise _fail(source, node, f"field name {name!r} must be letters, digits and _", "name")
    if name in seen:
        raise _fail(source, node, f"duplicate field {name!r}", "name")
    seen.add(name)
    kind = node.get("type")
    if kind not in FIELD_TYPES:
        raise _fail(source, node, f"type must be one of {', '.join(FIELD_TYPES)}, not {kind!r}", "type")
    zh, en = _names(source, node, "label")
    choices: list[Choice] = []
    raw = node.get("choices")
    if kind == "choice":
        if not isinstance(raw, Sequence) or not raw:
            raise _fail(source, node, "a choice field needs 'choices': a list of {value, zh, en}", "choices")
        for item in raw:
            if not isinstance(item, Mapping) or set(item) != {"value", "zh", "en"}:
                raise TaskKindError(source, line_of(item) or line_of(raw), "each choice is {value, zh, en}")
            choices.append(
                Choice(_text(source, item, "value", 48), _text(source, item, "zh"), _text(source, item, "en"))
            )
        if len({c.value for c in choices}) != len(choices):
            raise _fail(source, node, "choices repeat a value", "choices")
    elif raw is not None:
        raise _fail(source, node, "only a choice field takes 'choices'", "choices")
    return RequiredField(name, str(kind), zh, en, tuple(choices))


def _kind(source: str, node: Any) -> TaskKind:
    if not isinstance(node, Mapping):
        raise TaskKindError(source, line_of(node), "each kind is a mapping (code, name, provider_kinds, …)")
    for key in node:
        if key not in _KIND_KEYS:
            raise _fail(source, node, f"unknown key {key!r} in a kind (known: {', '.join(sorted(_KIND_KEYS))})", key)
    code = _text(source, node, "code", 32)
    zh, en = _names(source, node, "name")
    provider_kinds = node.get("provider_kinds")
    if not isinstance(provider_kinds, Sequence) or not provider_kinds:
        raise _fail(source, node, "'provider_kinds' is a non-empty list", "provider_kinds")
    for value in provider_kinds:
        if value not in PROVIDER_KINDS:
            raise _fail(
                source, node, f"unknown provider kind {value!r} (known: {', '.join(PROVIDER_KINDS)})", "provider_kinds"
            )
    documents = node.get("standard_documents")
    if not isinstance(documents, Sequence) or not documents:
        raise _fail(source, node, "'standard_documents' is a non-empty list of document names", "standard_documents")
    if any(not isinstance(d, str) or not d.strip() or len(d) > 100 for d in documents):
        raise _fail(source, node, "each standard document is a name of at most 100 characters", "standard_documents")
    if len(set(documents)) != len(documents):
        raise _fail(source, node, "'standard_documents' repeats a document", "standard_documents")
    fields_node = node.get("required_fields")
    if not isinstance(fields_node, Sequence):
        raise _fail(source, node, "'required_fields' is a list of fields", "required_fields")
    seen: set[str] = set()
    fields = tuple(_field(source, item, seen) for item in fields_node)
    for name in ALWAYS_REQUIRED:
        if name not in seen:
            raise _fail(source, node, f"kind {code!r}: every kind requires the field {name!r}", "required_fields")
    level = node.get("level")
    if not isinstance(level, Mapping) or set(level) != {"days", "unit"}:
        raise _fail(source, node, "'level' is {days, unit}", "level")
    unit = level.get("unit")
    if unit not in UNITS:
        raise _fail(source, level, f"unit must be one of {', '.join(UNITS)}, not {unit!r}", "unit")
    days = level.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_LEVEL[str(unit)]:
        raise _fail(source, level, f"days is a whole number 1–{MAX_LEVEL[str(unit)]}, not {days!r}", "days")
    share = node.get("yellow_share", 0.7)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
        raise _fail(source, node, f"yellow_share is a fraction between 0 and 1, not {share!r}", "yellow_share")
    return TaskKind(
        code=code,
        name_zh=zh,
        name_en=en,
        provider_kinds=tuple(str(v) for v in provider_kinds),
        standard_documents=tuple(str(d).strip() for d in documents),
        required_fields=fields,
        days=days,
        unit=str(unit),
        yellow_share=float(share),
    )


def parse(text: str, source: str) -> Catalogue:
    """A task-kind file; errors name ``source:line``."""
    doc = load_yaml(text, source, TaskKindError)
    if not isinstance(doc, Mapping):
        raise TaskKindError(source, 1, "a task-kind file is a mapping (version, kinds)")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(source, doc, f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})", key)
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, str | int | float) or not str(version).strip():
        raise _fail(source, doc, "'version' is required (e.g. \"2026.12-1\")", "version")
    entries = doc.get("kinds")
    if not isinstance(entries, Sequence) or not entries:
        raise _fail(source, doc, "'kinds' is a non-empty list", "kinds")
    kinds: dict[str, TaskKind] = {}
    for node in entries:
        kind = _kind(source, node)
        if kind.code in kinds:
            raise _fail(source, node, f"duplicate kind {kind.code!r}", "code")
        kinds[kind.code] = kind
    return Catalogue(str(version), kinds, sha256_hex(text), source)


def load(path: Path) -> Catalogue:
    return parse(path.read_text(encoding="utf-8"), str(path))


@lru_cache
def base_catalogue() -> Catalogue:
    return load(DEFAULT_FILE)


def catalogue_for(tenant_code: str | None) -> Catalogue:
    """The insurer's own file when it has one, else the bundled one."""
    path = tenant_override("providers", tenant_code)
    return _cached(path, path.stat().st_mtime_ns) if path is not None else base_catalogue()


@lru_cache(maxsize=64)
def _cached(path: Path, _mtime: int) -> Catalogue:
    return load(path)


def task_kinds(session: Session, tenant_id: int) -> dict[str, TaskKind]:
    """The task kinds in force at the insurer, by code."""
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return catalogue_for(tenant.code if tenant is not None else None).kinds


def task_kind(session: Session, tenant_id: int, code: str) -> TaskKind | None:
    return task_kinds(session, tenant_id).get(code)

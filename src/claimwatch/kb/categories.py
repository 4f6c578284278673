"""The knowledge base's categories (``defaults/kb/categories.yaml``), validated with file and line. A tenant's
file replaces the bundled one whole: ``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/kb/<TENANT_CODE>.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_FILE = PACKAGE_DIR / "defaults" / "kb" / "categories.yaml"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class CategoryFileError(ConfigFileError):
    pass


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Categories:
    version: str
    items: dict[str, Category]

    def __contains__(self, code: object) -> bool:
        return code in self.items

    def label(self, code: str, locale: str) -> str:
        found = self.items.get(code)
        return found.label(locale) if found else code

    def as_list(self, locale: str) -> list[dict[str, Any]]:
        return [{"code": c.code, "label": c.label(locale)} for c in self.items.values()]


def parse(text: str, source: str) -> Categories:
    doc = load_yaml(text, source, CategoryFileError)
    if not isinstance(doc, Mapping):
        raise CategoryFileError(source, 1, "the file is a mapping with version and categories")
    for key in doc:
        if key not in ("version", "categories"):
            raise CategoryFileError(source, line_of(doc, str(key)), f"unknown key {key!r} (version, categories)")
    version = doc.get("version")
    if not isinstance(version, str | int) or isinstance(version, bool) or not str(version).strip():
        raise CategoryFileError(source, line_of(doc), "'version' is required")
    entries = doc.get("categories")
    if not isinstance(entries, Sequence) or not entries:
        raise CategoryFileError(source, line_of(doc, "categories"), "'categories' is a non-empty list")
    items: dict[str, Category] = {}
    for node in entries:
        if not isinstance(node, Mapping):
            raise CategoryFileError(source, line_of(entries), "each category is a mapping (code, zh, en)")
        for key in node:
            if key not in ("code", "zh", "en"):
                raise CategoryFileError(source, line_of(node, str(key)), f"unknown key {key!r} (code, zh, en)")
        code = node.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            raise CategoryFileError(source, line_of(node, "code"), f"code {code!r}: lower-case letters, digits, _")
        if code in items:
            raise CategoryFileError(source, line_of(node, "code"), f"duplicate category {code!r}")
        labels = []
        for key in ("zh", "en"):
            value = node.get(key)
            if not isinstance(value, str) or not value.strip() or len(value) > 100:
                raise CategoryFileError(source, line_of(node, key), f"category {code}: {key} is a label (≤ 100)")
            labels.append(value.strip())
        items[code] = Category(code, labels[0], labels[1])
    return Categories(str(version), items)


def load_file(path: Path) -> Categories:
    return parse(path.read_text(encoding="utf-8"), str(path))


@lru_cache
def _base() -> Categories:
    return load_file(DEFAULT_FILE)


def load(tenant_code: str | None = None) -> Categories:
    """The tenant's categories: its own file when it has one, else the bundled ones."""
    path = tenant_override("kb", tenant_code)
    return load_file(path) if path is not None else _base()

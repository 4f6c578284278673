"""The Babel catalogues: compiled .mo files match their .po, and every string the pages use is in Chinese."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from claimwatch.web.i18n import DOMAIN, LOCALE_DIR, LOCALES, environment, translations

REPO = Path(__file__).resolve().parents[2]


def _po(locale: str) -> Catalog:
    with open(LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as fileobj:
        return read_po(fileobj, locale=locale)


def _frozen(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def _messages(catalog: Catalog) -> dict[object, object]:
    return {_frozen(message.id): _frozen(message.string) for message in catalog if message.id}


def _used_msgids() -> set[str]:
    """What the templates and web code mark for translation, extracted with the pyproject mapping."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["babel"]
    method_map = [(entry["pattern"], entry["method"]) for entry in config["mappings"]]
    options_map = {
        entry["pattern"]: {k: v for k, v in entry.items() if k not in ("pattern", "method")}
        for entry in config["mappings"]
    }
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(REPO / "src"), method_map, options_map
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_is_in_sync_with_its_po(locale: str):
    # Compiled in memory the way `pybabel compile` does it, then compared message by message:
    # file times mean nothing after a git checkout, the content does.
    compiled = io.BytesIO()
    write_mo(compiled, _po(locale))
    compiled.seek(0)
    with open(LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as committed:
        assert _messages(read_mo(committed)) == _messages(read_mo(compiled)), (
            f"{locale}: the .mo is stale; run pybabel compile -d src/claimwatch/locale"
        )


def test_every_string_the_pages_use_has_a_chinese_translation():
    used = _used_msgids()
    assert {"Sign in", "Claims", "Wrong username or password.", "Adjuster"} <= used  # extraction works
    zh = _po("zh")
    missing = sorted(msgid for msgid in used if msgid not in zh)
    assert not missing, f"not in zh/messages.po (run pybabel extract + update): {missing}"
    untranslated = []
    for msgid in used:
        message = zh[msgid]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            untranslated.append(msgid)
    assert not untranslated, f"no (or a fuzzy) Chinese translation: {sorted(untranslated)}"
    en = _po("en")
    assert not [msgid for msgid in used if msgid not in en], "en/messages.po lacks strings: run pybabel update"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_their_placeholders(locale: str):
    problems = [(message.id, errors) for message, errors in _po(locale).check()]
    assert not problems


def test_pages_render_with_the_real_catalogues():
    assert translations("zh").gettext("Sign in") == "登录"
    assert translations("en").gettext("Sign in") == "Sign in"
    assert environment("zh").globals["html_lang"] == "zh-CN"

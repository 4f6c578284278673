"""Translations (Babel catalogues under ``claimwatch/locale``) and the Jinja2 environments that use them.

Templates are written in English and wrapped in ``{% trans %}`` / ``_()``; Chinese is the default
language. One environment per language, built once, so concurrent requests never share a
mutable gettext installation. Status and line labels are not in the catalogue: they come from
the workflow YAML through the workflow service.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from claimwatch.config import PACKAGE_DIR
from claimwatch.tenancy.service import platform_zone

LOCALE_DIR = PACKAGE_DIR / "locale"
TEMPLATE_DIR = PACKAGE_DIR / "web" / "templates"
DOMAIN = "messages"
LOCALES = ("zh", "en")
# What Babel's number formatting calls each of our two languages.
_BABEL_LOCALE = {"zh": "zh_CN", "en": "en"}
_HTML_LANG = {"zh": "zh-CN", "en": "en"}
# The render context's key for the zone times are shown in.
TIME_ZONE_KEY = "time_zone"


def N_(message: str) -> str:  # noqa: N802 - the conventional name, picked up by Babel's extractor
    """Marks a string in Python code for extraction; it is translated when rendered."""
    return message


@lru_cache
def translations(locale: str) -> Translations:
    loaded = Translations.load(str(LOCALE_DIR), [locale], domain=DOMAIN)
    if not isinstance(loaded, Translations):  # a missing catalogue gives NullTranslations
        raise FileNotFoundError(f"no compiled catalogue for {locale!r} in {LOCALE_DIR}")
    return loaded


def translate(locale: str, message: str) -> str:
    """A message marked with :func:`N_`, in ``locale``: the one way code constants get their labels,
    outside templates too (JSON ``*_label`` fields, letters, staff notices, CSV headers). Labels that are
    data (categories, regions, workflow states, KPIs) carry their zh/en names in their YAML instead."""
    return translations(locale if locale in LOCALES else "zh").gettext(message)


@pass_context
def local_time(context: Context, value: dt.datetime | None, with_seconds: bool = False) -> str:
    """UTC from the database, shown in the zone the page was rendered with (``TIME_ZONE_KEY``, the
    tenant's: see ``tenancy.service.tenant_zone``); the platform zone when a page names none."""
    if value is None:
        return ""
    if value.tzinfo is None:
        raise ValueError("naive datetime refused; the database layer returns aware UTC values")
    zone = context.get(TIME_ZONE_KEY)
    local = value.astimezone(zone if isinstance(zone, ZoneInfo) else platform_zone())
    return local.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def utc_iso(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.UTC).isoformat()


def money(value: Decimal | None, locale: str) -> str:
    if value is None:
        return ""
    return format_currency(value, "CNY", locale=_BABEL_LOCALE[locale])


def units(value: float | None, locale: str) -> str:
    """An amount of a clock's unit (hours, days...): at most one decimal, none when whole."""
    if value is None:
        return ""
    return format_decimal(round(value, 1) + 0.0, format="#,##0.#", locale=_BABEL_LOCALE[locale])  # no "-0"


@lru_cache
def environment(locale: str) -> Environment:
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters["localtime"] = local_time
    env.filters["utc_iso"] = utc_iso
    env.filters["money"] = lambda value: money(value, locale)
    env.filters["units"] = lambda value: units(value, locale)
    env.globals["locale"] = locale
    env.globals["html_lang"] = _HTML_LANG[locale]
    return env


def render_template(locale: str, name: str, context: dict[str, Any]) -> str:
    return environment(locale).get_template(name).render(context)

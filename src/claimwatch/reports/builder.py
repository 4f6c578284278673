"""Runs a kind's section builders over one context, times each, and renders the document: one HTML
(self-contained: its stylesheet inline, charts as inline SVG) and its PDF (WeasyPrint, ``claimwatch.pdf``).

The document (``templates/reports/document.html``) has a cover page (title, insurer, period, built time,
version), a table of contents whose page numbers come from CSS ``target-counter`` in the PDF, numbered
sections (``n`` for a level-1 section, ``n.m`` for a level-2 one and for a section's subsections), a running
header (report title, current section) and "第 N 页 / 共 M 页" at the foot of every page but the cover."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from claimwatch import pdf
from claimwatch.reports.sections import base
from claimwatch.web.i18n import N_, render_template, translate

STYLESHEET = pdf.STATIC_DIR / "reports.css"
DOCUMENT_TEMPLATE = "reports/document.html"
SECTIONS_DIR = "reports/sections/"
BODY_START = "<!--report-body-->"
BODY_END = "<!--/report-body-->"
TOOLBAR = "<!--toolbar-->"
PAGE_OF = N_("Page %(page)s / %(pages)s")


@dataclass(frozen=True)
class DocumentMeta:
    title: str  # the report's kind title, e.g. 品质管理报告
    tenant_label: str
    period_label: str
    built_at_local: str
    version: int
    edition: str
    locale: str
    built_by: str


@dataclass
class Entry:
    """A section as the document places it: its number, anchor and table-of-contents lines."""

    number: str
    anchor: str
    section: base.Section
    toc: list[tuple[str, str, str]] = field(default_factory=list)  # (anchor, number, title) of subsections


@dataclass
class SectionsRun:
    sections: list[base.Section]
    seconds: dict[str, float]


def _builder_name(builder: base.SectionBuilder) -> str:
    module = getattr(builder, "__module__", "") or ""
    return module.rsplit(".", 1)[-1] + "." + getattr(builder, "__name__", "builder")


def run_sections(ctx: base.ReportContext) -> SectionsRun:
    """Every builder of ``ctx.kind`` in order; a builder answering None leaves its section out. The time of
    each is kept under its section's key (the builder's name when it answered None)."""
    sections: list[base.Section] = []
    seconds: dict[str, float] = {}
    for builder in base.builders(ctx.kind):
        started = time.perf_counter()
        section = builder(ctx)
        elapsed = time.perf_counter() - started
        key = section.key if section is not None else _builder_name(builder)
        seconds[key] = round(seconds.get(key, 0.0) + elapsed, 4)
        if section is not None:
            sections.append(section)
    return SectionsRun(sections, seconds)


def number_sections(sections: list[base.Section]) -> list[Entry]:
    entries: list[Entry] = []
    major = minor = 0
    for section in sections:
        if section.level <= 1 or major == 0:
            major, minor = major + 1, 0
            number = str(major)
        else:
            minor += 1
            number = f"{major}.{minor}"
        entry = Entry(number, f"sec-{section.key}", section)
        entry.toc = [(anchor, f"{number}.{i}", title) for i, (anchor, title) in enumerate(section.subsections, 1)]
        entries.append(entry)
    return entries


def _template_of(section: base.Section) -> str:
    return section.template if section.template.startswith("reports/") else SECTIONS_DIR + section.template


def _page_counter_css(locale: str) -> str:
    """The foot's "第 N 页 / 共 M 页" as a CSS ``content`` value."""
    text = translate(locale, PAGE_OF).replace('"', "")
    return '"' + text.replace("%(page)s", '" counter(page) "').replace("%(pages)s", '" counter(pages) "') + '"'


def render_html(meta: DocumentMeta, sections: list[base.Section], extra: dict[str, Any] | None = None) -> str:
    entries = number_sections(sections)
    context: dict[str, Any] = {
        "doc": meta,
        "entries": entries,
        "template_of": _template_of,
        "stylesheet": STYLESHEET.read_text(encoding="utf-8"),
        "page_counter": _page_counter_css(meta.locale),
        "font_stack": pdf.FONT_STACK,
        "body_start": BODY_START,
        "body_end": BODY_END,
        "toolbar": TOOLBAR,
    } | (extra or {})
    return render_template(meta.locale, DOCUMENT_TEMPLATE, context)


def render_pdf(html: str) -> bytes:
    return pdf.html_to_pdf(html)


def local_label(moment: dt.datetime, zone: Any) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

"""HTML → PDF for documents people print or keep: complaint decision letters, and the quality reports.

One renderer (WeasyPrint: CSS paged media, ``@page`` sizes and margins, page numbers, tables that break
across pages, SVG charts) for every document, so a document is an ordinary Jinja/HTML template with a print
stylesheet, seen the same in the browser (print preview) and in the PDF.

WeasyPrint lays text out with Pango; Chinese needs a CJK font known to fontconfig. On Debian/Ubuntu:
``apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-wqy-microhei`` (:data:`SYSTEM_PACKAGES`).

Documents fetch nothing from the network: ``/static/…`` URLs (the app's stylesheets and images) are read
from the package's static folder and ``data:`` URLs are allowed; any other URL is refused, so a value put
into a document (a name, a note) cannot make the server fetch an address.
"""

from __future__ import annotations

import mimetypes
from functools import lru_cache
from pathlib import Path
from typing import Any

from claimwatch.config import PACKAGE_DIR
from claimwatch.errors import Problem

STATIC_DIR = PACKAGE_DIR / "web" / "static"
STATIC_PREFIX = "/static/"
# The fonts a document's CSS names, in order: a CJK font first (Chinese text), then the generic family.
FONT_STACK = '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", sans-serif'
SYSTEM_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-wqy-microhei")
PDF_MEDIA_TYPE = "application/pdf"


class PdfUnavailable(Problem):
    """The machine lacks what PDF rendering needs (503: the request is fine, the server is not ready)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            503,
            "pdf",
            f"PDF rendering is not available on this server ({reason}); install the system packages "
            f"{' '.join(SYSTEM_PACKAGES)}, or print the page from the browser instead",
        )


class RefusedUrl(ValueError):
    pass


# Documents are rendered as if served from this origin, so ``/static/…`` resolves to it; nothing else does.
DOCUMENT_ORIGIN = "http://document.invalid"


def _static_path(url: str) -> Path:
    relative = url.split("?", 1)[0].split("#", 1)[0][len(DOCUMENT_ORIGIN + STATIC_PREFIX) :]
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR.resolve()) or not path.is_file():
        raise RefusedUrl(f"no static file {url!r}")
    return path


def _fetcher() -> Any:
    """WeasyPrint's URL fetcher, limited to the app's own static files and ``data:`` URLs."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith(DOCUMENT_ORIGIN + STATIC_PREFIX):
                path = _static_path(url)
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            raise RefusedUrl(f"documents may load only /static/ files and data: URLs, not {url!r}")

    return StaticFetcher()


@lru_cache(maxsize=1)
def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the pango/harfbuzz libraries are missing
        raise PdfUnavailable(str(exc).splitlines()[0]) from exc
    return weasyprint


def available() -> str | None:
    """None when PDFs can be rendered here, else why not (for the demo and health checks)."""
    try:
        _weasyprint()
    except PdfUnavailable as exc:
        return exc.message
    return None


def html_to_pdf(html: str, *, stylesheets: tuple[str, ...] = ()) -> bytes:
    """The PDF of an HTML document. ``stylesheets``: extra CSS text (e.g. print rules kept beside the
    template); the document's own ``<link href="/static/…">`` sheets and images load through
    :func:`_fetcher` (static files and ``data:`` URLs only)."""
    weasyprint = _weasyprint()
    fetcher = _fetcher()
    document = weasyprint.HTML(string=html, base_url=DOCUMENT_ORIGIN + "/", url_fetcher=fetcher)
    sheets = [weasyprint.CSS(string=css, url_fetcher=fetcher) for css in stylesheets]
    pdf: bytes = document.write_pdf(stylesheets=sheets or None)
    return pdf


def content_disposition(filename: str, inline: bool = False) -> str:
    """``attachment; filename=…`` with an ASCII fallback and the UTF-8 name (RFC 6266), for Chinese names."""
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "ignore").decode() or "document.pdf"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"

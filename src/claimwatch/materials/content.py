"""What an uploaded file really is, beyond its first bytes: a document is stored and later shown to staff, so
a file that a browser would run as a page, or that unpacks into gigabytes, is refused before it is kept.

Checked on the staged file (:mod:`claimwatch.materials.storage`), after the declared type is allowed and its
header matches (:func:`claimwatch.materials.service.content_matches`):

- the type ``puremagic`` (a maintained pure-Python signature library) reads from the content agrees with the
  declared one, and is never a markup type;
- no HTML or script markup at the start of any file, nor anywhere in an image (a PNG or JPEG with a page
  after its end marker, IEND or FFD9, is a polyglot a browser may render);
- a PDF ends with its ``%%EOF`` marker;
- an OFD (a ZIP container, GB/T 33190) holds an ``OFD.xml`` entry, at most ``MAX_OFD_ENTRIES`` entries, and
  unpacks to at most :func:`max_unpacked_bytes` (a zip bomb is refused by its directory, never unpacked).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import puremagic

from claimwatch.config import get_settings

_CHUNK = 1024 * 1024
HEAD_SCAN_BYTES = 1024
# Tags that make a browser treat bytes as a page; an image or a PDF has no business holding them in clear.
_MARKUP = re.compile(rb"<\s*(?:html|head|body|script|iframe|object|embed|svg|!doctype\s+html)[\s>/]", re.IGNORECASE)
_MARKUP_TAIL = 32  # bytes kept between chunks so a tag split across two is still seen
# The types puremagic may name for each declared type (OFD is a ZIP container: checked by its directory).
_SNIFFED: dict[str, frozenset[str]] = {
    "application/pdf": frozenset({"application/pdf"}),
    "image/jpeg": frozenset({"image/jpeg", "image/pjpeg"}),
    "image/png": frozenset({"image/png", "image/apng"}),
    "image/tiff": frozenset({"image/tiff"}),
    "image/heic": frozenset({"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"}),
    "image/heif": frozenset({"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"}),
    "image/webp": frozenset({"image/webp"}),
}
_MARKUP_TYPES = ("html", "xhtml", "svg", "javascript", "ecmascript", "text/xml", "application/xml")
_IMAGES = frozenset({"image/jpeg", "image/png", "image/tiff", "image/heic", "image/heif", "image/webp"})
PDF_EOF_WITHIN = 1024  # %%EOF must be among the last bytes (trailing whitespace or a short trailer allowed)
MAX_OFD_ENTRIES = 1000
OFD_UNPACKED_CEILING = 200 * 1024 * 1024


def max_unpacked_bytes() -> int:
    """What an OFD may unpack to: ten times the upload limit, and never more than 200 MB."""
    return min(10 * get_settings().max_document_bytes, OFD_UNPACKED_CEILING)


def refusal(content_type: str, path: Path, head: bytes, size: int) -> str | None:
    """Why the staged file at ``path`` (declared ``content_type``, already header-checked) is refused, or
    None when it is accepted. ``head`` is its first bytes, ``size`` its length."""
    sniffed = _sniff(head)
    if any(marker in mime for mime in sniffed for marker in _MARKUP_TYPES):
        return "the content is a web page or script, not a document"
    expected = _SNIFFED.get(content_type)
    if expected is not None and sniffed and not sniffed & expected:
        return f"the content is {', '.join(sorted(sniffed))}, not {content_type}"
    if _MARKUP.search(head[:HEAD_SCAN_BYTES]):
        return "the file starts with web page or script markup"
    if content_type == "application/pdf":
        return _pdf_refusal(path, size)
    if content_type in _IMAGES:
        return "the image carries web page or script markup" if _has_markup(path) else None
    if content_type == "application/ofd":
        return _ofd_refusal(path)
    return None


def _sniff(head: bytes) -> set[str]:
    """The MIME types puremagic reads from the first bytes (empty when it knows none of them)."""
    try:
        return {match.mime_type.lower() for match in puremagic.magic_string(head) if match.mime_type}
    except (puremagic.PureError, ValueError):
        return set()


def _pdf_refusal(path: Path, size: int) -> str | None:
    with path.open("rb") as handle:
        handle.seek(max(0, size - PDF_EOF_WITHIN))
        tail = handle.read()
    if b"%%EOF" not in tail:
        return "the PDF is incomplete: it does not end with %%EOF"
    return None


def _has_markup(path: Path) -> bool:
    """Whether markup appears anywhere in the file, read in chunks."""
    carried = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            window = carried + chunk
            if _MARKUP.search(window):
                return True
            carried = window[-_MARKUP_TAIL:]
    return False


def _ofd_refusal(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "the OFD is not a readable ZIP container"
    if len(entries) > MAX_OFD_ENTRIES:
        return f"the OFD has {len(entries)} entries (at most {MAX_OFD_ENTRIES})"
    unpacked = sum(entry.file_size for entry in entries)
    limit = max_unpacked_bytes()
    if unpacked > limit:
        return f"the OFD unpacks to {unpacked} bytes (at most {limit})"
    names = {entry.filename.lstrip("/") for entry in entries}
    if "OFD.xml" not in names:
        return "the OFD has no OFD.xml entry"
    return None

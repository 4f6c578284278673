"""Import of knowledge-base articles from YAML (the format of ``defaults/kb/sample_articles.yaml``) or CSV, all or
nothing with a reject report (the complaint import's report types, decoding and header reader).

Every article is checked first (schema, category, ``effective_from``, a code repeated in the file); one bad one and
nothing is written. An article whose code exists is counted as existing and left as it is. Imported articles are
published at once, the importer recorded as their reviewer (an import is the insurer's own approved text, e.g. a
knowledge base moved from another system); each is audited ``kb.article_created`` and ``kb.article_imported``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.importer import (
    ImportRejected,
    ImportResult,
    Reject,
    decode,
    parse_day,
    read_table,
    validated,
)
from claimwatch.errors import Problem
from claimwatch.kb import repository, service
from claimwatch.kb.schemas import ArticleIn
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

MAX_IMPORT_BYTES = 4 * 1024 * 1024
MAX_ARTICLES = 20_000
HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编号", "文章编号"),
    "category": ("category", "分类", "类别"),
    "lines": ("lines", "险种", "业务线"),
    "products": ("products", "产品", "产品代码"),
    "owner": ("owner", "负责人"),
    "effective_from": ("effective_from", "生效日期", "生效日"),
    "effective_to": ("effective_to", "失效日期", "截止日期"),
    "question": ("question", "问题", "标题"),
    "answer": ("answer", "答案", "回答", "答复"),
}
REQUIRED = ("code", "category", "question", "answer")
_SEPARATORS = re.compile(r"[,;，；、|]")
_FIELDS = set(HEADERS)


def _yaml_rows(text: str, source: str) -> tuple[list[tuple[int, dict[str, Any]]], list[Reject]]:
    try:
        doc = load_yaml(text, source)
    except ConfigFileError as exc:
        return [], [Reject(exc.line or 1, None, "file", exc.problem)]
    entries = doc.get("articles") if isinstance(doc, Mapping) else doc
    if not isinstance(entries, Sequence):
        return [], [Reject(1, None, "file", "a list of articles, or a mapping with 'articles'")]
    rows, rejects = [], []
    for node in entries:
        line = line_of(node) or line_of(entries) or 1
        if not isinstance(node, Mapping):
            rejects.append(Reject(line, None, "file", "each article is a mapping"))
            continue
        unknown = [str(key) for key in node if key not in _FIELDS]
        for key in unknown:
            rejects.append(Reject(line_of(node, key) or line, key, key, f"unknown field {key!r}"))
        body = {key: value for key, value in node.items() if key in _FIELDS}
        for key in ("effective_from", "effective_to"):
            if isinstance(body.get(key), dt.date):
                body[key] = body[key].isoformat()
        rows.append((line, body))
    return rows, rejects


def _csv_rows(text: str) -> tuple[dict[str, str], list[tuple[int, dict[str, Any]]], list[Reject]]:
    written, rows, rejects = read_table(text, HEADERS, REQUIRED)
    found = []
    for line, values in rows:
        body: dict[str, Any] = dict(values)
        for key in ("lines", "products"):
            if key in body:
                body[key] = [part.strip() for part in _SEPARATORS.split(body[key]) if part.strip()]
        for key in ("effective_from", "effective_to"):
            if key in body:
                body[key] = parse_day(body[key])
        found.append((line, body))
    return written, found, rejects


def check(session: Session, tenant_id: int, text: str, source: str) -> tuple[list[tuple[int, ArticleIn]], ImportResult]:
    """Parse and check every article; nothing is written."""
    is_csv = source.lower().endswith(".csv")
    if is_csv:
        written, rows, rejects = _csv_rows(text)
    else:
        (rows, rejects), written = _yaml_rows(text, source), {}
    result = ImportResult(rows=len(rows), rejects=rejects)
    if len(rows) > MAX_ARTICLES:
        result.rejects.append(Reject(1, None, "file", f"at most {MAX_ARTICLES} articles in one file"))
        return [], result
    known = service.categories_for(session, tenant_id)
    valid: list[tuple[int, ArticleIn]] = []
    seen: dict[str, int] = {}
    for line, body in rows:
        data = validated(ArticleIn, body, line, written, result.rejects)
        if data is None:
            continue
        problems = []
        if data.category is None or data.category not in known:
            problems.append(("category", f"unknown category {data.category!r}"))
        if data.effective_from is None:
            problems.append(("effective_from", "effective_from is required: the date from which the answer applies"))
        elif data.effective_to is not None and data.effective_to < data.effective_from:
            problems.append(("effective_to", "effective_to is before effective_from"))
        if data.owner and repository.user_id_by_name(session, tenant_id, data.owner) is None:
            problems.append(("owner", f"no user {data.owner!r} at this insurer"))
        first = seen.setdefault(data.code, line)
        if first != line:
            problems.append(("code", f"article {data.code} repeats line {first}"))
        for name, message in problems:
            result.rejects.append(Reject(line, written.get(name, name if not is_csv else None), name, message))
        if not problems:
            valid.append((line, data))
    result.rejects.sort(key=lambda r: (r.line, r.column or ""))
    return valid, result


def import_articles(
    session: Session,
    principal: Principal,
    content: bytes | str,
    source: str = "articles.yaml",
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> ImportResult:
    """Import and publish every article in the caller's transaction, or raise :class:`ImportRejected` with the
    report (the caller rolls back). ``source``: the file name (``.csv`` is read as CSV, anything else as YAML)."""
    principal.require(Permission.EDIT_KB)
    principal.require(Permission.APPROVE_KB)
    tenant_id = service.tenant_of(principal)
    if len(content) > MAX_IMPORT_BYTES:
        raise Problem(413, "file", f"file larger than {MAX_IMPORT_BYTES} bytes")
    text = decode(content) if isinstance(content, bytes) else content
    valid, result = check(session, tenant_id, text, source)
    result.dry_run = dry_run
    if result.rejects:
        raise ImportRejected(result)
    existing = repository.existing_codes(session, [data.code for _, data in valid])
    result.existing = len(existing)
    result.created = len(valid) - len(existing)
    if dry_run:
        return result
    for _, data in valid:
        if data.code in existing:
            continue
        article = service.create_article(session, principal, data, at=now)
        version = service.get_version(session, article, 1)
        service.publish(session, article, version, principal.actor, now)
        service.audit_import(session, article, principal.actor, source)
        result.numbers.append(article.code)
    return result

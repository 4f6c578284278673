"""Knowledge-base search in Chinese: jieba terms indexed in the database, ranked the same way on both databases.

- :func:`terms`: jieba's search-mode segmentation (a long word also yields its shorter words: 增值税专用发票 →
  增值, 专用, 发票, 增值税, 增值税专用发票), with the complaint dictionary of insurance terms plus
  ``defaults/kb/userdict.txt``; stopwords (``defaults/kb/stopwords.txt``), punctuation, underscores and bare
  numbers out; latin lower-cased. A term is letters and digits only, so both databases see it as one token.
- :func:`document_terms`: what an article stores in ``search_terms`` when a version is published: the question's
  terms twice (a match on the question counts more), then the answer's.
- :func:`search`: two stages. (1) The database finds the published, effective articles of the tenant that match
  ANY query term through its full-text index and pre-ranks them with its own function: SQLite FTS5 ``MATCH`` on
  ``kb_search`` ordered by ``bm25()``; PostgreSQL ``search_vector @@ to_tsquery('simple', 't1 | t2 …')`` (the
  stored ``to_tsvector('simple', search_terms)`` under the GIN index ``ix_kb_articles_search``) by ``ts_rank``.
  At most :data:`CANDIDATES` are kept. (2) Those candidates are ranked by Okapi BM25 computed here over their
  stored terms, the document frequencies counted among the candidates. With fewer candidates than the cap (every
  article containing a query term is then a candidate) the order is the same on both databases, which the
  labelled-set test checks; the databases' own functions only decide which candidates a very common query keeps.
- :func:`suggest`: the articles for a service request's text, for its line.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimwatch.complaints import terms as complaint_terms
from claimwatch.complaints.terms import USER_DICTIONARY as COMPLAINT_DICTIONARY
from claimwatch.config import PACKAGE_DIR
from claimwatch.kb.models import KbArticle, KbArticleVersion

DEFAULTS = PACKAGE_DIR / "defaults" / "kb"
USER_DICTIONARY = DEFAULTS / "userdict.txt"
STOPWORDS = DEFAULTS / "stopwords.txt"
SYNONYMS = DEFAULTS / "synonyms.txt"
CANDIDATES = 60  # stage 1 keeps this many; stage 2 ranks them
# Stage 1 matches at most about this many postings: the query's rarest terms are kept until their document
# frequencies add up to it (the commonest terms, with the least weight, still count in stage 2's score). A small
# knowledge base never reaches it, so every term is matched.
POSTINGS_BUDGET = 1500
# SQLite: each indexed row starts with its insurer's token, a number no query term can be (terms are never bare
# numbers), so the tenant filter is part of the MATCH and costs no read of the unindexed tenant_id column.
_TENANT_TOKEN_BASE = 7_000_000_000
MAX_QUERY_TERMS = 32  # a pasted letter is cut to its first distinct terms
MAX_LIMIT = 50
K1, B = 1.2, 0.75  # BM25
_PIECES = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"^\d+$")
# rowid is the article's id: stage 1 reads no unindexed column of the rows it ranks.
_SEARCH_TABLE = sa.table(
    "kb_search", sa.column("rowid"), sa.column("search_terms"), sa.column("tenant_id"), sa.column("article_id")
)


def _words(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


class Segmenter:
    """jieba with the insurance dictionaries; built once per process (the default dictionary is shared with the
    complaint keywords: :func:`claimwatch.complaints.terms.tokenizer`)."""

    def __init__(self) -> None:
        self._tokenizer = complaint_terms.tokenizer(COMPLAINT_DICTIONARY, USER_DICTIONARY)
        self.stopwords = frozenset(word.lower() for word in _words(STOPWORDS))
        self.synonyms: dict[str, list[str]] = {}
        for line in _words(SYNONYMS):
            said, _, meant = line.partition("=>")
            expansion = self.terms(meant)
            for word in said.split():
                self.synonyms.setdefault(word.lower(), []).extend(expansion)

    def terms(self, text: str) -> list[str]:
        found: list[str] = []
        for token in self._tokenizer.cut_for_search(text or ""):
            for piece in _PIECES.findall(token.lower()):
                if not _NUMBER.match(piece) and piece not in self.stopwords:
                    found.append(piece)
        return found


_segmenter: Segmenter | None = None
_lock = threading.Lock()


def segmenter() -> Segmenter:
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                _segmenter = Segmenter()
    return _segmenter


def terms(text: str) -> list[str]:
    """The search terms of a text, in order, repeats kept."""
    return segmenter().terms(text)


def document_terms(question: str, answer: str) -> str:
    """``search_terms`` of a published version: the question's terms twice, then the answer's."""
    asked = terms(question)
    return " ".join([*asked, *asked, *terms(answer)])


def query_terms(text: str) -> list[str]:
    """The distinct terms of a query, in order of first appearance, each followed by the article words it stands
    for (``defaults/kb/synonyms.txt``: 改 → 变更, 车祸 → 交通事故 …); at most :data:`MAX_QUERY_TERMS`.

    A synonym's left side may be a stopword (改, 换) or a word jieba does not cut out alone, so the expansion
    looks at jieba's raw tokens as well as the terms."""
    seg = segmenter()
    found: list[str] = []
    for token in seg._tokenizer.cut_for_search(text or ""):
        lowered = token.lower()
        found.extend(
            piece for piece in _PIECES.findall(lowered) if not _NUMBER.match(piece) and piece not in seg.stopwords
        )
        found.extend(seg.synonyms.get(lowered, ()))
    return list(dict.fromkeys(found))[:MAX_QUERY_TERMS]


# -- the index (SQLite's FTS table; PostgreSQL's expression index needs nothing) -----------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def tenant_token(tenant_id: int) -> str:
    return str(_TENANT_TOKEN_BASE + tenant_id)


def index_article(session: Session, article: KbArticle) -> None:
    """Put the article's published terms in the index (after ``search_terms`` changed). SQLite's row is the
    insurer's token and the terms; PostgreSQL's expression index follows ``search_terms`` by itself."""
    if _dialect(session) != "sqlite":
        return
    unindex_article(session, article)
    session.execute(
        sa.insert(_SEARCH_TABLE).values(
            rowid=article.id,
            search_terms=f"{tenant_token(article.tenant_id)} {article.search_terms}",
            tenant_id=article.tenant_id,
            article_id=article.id,
        )
    )


def unindex_article(session: Session, article: KbArticle) -> None:
    """Take a retired article out of the index."""
    if _dialect(session) == "sqlite":
        session.execute(sa.delete(_SEARCH_TABLE).where(_SEARCH_TABLE.c.rowid == article.id))


# -- search ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    article_id: int
    code: str
    category: str
    title: str
    answer: str
    lines: list[str]
    score: float
    matched: list[str]  # the query terms the article contains

    def as_dict(self) -> dict[str, object]:
        return {
            "article_id": self.article_id,
            "code": self.code,
            "category": self.category,
            "title": self.title,
            "answer": self.answer,
            "lines": self.lines,
            "score": round(self.score, 4),
            "matched": self.matched,
        }


def _candidates(
    session: Session, tenant_id: int, wanted: list[str], on: dt.date, category: str | None
) -> list[tuple[int, str, list[str]]]:
    """Stage 1: (id, search_terms, lines) of up to CANDIDATES matching articles, best first by the database."""
    columns = (KbArticle.id, KbArticle.search_terms, KbArticle.lines)
    live = (
        KbArticle.tenant_id == tenant_id,
        KbArticle.status == "published",
        KbArticle.effective_from <= on,
        sa.or_(KbArticle.effective_to.is_(None), KbArticle.effective_to >= on),
        *((KbArticle.category == category,) if category else ()),
    )
    wanted = _rarest(session, wanted)
    if not wanted:
        return []
    if _dialect(session) == "sqlite":
        fts: sa.ColumnClause[Any] = sa.literal_column("kb_search")
        terms_match = " OR ".join(f'"{term}"' for term in wanted)
        # The index's best matches first (bm25 over the matched rows only), then the article's state and dates.
        best = (
            sa.select(_SEARCH_TABLE.c.rowid.label("article_id"), sa.func.bm25(fts).label("score"))
            .where(fts.op("MATCH")(f'"{tenant_token(tenant_id)}" AND ({terms_match})'))
            .order_by(sa.func.bm25(fts))
            .limit(CANDIDATES * (10 if category else 4))
            .subquery()
        )
        statement = (
            sa.select(*columns)
            .join(best, KbArticle.id == best.c.article_id)
            .where(*live)
            .order_by(best.c.score, KbArticle.id)
        )
    else:
        # search_vector: PostgreSQL's stored to_tsvector('simple', search_terms) (migration 0029, not in the ORM),
        # under the GIN index ix_kb_articles_search; ts_rank reads it instead of parsing each match again.
        vector: sa.ColumnClause[Any] = sa.literal_column("kb_articles.search_vector")
        query = sa.func.to_tsquery(sa.literal_column("'simple'"), " | ".join(f"'{term}'" for term in wanted))
        # At most POSTINGS_BUDGET matches are ranked: a query whose rarest useful term is in more articles than that
        # (a very general word) is ranked among the first of them the index returns. Below it, every match is.
        matches = (
            sa.select(KbArticle.id.label("id"), sa.func.ts_rank(vector, query).label("score"))
            .where(vector.op("@@")(query), *live)
            .limit(POSTINGS_BUDGET)
            .cte("matches")
        )
        statement = (
            sa.select(*columns)
            .join(matches, matches.c.id == KbArticle.id)
            .order_by(matches.c.score.desc(), KbArticle.id)
        )
    rows = session.execute(statement.limit(CANDIDATES)).all()
    return [(row.id, row.search_terms, list(row.lines or [])) for row in rows]


def _frequencies(session: Session, wanted: list[str]) -> dict[str, int]:
    """About how many indexed articles (every insurer's) contain each term.

    SQLite: exact, one FTS5 count a term (it reads only the term's doclist). PostgreSQL: counting a common term
    reads thousands of rows, so the estimate comes from the column's statistics (``pg_stats.most_common_elems``,
    the commonest lexemes' shares, which ANALYZE and autovacuum keep): a term not listed is rarer than every
    listed one and counts as 0. Before the first ANALYZE (a new, small table) the terms are counted."""
    if _dialect(session) == "sqlite":
        fts: sa.ColumnClause[Any] = sa.literal_column("kb_search")
        return {
            term: int(
                session.execute(
                    sa.select(sa.func.count()).select_from(_SEARCH_TABLE).where(fts.op("MATCH")(f'"{term}"'))
                ).scalar_one()
            )
            for term in wanted
        }
    stats = session.execute(
        sa.text(
            "SELECT s.most_common_elems::text::text[] AS elems, s.most_common_elem_freqs AS freqs, c.reltuples "
            "FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename AND c.relnamespace = "
            "(SELECT oid FROM pg_namespace WHERE nspname = s.schemaname) "
            "WHERE s.schemaname = current_schema() AND s.tablename = 'kb_articles' AND s.attname = 'search_vector'"
        )
    ).first()
    if stats is not None and stats.elems:
        share = dict(zip(stats.elems, stats.freqs, strict=False))
        return {term: round(share.get(term, 0.0) * max(stats.reltuples, 0)) for term in wanted}
    vector: sa.ColumnClause[Any] = sa.literal_column("search_vector")
    return {
        term: int(
            session.execute(
                sa.select(sa.func.count())
                .select_from(sa.table("kb_articles"))
                .where(vector.op("@@")(sa.func.to_tsquery(sa.literal_column("'simple'"), f"'{term}'")))
            ).scalar_one()
        )
        for term in wanted
    }


def _rarest(session: Session, wanted: list[str]) -> list[str]:
    """The query's terms, rarest first, while their document frequencies add up to at most
    :data:`POSTINGS_BUDGET`, and always the rarest term known to be in the index. SQLite drops terms in no
    article; PostgreSQL's estimate cannot tell, so a term it does not list is kept (it costs nothing if absent).
    This only chooses which terms stage 1 matches; the scores come from the insurer's candidates alone."""
    frequency = _frequencies(session, wanted)
    exact = _dialect(session) == "sqlite"
    kept: list[str] = []
    total = 0
    known = False
    for term in sorted(wanted, key=lambda t: (frequency[t], t)):
        if frequency[term] == 0:
            if not exact:
                kept.append(term)
            continue
        if known and total + frequency[term] > POSTINGS_BUDGET:
            break
        kept.append(term)
        total += frequency[term]
        known = True
    return kept


def rank(wanted: list[str], documents: list[tuple[int, str]]) -> list[tuple[int, float, list[str]]]:
    """Stage 2: Okapi BM25 of each (id, search_terms) for the query terms, document frequencies counted among
    ``documents``; best first, then by id. Pure: the same on both databases."""
    if not documents:
        return []
    wanted_set = set(wanted)
    counted = [(article_id, Counter(text.split())) for article_id, text in documents]
    lengths = {article_id: sum(counts.values()) for article_id, counts in counted}
    average = sum(lengths.values()) / len(lengths) or 1.0
    frequency = Counter(term for _, counts in counted for term in wanted_set if counts[term])
    total = len(counted)
    idf = {term: math.log(1 + (total - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}
    scored = []
    for article_id, counts in counted:
        score, matched = 0.0, []
        norm = K1 * (1 - B + B * lengths[article_id] / average)
        for term in wanted:
            tf = counts[term]
            if tf:
                matched.append(term)
                score += idf[term] * tf * (K1 + 1) / (tf + norm)
        if matched:
            scored.append((article_id, score, matched))
    scored.sort(key=lambda item: (-round(item[1], 9), item[0]))
    return scored


def search(
    session: Session,
    tenant_id: int,
    query: str,
    limit: int = 10,
    on: dt.date | None = None,
    *,
    category: str | None = None,
    line: str | None = None,
) -> list[Hit]:
    """The published articles in effect ``on`` (default today, UTC) best answering ``query``; ``line``: only
    articles for that line or for all lines. No term (only stopwords or punctuation): no hit."""
    wanted = query_terms(query)
    if not wanted:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    found = _candidates(session, tenant_id, wanted, on or dt.datetime.now(dt.UTC).date(), category)
    if line:
        found = [row for row in found if not row[2] or line in row[2]]
    ranked = rank(wanted, [(article_id, text) for article_id, text, _ in found])[:limit]
    if not ranked:
        return []
    ids = [article_id for article_id, _, _ in ranked]
    rows = session.execute(
        sa.select(KbArticle, KbArticleVersion.answer)
        .join(KbArticleVersion, KbArticleVersion.id == KbArticle.published_version_id)
        .where(KbArticle.id.in_(ids))
    ).all()
    by_id = {article.id: (article, answer) for article, answer in rows}
    hits = []
    for article_id, score, matched in ranked:
        if article_id in by_id:
            article, answer = by_id[article_id]
            hits.append(
                Hit(
                    article.id,
                    article.code,
                    article.category,
                    article.title,
                    answer,
                    list(article.lines or []),
                    score,
                    matched,
                )
            )
    return hits


def suggest(
    session: Session, tenant_id: int, text: str, line: str | None = None, on: dt.date | None = None, limit: int = 3
) -> list[Hit]:
    """Suggested articles for a service request's text (subject and description), for its line when known."""
    return search(session, tenant_id, text, limit, on, line=line)


def snippet(answer: str, matched: list[str], width: int = 80) -> str:
    """About ``width`` characters of the answer around the first matched term (for result lists)."""
    text = " ".join(answer.split())
    if len(text) <= width:
        return text
    positions = [text.lower().find(term) for term in matched]
    first = min((p for p in positions if p >= 0), default=0)
    start = max(0, min(first - width // 4, len(text) - width))
    return ("…" if start else "") + text[start : start + width] + ("…" if start + width < len(text) else "")

"""Knowledge-base search over 50 000 articles, on SQLite and PostgreSQL in one run.

    .venv/bin/python bench/kb_search.py [--articles 50000] [--databases sqlite,postgresql] [--pg-url URL]
                                        [--rounds 5] [--baseline-queries 46]

Setup (not measured): a fresh database (an SQLite file in a temp dir, under BENCH_TMP when set; a PostgreSQL
database created for the run and dropped after), migrated, one insurer; ``--articles`` published articles
generated from the sample ones (src/claimwatch/defaults/kb/sample_articles.yaml) with variations: each takes a
sample article's question and answer, a product name and a city, one sentence of another sample answer, and four
words drawn from jieba's dictionary (a long tail of vocabulary such as a real knowledge base has, so that not
every term is in a thousand articles); ``search_terms`` are the sample's jieba terms plus those of the additions
(what ``search.document_terms`` stores). Rows are written by ``db.bulk_insert`` (COPY on PostgreSQL), the SQLite
FTS5 table filled from them, then ANALYZE.

Measured, after one warm-up, in one open session as a request has it:
  search: ``kb.search.search(session, tenant, q, 10, on)`` for each of the 46 labelled customer questions
          (tests/data/kb/questions.yaml), ``--rounds`` times: jieba terms, the index query (FTS5 bm25 / GIN with
          ts_rank), the BM25 re-ranking and the answers of the ten hits. p50, p95, p99 and max in ms.
  baseline: the same ranking without the full-text index: every article whose ``search_terms`` contains a
          query term by ``LIKE '%term%'`` (a scan of the table), ranked the same way, for ``--baseline-queries``
          of the questions. Ratio baseline p50 / search p50.
Goal: search p99 ≤ 20 ms. Writes bench/results/kb_search-<db>-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import or_, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import bench_databases  # noqa: E402 - the bench folder is on sys.path when run as a script
from claimwatch import db, migrate  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.kb import search  # noqa: E402
from claimwatch.kb.models import KbArticle  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "claimwatch" / "defaults" / "kb" / "sample_articles.yaml"
QUESTIONS = ROOT / "tests" / "data" / "kb" / "questions.yaml"
DEFAULT_PG = os.environ.get("CLAIMWATCH_TEST_PG_URL", "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).resolve().parent / "results"
GOAL_MS = 20.0
ON = dt.date(2026, 3, 1)
BATCH = 10_000
PRODUCTS = [
    f"{a}{b}{n}号"
    for a in ("安心", "康宁", "福佑", "鑫享", "守护", "畅行", "乐享", "金福")
    for b in "保险宝"
    for n in range(1, 9)
]
CITIES = "北京 上海 广州 深圳 成都 重庆 杭州 南京 武汉 西安 郑州 长沙 沈阳 青岛 厦门 昆明 南宁 贵阳 哈尔滨 福州".split()
ARTICLE_COLUMNS = (
    "id", "tenant_id", "code", "category", "lines", "products", "status", "published_version_id", "title",
    "effective_from", "reviewed_at", "search_terms", "helpful_yes", "helpful_no", "created_by", "created_at",
    "updated_at",
)  # fmt: skip
VERSION_COLUMNS = (
    "id", "tenant_id", "article_id", "version", "question", "answer", "status", "author", "created_at",
    "reviewed_by", "reviewed_at",
)  # fmt: skip


def _dictionary_words(rng: random.Random) -> list[str]:
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    words = [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    words = [w for w in words if 2 <= len(w) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in w)]
    return rng.sample(words, 20_000)


def generate(count: int) -> list[tuple[str, str, str, str, list[str], str]]:
    """(code, category, question, answer, lines, search_terms) of ``count`` articles."""
    rng = random.Random(17)
    samples = [a for a in yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["articles"] if not a.get("effective_to")]
    vocabulary = _dictionary_words(rng)
    sentences = [s + "。" for a in samples for s in a["answer"].split("。") if len(s) > 8]
    asked = {a["code"]: search.terms(a["question"]) for a in samples}
    answered = {a["code"]: search.terms(a["answer"]) for a in samples}
    sentence_terms = {s: search.terms(s) for s in sentences}
    found = []
    for i in range(count):
        base = samples[i % len(samples)]
        product, city = rng.choice(PRODUCTS), rng.choice(CITIES)
        extra = rng.choice(sentences)
        words = rng.sample(vocabulary, 4)
        question = f"{base['question']}（{product}）"
        answer = f"{base['answer']}{city}地区：{extra}相关：{'、'.join(words)}。"
        added = search.terms(f"{product} {city} {' '.join(words)}")
        q_terms = asked[base["code"]] + search.terms(product)
        terms = [*q_terms, *q_terms, *answered[base["code"]], *added, *sentence_terms[extra]]
        found.append((f"G{i:06d}", base["category"], question, answer, list(base.get("lines") or []), " ".join(terms)))
    return found


def load(url: str, dialect: str, articles: list[tuple[str, str, str, str, list[str], str]]) -> int:
    migrate.upgrade(url)
    db.configure(url)
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_id = tenancy_service.create_tenant(session, code="BENCH", name="基准保险", actor="bench").id
    now = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    start = ON - dt.timedelta(days=400)
    day: Any = start.isoformat() if dialect == "sqlite" else start
    article_stamps = sum(1 << i for i, name in enumerate(ARTICLE_COLUMNS) if name.endswith("_at"))
    version_stamps = sum(1 << i for i, name in enumerate(VERSION_COLUMNS) if name.endswith("_at"))
    for offset in range(0, len(articles), BATCH):
        article_rows, version_rows = [], []
        for index, (code, category, question, answer, lines, terms) in enumerate(articles[offset : offset + BATCH]):
            row_id = offset + index + 1
            article_rows.append(
                (row_id, tenant_id, code, category, json.dumps(lines), "[]", "published", row_id, question[:300], day,
                 now, terms, 0, 0, "bench", now, now)
            )  # fmt: skip
            version_rows.append(
                (row_id, tenant_id, row_id, 1, question[:300], answer, "approved", "bench", now, "bench", now)
            )
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            db.bulk_insert(session, "kb_articles", ARTICLE_COLUMNS, article_rows, article_stamps)
            db.bulk_insert(session, "kb_article_versions", VERSION_COLUMNS, version_rows, version_stamps)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        if dialect == "sqlite":
            session.execute(
                text(
                    "INSERT INTO kb_search (rowid, search_terms, tenant_id, article_id) "
                    "SELECT id, :token || ' ' || search_terms, tenant_id, id FROM kb_articles"
                ),
                {"token": search.tenant_token(tenant_id)},
            )
            session.execute(text("INSERT INTO kb_search (kb_search) VALUES ('optimize')"))
        if dialect == "sqlite":
            session.execute(text("ANALYZE"))
    if dialect != "sqlite":  # what autovacuum does after a bulk load: statistics and the visibility map
        with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return tenant_id


def baseline(session: Any, tenant_id: int, query: str) -> list[int]:
    """The same ranking without the index: a LIKE scan for the query terms."""
    wanted = search.query_terms(query)
    rows = session.execute(
        select(KbArticle.id, KbArticle.search_terms).where(
            KbArticle.status == "published", or_(*(KbArticle.search_terms.like(f"%{term}%") for term in wanted))
        )
    ).all()
    return [article_id for article_id, _, _ in search.rank(wanted, [(r.id, r.search_terms) for r in rows])[:10]]


def _figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1] * 1000, "n": len(ordered)}


def run(dialect: str, pg_url: str, articles: list[Any], rounds: int, baseline_queries: int) -> dict[str, Any]:
    questions = [q["q"] for q in yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["questions"]]
    with bench_databases.database(dialect, pg_url, "kb") as url:
        started = time.perf_counter()
        tenant_id = load(url, dialect, articles)
        setup = time.perf_counter() - started
        timings, hits = [], []
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            for q in questions:  # warm-up
                search.search(session, tenant_id, q, 10, ON)
            for _ in range(rounds):
                for q in questions:
                    begun = time.perf_counter()
                    found = search.search(session, tenant_id, q, 10, ON)
                    timings.append(time.perf_counter() - begun)
                    hits.append(len(found))
            base = []
            for q in questions[:baseline_queries]:
                begun = time.perf_counter()
                baseline(session, tenant_id, q)
                base.append(time.perf_counter() - begun)
    result: dict[str, Any] = {
        "database": dialect,
        "articles": len(articles),
        "setup_seconds": round(setup, 1),
        "search_ms": {k: round(v, 2) for k, v in _figures(timings).items()},
        "baseline_like_scan_ms": {k: round(v, 2) for k, v in _figures(base).items()},
        "mean_hits": round(statistics.mean(hits), 1),
        "goal_p99_ms": GOAL_MS,
    }
    result["ratio_baseline_p50_over_search_p50"] = round(
        result["baseline_like_scan_ms"]["p50"] / result["search_ms"]["p50"], 1
    )
    result["within_goal"] = result["search_ms"]["p99"] <= GOAL_MS
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-queries", type=int, default=46)
    args = parser.parse_args()
    search.segmenter()  # built once per process, as in the server
    begun = time.perf_counter()
    articles = generate(args.articles)
    print(f"generated {len(articles)} articles in {time.perf_counter() - begun:.1f} s")
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    for dialect in args.databases.split(","):
        result = run(dialect, args.pg_url, articles, args.rounds, args.baseline_queries)
        s, b = result["search_ms"], result["baseline_like_scan_ms"]
        print(
            f"[{dialect}] {result['articles']} articles (setup {result['setup_seconds']} s): search p50 {s['p50']:.1f} "
            f"p95 {s['p95']:.1f} p99 {s['p99']:.1f} max {s['max']:.1f} ms over {s['n']} queries "
            f"({result['mean_hits']} hits each); baseline LIKE scan p50 {b['p50']:.1f} p99 {b['p99']:.1f} ms; "
            f"ratio {result['ratio_baseline_p50_over_search_p50']}x; goal p99 ≤ {GOAL_MS:.0f} ms: "
            f"{'met' if result['within_goal'] else 'NOT met'}"
        )
        (RESULTS / f"kb_search-{dialect}-{stamp}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

"""The customer-service knowledge base (客户咨询知识库, seed 002; DESIGN M19): articles answering common
questions, classified for handlers, versioned with review and approval, searchable in Chinese, suggested on a
service request from its text, with "was this helpful" feedback and a stale-article report.

Search: the published version's question and answer are segmented with jieba (``search_terms``: space-separated
terms) and indexed in the database — an SQLite FTS5 table ``kb_search`` (created by the migration on SQLite
only; not in the ORM metadata) and, on PostgreSQL, a stored generated column ``search_vector`` =
``to_tsvector('simple', search_terms)`` with a GIN index (also outside the ORM metadata).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class KbArticle(TenantScoped, Base):
    """One article. ``code`` unique per tenant; ``category`` from ``defaults/kb/categories.yaml``; ``lines`` and
    ``products`` it concerns (empty: all). ``status``: draft (never published) | published | retired.
    ``published_version_id`` is what handlers and search see; a new version is a draft until approved.
    ``effective_from``/``effective_to``: outside them the article is not suggested. ``reviewed_at``: the last
    approval (the stale report lists articles not reviewed for N months). ``search_terms``: the published
    version's jieba terms."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_kb_articles_tenant_status_category", "tenant_id", "status", "category"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    published_version_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    title: Mapped[str] = mapped_column(String(300))  # the published (else first) version's question
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    search_terms: Mapped[str] = mapped_column(Text, default="")
    helpful_yes: Mapped[int] = mapped_column(Integer, default=0)
    helpful_no: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class KbArticleVersion(TenantScoped, Base):
    """A version of an article's question and answer. ``status``: draft → submitted (for review) → approved
    (published; the previous published version stays as history) | rejected (with ``review_note``). The author
    may not approve their own version."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "article_id", "version"),
        Index("ix_kb_article_versions_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(BigId, ForeignKey("kb_articles.id"))
    version: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class KbFeedback(TenantScoped, Base):
    """ "Was this helpful": one answer per user (or request) and article; ``request_id`` when given from a service
    request the article was used on."""

    __tablename__ = "kb_feedback"
    __table_args__ = (Index("ix_kb_feedback_tenant_article", "tenant_id", "article_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(BigId, ForeignKey("kb_articles.id"))
    request_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    given_by: Mapped[str] = mapped_column(String(100))
    given_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

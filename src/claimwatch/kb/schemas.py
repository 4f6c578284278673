"""The knowledge-base API's bodies and views: an article (question, answer, category, lines, products,
effective dates), a new version, a review, feedback, search hits and the stale report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimwatch.params import RowId

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
ArticleCode = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE_PATTERN)]
Tag = Annotated[str, Field(min_length=1, max_length=48)]
MAX_QUESTION = 300
MAX_ANSWER = 8000


class ArticleMetaIn(BaseModel):
    """What an article is about and when it applies; every field optional on an update."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=32)
    lines: list[Tag] | None = Field(default=None, max_length=20, description="empty: every line")
    products: list[Tag] | None = Field(default=None, max_length=50, description="empty: every product")
    owner: str | None = Field(default=None, max_length=100, description="username of the owner")
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER)


class ArticleIn(ArticleMetaIn, VersionIn):
    """A new article: its first version is a draft. ``effective_from`` is required (refused naming it)."""

    code: ArticleCode


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000, description="required to reject")


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    helpful: bool
    comment: str | None = Field(default=None, max_length=2000)
    request_id: RowId | None = Field(default=None, description="the service request the article was used on")


class VersionOut(BaseModel):
    version: int
    status: str
    question: str
    answer: str
    author: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    review_note: str | None
    published: bool


class ArticleOut(BaseModel):
    id: int
    code: str
    category: str
    category_label: str
    lines: list[str]
    products: list[str]
    owner: str | None
    status: str
    title: str
    question: str | None
    answer: str | None
    effective_from: dt.date
    effective_to: dt.date | None
    reviewed_at: dt.datetime | None
    helpful_yes: int
    helpful_no: int
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    versions: list[VersionOut] = []


class HitOut(BaseModel):
    article_id: int
    code: str
    category: str
    title: str
    answer: str
    snippet: str
    lines: list[str]
    score: float
    matched: list[str]


class SearchOut(BaseModel):
    query: str
    terms: list[str]
    items: list[HitOut]


class FeedbackOut(BaseModel):
    code: str
    helpful: bool
    helpful_yes: int
    helpful_no: int


class StaleOut(BaseModel):
    code: str
    title: str
    category: str
    owner: str | None
    reviewed_at: dt.datetime | None
    helpful_yes: int
    helpful_no: int
    helpful_share: float | None
    reasons: list[str]

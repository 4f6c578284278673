"""Worker heartbeats: one row per (pass kind, worker process), written after every pass.

Not tenant-scoped: the worker is the platform's, and one sweep works every insurer's clocks. Sessions that
read or write these rows use the system context.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.db import Base, UTCDateTime


class WorkerHeartbeat(Base):
    """What one worker process last did for one kind of pass (``sweep``, ``delivery``, ``surveys``,
    ``kpi_snapshot``, ``periodic_plans``, ``assignment``, ``purge``, … any name a pass gives itself).

    ``interval_seconds``: how often the worker means to run the pass (its staleness threshold is three
    times that, at least CLAIMWATCH_HEARTBEAT_STALE_SECONDS). ``last_ok_at``: the end of the last pass that
    succeeded; a pass that raises moves ``last_finished_at`` but not ``last_ok_at``, so a worker that is
    alive but failing goes stale too. ``last_error``: the exception's class and a scrubbed, cut message.
    ``duration_seconds``/``items``: the last pass's wall time and what it handled (the sweep: clocks due
    and checked; delivery: messages claimed), for /metrics.
    """

    __tablename__ = "worker_heartbeats"
    __table_args__ = (UniqueConstraint("kind", "worker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    worker_id: Mapped[str] = mapped_column(String(200))  # host:pid
    interval_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_ok_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_ok: Mapped[bool] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    passes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    items: Mapped[int | None] = mapped_column(Integer, nullable=True)


class StaleEpisode(Base):
    """A period during which at least one heartbeat kind was stale. Admins are told once per episode:
    ``open`` is 1 while the episode lasts and NULL once closed, and unique, so two web processes that see
    the same silence at once open one episode and send one notice."""

    __tablename__ = "worker_stale_episodes"
    __table_args__ = (UniqueConstraint("open"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    kinds: Mapped[str] = mapped_column(String(300))
    open: Mapped[int | None] = mapped_column(Integer, nullable=True, default=1)

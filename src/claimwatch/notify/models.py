from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class StaffNotification(TenantScoped, Base):
    """A notice to staff of a role in an org unit (or to one user), e.g. a yellow SLA escalation.

    ``status`` starts ``queued``; the routing pass (``notify.jobs.route_notices``) fans it out to its
    users (one :class:`StaffInboxItem` each), writes the e-mail and group-robot outbox rows their
    preferences ask for, and sets it ``routed``. ``link`` is the page it is about (a claim's is derived
    from ``claim_id``)."""

    __tablename__ = "staff_notifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index("ix_staff_notifications_tenant_role", "tenant_id", "recipient_role", "status"),
        Index("ix_staff_notifications_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_role: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # A link for the page, without a foreign key: the SLA sweep writes notices in bulk and the check locked a claim row
    # per notice (0032_sweep); claims are never deleted.
    claim_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    dedupe_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    link: Mapped[str | None] = mapped_column(String(200), nullable=True)
    routed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class StaffInboxItem(TenantScoped, Base):
    """One staff notice in one user's in-app inbox (the bell). Unique per (notice, user): routing twice
    writes nothing new. ``digest``: ``held`` while it waits for the user's daily digest e-mail, ``sent``
    once the digest of ``digest_day`` (the user's local day) listed it."""

    __tablename__ = "staff_inbox"
    __table_args__ = (
        UniqueConstraint("notification_id", "user_id"),
        Index("ix_staff_inbox_user", "tenant_id", "user_id", "read_at", "id"),
        Index("ix_staff_inbox_digest", "digest", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("staff_notifications.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    digest: Mapped[str | None] = mapped_column(String(8), nullable=True)
    digest_day: Mapped[str | None] = mapped_column(String(10), nullable=True)


class StaffNotifyPreference(TenantScoped, Base):
    """A user's choice for one kind of notice on one channel: ``instant``, ``digest`` or ``off``
    (the defaults are ``notify.staff_notices.DEFAULT_EMAIL``; in-app is always on)."""

    __tablename__ = "staff_notify_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "channel"),
        Index("ix_staff_notify_prefs_tenant", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class StaffNotifyProfile(TenantScoped, Base):
    """The language a user's notices are written in (zh unless chosen)."""

    __tablename__ = "staff_notify_profiles"
    __table_args__ = (UniqueConstraint("user_id"), Index("ix_staff_notify_profiles_tenant", "tenant_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class NotifyRobot(TenantScoped, Base):
    """A WeCom (企业微信) or DingTalk (钉钉) group robot that gets the tenant's staff notices, optionally only
    those of an org unit's subtree and of some kinds (comma list; empty: all). The webhook URL (it carries
    the robot's token) and DingTalk's signing secret are encrypted at rest."""

    __tablename__ = "notify_robots"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(16))  # wecom | dingtalk
    url_enc: Mapped[str] = mapped_column(String(1000))
    secret_enc: Mapped[str | None] = mapped_column(String(400), nullable=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    kinds: Mapped[str | None] = mapped_column(String(400), nullable=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class MessageStatus:
    """What became of an outbox message. ``queued`` and ``failed`` are still to be (re)tried."""

    QUEUED = "queued"
    SENT = "sent"  # handed to the channel (SMTP accepted, gateway accepted)
    DELIVERED = "delivered"  # the receiver acknowledged it (webhook 2xx)
    FAILED = "failed"  # the last attempt failed; another follows at next_attempt_at
    OPTED_OUT = "opted_out"  # the claimant opted out of this channel: never sent
    DEAD = "dead"  # every attempt failed (dead letter); staff may resend

    PENDING = (QUEUED, FAILED)
    DONE = (SENT, DELIVERED)
    ALL = (QUEUED, SENT, DELIVERED, FAILED, OPTED_OUT, DEAD)


class OutboxMessage(TenantScoped, Base):
    """A message to a claimant, written in the same transaction as the change that causes it.

    The recipient address is encrypted at rest; ``recipient_hash`` is its keyed hash (for webhook
    and WeChat: the claimant's phone hash), which is what opt-outs match. ``subject``/``body`` are
    the rendered text as the claimant sees it, scrubbed of ID, phone and card numbers; a message
    carrying a secret (a one-time code) keeps the text to send encrypted in ``secret_body_enc`` and
    shows staff the masked ``body``. ``idempotency_key`` is unique per tenant and travels with every
    delivery attempt (email Message-ID, webhook ``Idempotency-Key``).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_outbox_messages_claim", "claim_id", "id"),
        Index("ix_outbox_messages_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # A message about a complaint with no matched claim (an extension notice, a survey) has no claim;
    # ``reference`` is then the number the customer knows (the complaint's).
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), nullable=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), nullable=True, index=True)
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    # (a group robot's: its URL and signing secret, encrypted together)
    recipient_enc: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    recipient_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    template: Mapped[str] = mapped_column(String(48))
    locale: Mapped[str] = mapped_column(String(8))
    event_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the case event that caused it
    about_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    secret_body_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OptOut(TenantScoped, Base):
    """A claimant (keyed hash of a phone number or email address) wants no messages on a channel
    (``*``: on any channel)."""

    __tablename__ = "notify_opt_outs"
    __table_args__ = (UniqueConstraint("tenant_id", "address_hash", "channel"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PostedNotice(TenantScoped, Base):
    """A legal notice sent by post (保险法 art. 24: the written refusal): who posted it, when, the carrier's
    tracking number. It counts as sent: the notice's clock stops at ``posted_at`` as if a channel had accepted
    it, so a claimant no electronic channel reaches (none known, every one failing, opted out) still gets the
    notice and the clock says when."""

    __tablename__ = "posted_notices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "claim_id", "template", "tracking_number"),
        Index("ix_posted_notices_claim", "claim_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    template: Mapped[str] = mapped_column(String(48))  # the notice: refusal_notice
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    posted_by: Mapped[str] = mapped_column(String(100))
    tracking_number: Mapped[str] = mapped_column(String(64))
    carrier: Mapped[str | None] = mapped_column(String(64), nullable=True)  # e.g. 中国邮政 EMS
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

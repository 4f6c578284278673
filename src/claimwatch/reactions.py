"""Reactions between domains by subscription, so that a publishing domain never imports its subscribers.

A domain publishes what happened (``publish(CASE_EVENTS, session, tenant_id, changes)``) inside the
caller's transaction; the domains that react (sla, notify, and later triage, assignment, the to-do
inbox) subscribe with :func:`subscribe`. Subscribers run synchronously in the same session, so their
rows commit or roll back with the change that caused them.

Subscriptions are declared in each subscribing domain's ``subscriptions.py`` and loaded by
:mod:`claimwatch.subscriptions`; the first publish loads them, so no entry point (app, CLI, worker,
test) can forget to and silently drop a reaction.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

# Topics. The payload of each is named beside it.
CASE_EVENTS = "case_events"  # list[cases.schemas.CaseChange]: claims reported, moved, assigned, re-amounted
CALENDAR_CHANGED = "calendar_changed"  # calendar.service.CalendarChange; subscribers return deadlines moved
COMPLAINTS_RECEIVED = "complaints_received"  # list[complaints.models.Complaint]: new complaints, after intake
QUALITY_ALERTS_RAISED = "quality_alerts_raised"  # list[inspections.special.AlertRef]: new p-chart alerts of one tenant
CLAIMANT_MESSAGES_SENT = "claimant_messages_sent"  # list[notify.events.SentMessage]: accepted by a channel, any tenant
RISK_REVIEWS_DECIDED = "risk_reviews_decided"  # list[risk.review.ReviewDecided]: review decisions of one tenant
# A question a lower domain asks the ones above it (subscribers answer; the asker merges the answers):
HANDLER_AUTHORITY = "handler_authority"  # list[int] user ids -> dict[user id, authority in fen] (assignment's profiles)

Subscriber = Callable[[Session, int | None, Any], Any]

_subscribers: dict[str, list[Subscriber]] = {}
_loaded = False


def subscribe(topic: str) -> Callable[[Subscriber], Subscriber]:
    def register(handler: Subscriber) -> Subscriber:
        handlers = _subscribers.setdefault(topic, [])
        if handler not in handlers:
            handlers.append(handler)
        return handler

    return register


def _load_subscriptions() -> None:
    global _loaded
    if not _loaded:
        # By name: this module sits below every subscriber and must not import them.
        importlib.import_module("claimwatch.subscriptions")
        _loaded = True


def subscribers(topic: str) -> list[Subscriber]:
    _load_subscriptions()
    return list(_subscribers.get(topic, ()))


def publish(topic: str, session: Session, tenant_id: int | None, payload: Any) -> list[Any]:
    """Runs every subscriber of ``topic`` in the caller's session, in subscription order; returns what
    each returned (e.g. how many deadlines it moved)."""
    return [handler(session, tenant_id, payload) for handler in subscribers(topic)]

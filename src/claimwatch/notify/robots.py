"""Group robots (WeCom, DingTalk): a tenant's chat groups that receive the staff notices of chosen kinds and units.
No HTTP here, no commits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.db import utc_now
from claimwatch.notify import repository
from claimwatch.notify.models import (
    NotifyRobot,
)
from claimwatch.notify.service import NotifyError
from claimwatch.notify.staff_notices import KIND_LABELS, ROBOT_PROVIDERS, STAFF_LOCALES
from claimwatch.privacy import field_cipher
from claimwatch.tenancy import repository as tenancy_repository

# -- group robots ---------------------------------------------------------------------------------------


def robot_view(robot: NotifyRobot, org_codes: dict[int, str] | None = None) -> dict[str, Any]:
    url = field_cipher().decrypt(robot.url_enc) or ""
    base, _, query = url.partition("?")
    return {
        "id": robot.id,
        "name": robot.name,
        "provider": robot.provider,
        "url": f"{base}?***" if query else base,  # the query carries the robot's token
        "signed": robot.secret_enc is not None,
        "org": (org_codes or {}).get(robot.org_unit_id) if robot.org_unit_id is not None else None,
        "kinds": [k for k in (robot.kinds or "").split(",") if k],
        "locale": robot.locale,
        "active": robot.active,
        "created_at": robot.created_at,
    }


def list_robots(session: Session) -> list[dict[str, Any]]:
    codes = {unit.id: unit.code for unit in tenancy_repository.org_units(session)}
    return [robot_view(robot, codes) for robot in repository.robots(session)]


def save_robot(
    session: Session,
    tenant_id: int,
    *,
    name: str,
    provider: str,
    url: str,
    secret: str | None = None,
    org: str | None = None,
    kinds: Sequence[str] | None = None,
    locale: str = "zh",
    actor: str,
) -> dict[str, Any]:
    """Add a group robot, or replace the one of that name. ``url``: the robot's webhook address (a WeCom
    robot's https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…, a DingTalk one's
    https://oapi.dingtalk.com/robot/send?access_token=…, or a relay's); ``secret``: DingTalk's 加签 secret."""
    name = name.strip()
    if not name or len(name) > 64:
        raise NotifyError(422, "name", "a name of 1 to 64 characters is required")
    if provider not in ROBOT_PROVIDERS:
        raise NotifyError(422, "provider", f"provider must be one of {', '.join(ROBOT_PROVIDERS)}")
    url = url.strip()
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", url) or len(url) > 500:
        raise NotifyError(422, "url", "the robot's webhook URL (http or https, at most 500 characters)")
    if secret is not None and (len(secret) > 200 or not secret.strip()):
        raise NotifyError(422, "secret", "the signing secret is 1 to 200 characters")
    if secret and provider != "dingtalk":
        raise NotifyError(422, "secret", "only a DingTalk robot signs its messages")
    unknown = [k for k in kinds or () if k not in KIND_LABELS]
    if unknown:
        raise NotifyError(422, "kinds", f"unknown kinds {', '.join(unknown)}")
    if locale not in STAFF_LOCALES:
        raise NotifyError(422, "locale", f"locale must be one of {', '.join(STAFF_LOCALES)}")
    org_unit_id = None
    if org:
        found = tenancy_repository.org_unit_by_code(session, org)
        if found is None:
            raise NotifyError(404, "org", f"unknown org unit {org!r}")
        org_unit_id = found.id
    cipher = field_cipher()
    now = utc_now()
    robot = repository.robot_by_name(session, name)
    if robot is None:
        robot = NotifyRobot(tenant_id=tenant_id, name=name, created_by=actor, created_at=now)
        session.add(robot)
    robot.provider = provider
    robot.url_enc = cipher.encrypt(url) or ""
    robot.secret_enc = cipher.encrypt(secret) if secret else None
    robot.org_unit_id = org_unit_id
    robot.kinds = ",".join(kinds) if kinds else None
    robot.locale = locale
    robot.active = True
    robot.updated_at = now
    session.flush()
    view = robot_view(robot, {org_unit_id: org} if org_unit_id is not None and org else None)
    audit_service.record(
        session,
        tenant_id,
        "config.notify_robot",
        name,
        actor,
        {
            "action": "save",
            "provider": provider,
            "url": view["url"],
            "signed": view["signed"],
            "org": org,
            "kinds": view["kinds"],
            "locale": locale,
        },
    )
    return view


def remove_robot(session: Session, tenant_id: int, name: str, actor: str) -> None:
    robot = repository.robot_by_name(session, name)
    if robot is None:
        raise NotifyError(404, "name", f"no robot {name!r}")
    session.delete(robot)
    session.flush()
    audit_service.record(session, tenant_id, "config.notify_robot", name, actor, {"action": "remove"})

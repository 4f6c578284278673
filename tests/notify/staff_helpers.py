"""Staff for the staff-notice tests: supervisors of two branches (and one at head office), each with an
e-mail address set through the real service, plus a robot receiver on loopback."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify import staff_inbox
from claimwatch.notify.models import StaffInboxItem
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from tests.factories import PASSWORD, TenantHandle

_CSRF = 'name="csrf_token" value="'


@dataclass(frozen=True)
class Staff:
    username: str
    user_id: int
    email: str | None


def add_branch(tenant: TenantHandle, code: str, name: str = "浙江分公司", region: str = "330000") -> None:
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        tenancy_service.add_org_unit(
            session, tenant_id=tenant.id, code=code, name=name, parent_code=f"{tenant.code}-HQ", region_code=region
        )


def add_staff(tenant: TenantHandle, username: str, role: Role, org_code: str | None, email: str | None) -> Staff:
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        unit = tenancy_repository.org_unit_by_code(session, org_code) if org_code else None
        user = auth_service.create_user(
            session,
            username=username,
            password=PASSWORD,
            role=role,
            tenant_id=tenant.id,
            display_name=username,
            org_unit_id=unit.id if unit else None,
        )
        if email:
            staff_inbox.set_user_email(session, tenant.id, username, email, "test")
        return Staff(username, user.id, email)


def inbox_of(tenant_id: int, user_id: int) -> list[StaffInboxItem]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return list(
            session.execute(
                select(StaffInboxItem).where(StaffInboxItem.user_id == user_id).order_by(StaffInboxItem.id)
            ).scalars()
        )


def signed_in(client: TestClient, username: str) -> TestClient:
    page = client.get("/login").text
    token = page.split(_CSRF, 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    client.headers["Origin"] = str(client.base_url).rstrip("/")  # API writes come from the site's own pages
    return client


def csrf(client: TestClient, path: str = "/notifications") -> str:
    return client.get(path).text.split(_CSRF, 1)[1].split('"', 1)[0]


@dataclass
class RobotHit:
    path: str
    query: dict[str, str]
    payload: dict[str, Any]


@dataclass
class RobotReceiver:
    """A group robot on 127.0.0.1: records each POST (path, query, JSON) and answers ``answer``."""

    answer: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    status: int = 200
    hits: list[RobotHit] = field(default_factory=list)

    def start(self) -> RobotReceiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                parsed = urlparse(self.path)
                receiver.hits.append(
                    RobotHit(parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}, json.loads(raw))
                )
                body = json.dumps(receiver.answer).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll: shutdown() waits up to one poll interval (0.5 s by default), paid by every test.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

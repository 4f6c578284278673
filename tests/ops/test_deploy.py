"""The deployment recipes in deploy/ (issue 20, item 5) against the code they configure: the client address behind
a trusted proxy, nginx's body limit against the app's caps, the settings and commands the documents name, and —
where the tools are installed — `nginx -t` and `systemd-analyze verify`."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.auth.models import LoginRecord
from claimwatch.cli import app as cli_app
from claimwatch.config import Settings, get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.web import limits
from tests.apps import shared_app
from tests.auth.test_login_security import attempt

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX_SITE = DEPLOY / "nginx" / "claimwatch.conf"


def _addresses() -> list[str]:
    with unit_of_work(TenantContext.system_reader()) as session:
        return list(session.execute(select(LoginRecord.address).order_by(LoginRecord.id)).scalars())


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(database, monkeypatch):
    spoofed = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
    # Default (127.0.0.1): the test client's peer "testclient" is no proxy; its header is ignored.
    attempt(TestClient(shared_app(), headers=spoofed), "nobody", "wrong")
    monkeypatch.setenv("CLAIMWATCH_TRUSTED_PROXIES", "10.0.0.0/8, testclient")
    get_settings.cache_clear()
    try:
        # Behind the proxy: the nearest address the proxy saw (the rightmost untrusted one) counts.
        attempt(TestClient(shared_app(), headers=spoofed), "nobody", "wrong")
    finally:
        get_settings.cache_clear()
    assert _addresses() == ["testclient", "203.0.113.7"]


def test_nginx_lets_through_every_body_the_app_accepts():
    size = re.search(r"^\s*client_max_body_size\s+(\d+)m;", NGINX_SITE.read_text(), re.MULTILINE)
    assert size, "no client_max_body_size in the nginx site"
    nginx_bytes = int(size.group(1)) * limits.MIB
    settings = Settings()
    largest = max([route.cap(settings) for route in limits.ROUTE_CAPS] + [limits.DEFAULT_BYTES])
    # Above the largest cap, so the app answers its JSON 413 naming the field; but not far above it.
    assert largest < nginx_bytes <= largest + limits.MIB


def _setting_names() -> set[str]:
    classes: list[type] = [Settings]
    for module, name in (
        ("claimwatch.ops.settings", "OpsSettings"),
        ("claimwatch.heartbeat.settings", "HeartbeatSettings"),
    ):
        try:
            classes.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):
            continue
    return {f"CLAIMWATCH_{field.upper()}" for cls in classes for field in cls.model_fields}  # type: ignore[attr-defined]


# `claimwatch WORD [WORD]` at a line's start, after bin/ or a backtick, or as a JSON list (Dockerfile, Compose).
COMMAND = re.compile(r"(?:^[ \t]*|bin/|`)claimwatch[ \t]+([a-z][a-z-]*)(?:[ \t]+([a-z][a-z-]*))?", re.MULTILINE)
JSON_COMMAND = re.compile(r'"claimwatch",\s*"([a-z][a-z-]*)"(?:,\s*"([a-z][a-z-]*)")?')


def _command_exists(words: tuple[str, ...]) -> bool:
    command = typer.main.get_command(cli_app)
    for word in words:
        if not hasattr(command, "get_command"):
            return True  # a command: the rest are its arguments
        found = command.get_command(command.context_class(command), word)  # loads a lazily imported group
        if found is None:
            return False
        command = found
    return True


def test_the_recipes_name_only_settings_and_commands_that_exist():
    documents = [
        DEPLOY / name
        for name in ("CHECKLIST.md", "UPGRADE.md", "claimwatch.env.example", "docker-compose.yml", "Dockerfile")
    ]
    documents += sorted((DEPLOY / "systemd").iterdir()) + [NGINX_SITE]
    known = _setting_names()
    checked: set[str] = set()
    for document in documents:
        text = document.read_text()
        named = set(re.findall(r"\bCLAIMWATCH_[A-Z0-9_]+", text))
        assert named <= known, f"{document.name}: {sorted(named - known)} are no settings"
        for match in [*COMMAND.finditer(text), *JSON_COMMAND.finditer(text)]:
            words = tuple(word for word in match.groups() if word)
            assert _command_exists(words), f"{document.name}: `claimwatch {' '.join(words)}` is no command"
            checked.add(words[0])
    assert {"backup", "restore", "db", "audit", "calendar", "serve", "worker", "run"} <= checked
    checklist = (DEPLOY / "CHECKLIST.md").read_text()
    for needed in (
        "CLAIMWATCH_SECRET_KEY",
        "CLAIMWATCH_SESSION_COOKIE_SECURE",
        "CLAIMWATCH_PUBLIC_DOCS",
        "CLAIMWATCH_DEFAULT_TIMEZONE",
        "claimwatch calendar load",
        "claimwatch-backup.timer",
        "CLAIMWATCH_SMTP_HOST",
        "CLAIMWATCH_DOCUMENTS_DIR",
        "CLAIMWATCH_TRUSTED_PROXIES",
    ):
        assert needed in checklist


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed (apt-get install nginx)")
def test_nginx_accepts_the_site(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "claims.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    site = (
        NGINX_SITE.read_text()
        .replace("/etc/ssl/certs/claimwatch.crt", str(tmp_path / "c.pem"))
        .replace("/etc/ssl/private/claimwatch.key", str(tmp_path / "k.pem"))
    )
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log off; {temp} include {tmp_path}/site.conf; }}\n"
    )
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_units(tmp_path):
    executable = Path(sys.executable).parent / "claimwatch"
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/claimwatch/bin/claimwatch", str(executable)))
        units.append(str(tmp_path / unit.name))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr

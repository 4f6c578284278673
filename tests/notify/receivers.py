"""Real receivers on 127.0.0.1 for the delivery tests and the reliability bench: an SMTP server
(aiosmtpd) and an HTTP webhook receiver (http.server in a thread), each recording what it got."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

from claimwatch.notify.channels import verify_webhook


@dataclass
class Received:
    kind: str  # "email" | "webhook"
    idempotency_key: str
    outbox_id: int
    message_id: str | None
    to: str | None
    subject: str
    body: str
    signature_ok: bool = True
    headers: dict[str, str] = field(default_factory=dict)


class _Handler:
    def __init__(self, sink: list[Received], lock: threading.Lock) -> None:
        self.sink = sink
        self.lock = lock

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        with self.lock:
            self.sink.append(
                Received(
                    kind="email",
                    idempotency_key=str(parsed["X-Claimwatch-Idempotency-Key"]),
                    outbox_id=int(str(parsed["X-Claimwatch-Message"])),
                    message_id=str(parsed["Message-ID"]),
                    to=",".join(envelope.rcpt_tos),
                    subject=str(parsed["Subject"]),
                    body=body.get_content() if body is not None else "",  # type: ignore[attr-defined]
                )
            )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.controller = Controller(_Handler(self.received, self.lock), hostname="127.0.0.1", port=_free_port())

    def start(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def reset(self) -> SmtpReceiver:
        """Forget what was received (the server is shared by the tests of a worker)."""
        with self.lock:
            self.received.clear()
        return self

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def stop(self) -> None:
        self.controller.stop()


class WebhookReceiver:
    """Answers ``status`` (200 unless told otherwise) and records every request with a valid or invalid signature."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                ok = verify_webhook(
                    receiver.secret,
                    self.headers.get("X-Claimwatch-Timestamp", ""),
                    raw,
                    self.headers.get("X-Claimwatch-Signature", ""),
                )
                payload = json.loads(raw)
                status = receiver.status
                if status == 200:
                    with receiver.lock:
                        receiver.received.append(
                            Received(
                                kind="webhook",
                                idempotency_key=self.headers.get("Idempotency-Key", ""),
                                outbox_id=int(payload["message_id"]),
                                message_id=None,
                                to=None,
                                subject=payload["subject"],
                                body=payload["body"],
                                signature_ok=ok,
                                headers=dict(self.headers),
                            )
                        )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll: shutdown() waits up to one poll interval (0.5 s by default), paid by every test.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def reset(self) -> WebhookReceiver:
        """Forget what was received and answer 200 again (the server is shared by the tests of a worker)."""
        with self.lock:
            self.received.clear()
        self.status = 200
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Delivery channels as plug-ins: email (SMTP), signed webhooks, and SMS / WeChat template messages
behind a provider interface (a generic HTTP gateway, or the log as the default).

A channel gets an :class:`Outgoing` message and either returns the status it reached (``sent``
when handed over, ``delivered`` when the receiver acknowledged it) or raises :class:`DeliveryError`.
Every attempt carries the message's idempotency key, so a receiver recognises a redelivery.
Register another channel with :func:`register_channel`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
import structlog

from claimwatch.config import Settings
from claimwatch.privacy import mask_phone

log = structlog.get_logger("claimwatch.notify")

SENT = "sent"
DELIVERED = "delivered"


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    tenant_id: int
    claim_number: str
    channel: str
    recipient: str | None  # the clear address (phone, email); None for a webhook
    template: str
    locale: str
    subject: str
    body: str
    idempotency_key: str


class DeliveryError(Exception):
    """The attempt failed. ``permanent``: retrying cannot help (e.g. no address, 4xx refusal)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    name: str

    def send(self, message: Outgoing) -> str: ...

    def close(self) -> None: ...


ChannelFactory = Callable[[Settings], Channel]
_REGISTRY: dict[str, ChannelFactory] = {}


def register_channel(name: str, factory: ChannelFactory) -> None:
    _REGISTRY[name] = factory


def channel_names() -> list[str]:
    return sorted(_REGISTRY)


def make_channel(name: str, settings: Settings) -> Channel:
    factory = _REGISTRY.get(name)
    if factory is None:
        raise DeliveryError(f"no channel {name!r} (known: {', '.join(channel_names())})", permanent=True)
    return factory(settings)


def message_id_header(idempotency_key: str, tenant_id: int, domain: str = "claimwatch.invalid") -> str:
    """An RFC 5322 Message-ID derived from the idempotency key: the same message always gets the same id."""
    digest = hashlib.sha256(f"{tenant_id}:{idempotency_key}".encode()).hexdigest()[:40]
    return f"<cw.{digest}@{domain}>"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp + "." + body``; the receiver recomputes and compares it."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook(secret: str, timestamp: str, body: bytes, signature: str, tolerance: float = 300.0) -> bool:
    """For receivers (and tests): a valid signature made within ``tolerance`` seconds."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(webhook_signature(secret, timestamp, body), signature)


class EmailChannel:
    """SMTP (smtplib). One connection per delivery pass, re-opened after an error."""

    name = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        sender = settings.smtp_from
        self._domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "claimwatch.invalid"

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            settings = self.settings
            if not settings.smtp_host:
                raise DeliveryError("email: CLAIMWATCH_SMTP_HOST is not set")
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            self._smtp = smtp
        return self._smtp

    def send(self, message: Outgoing) -> str:
        if not message.recipient:
            raise DeliveryError("email: the claimant has no email address", permanent=True)
        email = EmailMessage()
        email["From"] = self.settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message_id_header(message.idempotency_key, message.tenant_id, self._domain)
        email["X-Claimwatch-Idempotency-Key"] = message.idempotency_key
        email["X-Claimwatch-Message"] = str(message.message_id)
        email["Content-Language"] = "zh-CN" if message.locale == "zh" else "en"
        email.set_content(message.body)
        try:
            refused = self._connection().send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            raise DeliveryError("email: recipient refused", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(f"email: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise DeliveryError("email: recipient refused", permanent=True)
        return SENT

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None


def _raise_for_http(channel: str, response: httpx.Response) -> None:
    if response.is_success:
        return
    # 408 and 429 and every 5xx may pass; any other 4xx will not.
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429)
    raise DeliveryError(f"{channel}: HTTP {response.status_code}", permanent=permanent)


class WebhookChannel:
    """POST JSON to the configured URL, signed: ``X-Claimwatch-Timestamp`` and
    ``X-Claimwatch-Signature: sha256=HMAC(secret, timestamp + "." + body)``; ``Idempotency-Key``."""

    name = "webhook"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client = httpx.Client(timeout=settings.notify_timeout_seconds)

    def send(self, message: Outgoing) -> str:
        url = self.settings.notify_webhook_url
        if not url:
            raise DeliveryError("webhook: CLAIMWATCH_NOTIFY_WEBHOOK_URL is not set")
        body = json.dumps(
            {
                "idempotency_key": message.idempotency_key,
                "message_id": message.message_id,
                "claim_number": message.claim_number,
                "template": message.template,
                "locale": message.locale,
                "subject": message.subject,
                "body": message.body,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.idempotency_key,
            "X-Claimwatch-Timestamp": timestamp,
            "X-Claimwatch-Signature": webhook_signature(self.settings.notify_webhook_secret, timestamp, body),
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
        _raise_for_http("webhook", response)
        return DELIVERED

    def close(self) -> None:
        self._client.close()


class Provider(Protocol):
    """Sends a short text (SMS) or a template message (WeChat) to a phone number."""

    def send(self, channel: str, message: Outgoing) -> str: ...

    def close(self) -> None: ...


class LogProvider:
    """The default: writes a log line (phone masked, no text: it may carry a one-time code)."""

    def send(self, channel: str, message: Outgoing) -> str:
        log.info(
            "claimant message",
            channel=channel,
            to=mask_phone(message.recipient),
            template=message.template,
            claim=message.claim_number,
            idempotency_key=message.idempotency_key,
        )
        return SENT

    def close(self) -> None:
        pass


class HttpGatewayProvider:
    """A generic SMS / WeChat gateway: POST JSON with a bearer token and the idempotency key."""

    def __init__(self, url: str | None, token: str | None, timeout: float) -> None:
        self.url = url
        self.token = token
        self._client = httpx.Client(timeout=timeout)

    def send(self, channel: str, message: Outgoing) -> str:
        if not self.url:
            raise DeliveryError(f"{channel}: no gateway URL configured")
        if not message.recipient:
            raise DeliveryError(f"{channel}: the claimant has no phone number", permanent=True)
        headers = {"Idempotency-Key": message.idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload: dict[str, Any] = {
            "channel": channel,
            "to": message.recipient,
            "template": message.template,
            "locale": message.locale,
            "subject": message.subject,
            "text": message.body,
            "idempotency_key": message.idempotency_key,
        }
        try:
            response = self._client.post(self.url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{channel}: {type(exc).__name__}: {exc}") from exc
        _raise_for_http(channel, response)
        return SENT

    def close(self) -> None:
        self._client.close()


class ProviderChannel:
    def __init__(self, name: str, provider: Provider) -> None:
        self.name = name
        self.provider = provider

    def send(self, message: Outgoing) -> str:
        if not message.recipient:
            raise DeliveryError(f"{self.name}: the claimant has no phone number", permanent=True)
        return self.provider.send(self.name, message)

    def close(self) -> None:
        self.provider.close()


def _provider(kind: str, url: str | None, token: str | None, settings: Settings) -> Provider:
    if kind == "http":
        return HttpGatewayProvider(url, token, settings.notify_timeout_seconds)
    if kind == "log":
        return LogProvider()
    raise DeliveryError(f"unknown provider {kind!r} (log, http)", permanent=True)


def _sms(settings: Settings) -> Channel:
    return ProviderChannel(
        "sms", _provider(settings.sms_provider, settings.sms_gateway_url, settings.sms_gateway_token, settings)
    )


def _wechat(settings: Settings) -> Channel:
    return ProviderChannel(
        "wechat",
        _provider(settings.wechat_provider, settings.wechat_gateway_url, settings.wechat_gateway_token, settings),
    )


register_channel("email", EmailChannel)
register_channel("webhook", WebhookChannel)
register_channel("sms", _sms)
register_channel("wechat", _wechat)


# -- group robots: WeCom (企业微信) and DingTalk (钉钉) ----------------------------------------------------

WECOM_MAX_BYTES = 4096  # a WeCom markdown message's content limit


def _truncate_bytes(text: str, limit: int) -> str:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "…"


def wecom_payload(subject: str, body: str) -> dict[str, Any]:
    """A WeCom group robot's markdown message."""
    return {"msgtype": "markdown", "markdown": {"content": _truncate_bytes(f"**{subject}**\n{body}", WECOM_MAX_BYTES)}}


def dingtalk_payload(subject: str, body: str) -> dict[str, Any]:
    """A DingTalk group robot's markdown message (``title`` shows in the conversation list)."""
    return {"msgtype": "markdown", "markdown": {"title": subject[:64], "text": f"#### {subject}\n\n{body}"}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")), URL-encoded by the caller."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    stamp = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    query = urlencode({"timestamp": stamp, "sign": dingtalk_sign(secret, stamp)})
    return f"{url}{'&' if '?' in url else '?'}{query}"


class RobotChannel:
    """POST a markdown message to a group robot. The outbox row's recipient is the robot's URL and
    secret (encrypted together). Both answer HTTP 200 with ``{"errcode": 0}`` when they took it; another
    errcode (e.g. a rate limit, a bad signature) is this attempt's failure and is retried."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self._client = httpx.Client(timeout=settings.notify_timeout_seconds)

    def send(self, message: Outgoing) -> str:
        try:
            address = json.loads(message.recipient or "")
            url = str(address["url"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError(f"{self.name}: no robot address", permanent=True) from exc
        if self.name == "dingtalk":
            url = dingtalk_url(url, address.get("secret"))
            payload = dingtalk_payload(message.subject, message.body)
        else:
            payload = wecom_payload(message.subject, message.body)
        try:
            response = self._client.post(
                url,
                content=json.dumps(payload, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.name}: {type(exc).__name__}") from exc  # the URL carries the token
        _raise_for_http(self.name, response)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if code != 0:
            raise DeliveryError(f"{self.name}: errcode {code} {str(answer.get('errmsg', ''))[:200]}")
        return DELIVERED

    def close(self) -> None:
        self._client.close()


register_channel("wecom", lambda settings: RobotChannel("wecom", settings))
register_channel("dingtalk", lambda settings: RobotChannel("dingtalk", settings))

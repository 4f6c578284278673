"""structlog set-up; every log line passes the personal-data scrubber."""

from __future__ import annotations

import logging

import structlog

from claimwatch.privacy import scrub_log_event


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """``fmt``: ``json`` (one JSON object a line) or ``console`` (readable in a terminal). Values bound
    with ``structlog.contextvars`` (the request id) join every line."""
    logging.basicConfig(format="%(message)s", level=level)
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            scrub_log_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )

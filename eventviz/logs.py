"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging


def not_a_health_answer(record: logging.LogRecord) -> bool:
    """Drop django.request's "Service Unavailable: /healthz" lines.

    A 503 from /healthz is the answer to the question asked, not a server error; a
    load balancer polling it would fill the log. flows/health.py logs each part going
    down and coming back, once.
    """
    request = getattr(record, "request", None)
    return getattr(request, "path", None) != "/healthz"

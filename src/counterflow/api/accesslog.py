"""One JSON line per request on the ``counterflow.api.access`` logger.

Written as plain ASGI middleware (no request object, no body buffering) because it wraps every
call on the hot path. A line holds the time (UTC), method, path, status, duration and, once the
key is verified, its id and partner. Headers are never logged, so neither the key nor the
``Authorization`` header can end up in a log; query strings are not logged either.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOGGER = "counterflow.api.access"
#: Where the verified key's :class:`~counterflow.service.keyring.Principal` is left in the scope.
PRINCIPAL_SCOPE_KEY = "counterflow.principal"

log = logging.getLogger(ACCESS_LOGGER)


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # Written by hand, not with json.dumps of a dict: this runs for every request. Only
            # the path and the partner are free text, and they are JSON-escaped.
            ms = (time.perf_counter() - started) * 1000
            when = datetime.now(UTC).isoformat(timespec="milliseconds")
            line = (
                f'{{"time":"{when}","method":"{scope["method"]}","path":{_text(scope["path"])},'
                f'"status":{status},"ms":{ms:.2f}'
            )
            principal = scope.get(PRINCIPAL_SCOPE_KEY)
            if principal is not None:
                line += f',"key_id":{principal.key_id},"partner":{_text(principal.partner)}'
            log.info(line + "}")


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


class JsonLogFormatter(logging.Formatter):
    """Log records as JSON lines; access lines (already JSON) pass through unchanged."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == ACCESS_LOGGER:
            return record.getMessage()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))

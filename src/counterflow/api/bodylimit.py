"""Refusing request bodies larger than any valid request, before they are read.

The largest valid body is a full batch, so the limit follows the batch limit (384 bytes per
address, plus slack). A declared ``Content-Length`` over it is answered at once; a body sent
without one (chunked) is counted as it arrives and refused as soon as it passes the limit. Both
answers are the API's JSON error (413 ``too_large``).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from counterflow.api.errors import error_response

#: Bytes a batch body may take per address (a 256-character address, a chain name, JSON).
BYTES_PER_ADDRESS = 384
_SLACK = 65_536


def body_limit(batch_limit: int) -> int:
    return batch_limit * BYTES_PER_ADDRESS + _SLACK


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return f"request body larger than {self.limit:,} bytes; split the batch"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            response = error_response(413, "too_large", self._message())
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # An HTTPException passes through the framework's body reading unchanged
                    # and reaches the error handlers, which answer with the JSON error shape.
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, counted, send)

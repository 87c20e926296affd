"""A real JSON-RPC HTTP server on loopback for tests, answering through a Python function.

Replaying recorded node responses (bitcoin-etl and ethereum-etl test resources) through it
exercises the real client: HTTP, batches, errors, authentication.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RpcReplyError(Exception):
    """Raise from an answer function to send a JSON-RPC error for that call."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Answer = Callable[[str, list[Any]], Any]


@contextmanager
def rpc_server(answer: Answer, *, auth: tuple[str, str] | None = None) -> Iterator[str]:
    """Serve ``answer(method, params)`` at the yielded URL until the block ends."""
    expected = None
    if auth is not None:
        expected = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            if expected is not None and self.headers.get("authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            single = isinstance(body, dict)
            replies = [_reply(answer, request) for request in ([body] if single else body)]
            data = json.dumps(replies[0] if single else replies).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _reply(answer: Answer, request: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
    try:
        reply["result"] = answer(request["method"], list(request.get("params") or []))
    except RpcReplyError as failure:
        reply["error"] = {"code": failure.code, "message": failure.message}
    return reply

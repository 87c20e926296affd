"""JSON-RPC 2.0 over HTTP to a node: batched, concurrent within a limit, retried with back-off.

Bitcoin Core and Ethereum clients speak the same protocol, so one client serves both node
sources. Calls go out in batches (one HTTP request carries ``batch_size`` calls) and up to
``concurrency`` batches are in flight at once; results come back in the order the calls were
given. A transport failure, an HTTP 5xx or 429, or a node that says it is warming up is retried
with exponential back-off; an error the node gives for one call (an unknown method, a bad
parameter) is not, since asking again gets the same answer.

Credentials come from the URL (``http://user:password@host:8332``), from a Bitcoin Core cookie
file (``.cookie``, one ``user:password`` line) or from the caller; they never appear in an error
message or a log line, which show the URL without them.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from counterflow.errors import ConfigError, NodeError

#: JSON-RPC error codes a node returns while it cannot answer yet (Bitcoin Core's
#: RPC_IN_WARMUP) or for an overloaded endpoint (common in Ethereum providers).
_TRANSIENT_CODES = frozenset({-28, -32005})
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Call:
    """One method call in a batch."""

    method: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class CallError:
    """The node's error for one call, returned in place of its result when asked for."""

    method: str
    params: tuple[Any, ...]
    code: int | None
    message: str

    def exception(self, url: str) -> NodeError:
        code = "" if self.code is None else f" (code {self.code})"
        return NodeError(url, f"{self.method}{list(self.params)!r} failed{code}: {self.message}")


def public_url(url: str) -> str:
    """``url`` without user or password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def read_cookie(path: str | Path) -> tuple[str, str]:
    """Bitcoin Core's cookie file: ``__cookie__:<random>`` on one line."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the RPC cookie file ({exc.strerror})") from exc
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise ConfigError(f"{path}: not an RPC cookie file (expected one user:password line)")
    return user, password


class JsonRpcClient:
    """A node's JSON-RPC endpoint. Thread-safe; use as a context manager or ``close()``."""

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        batch_size: int = 100,
        concurrency: int = 4,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 120.0,
        exact_numbers: bool = False,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{public_url(url)!r}: an RPC URL is http(s)://host[:port][/path]")
        if batch_size < 1 or concurrency < 1 or retries < 0:
            raise ConfigError("RPC batch size and concurrency must be at least 1, retries >= 0")
        if auth is None and parts.username is not None:
            auth = (parts.username, parts.password or "")
        self.url = public_url(url)
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.retries = retries
        self.backoff = backoff
        self.exact_numbers = exact_numbers
        self._http = httpx.Client(
            auth=auth,
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"content-type": "application/json"},
        )
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="jsonrpc")

    # -- public -----------------------------------------------------------------------------
    def call(self, method: str, *params: Any) -> Any:
        """One call; the node's error for it is raised as :class:`NodeError`."""
        (result,) = self.batch([Call(method, params)])
        return result

    def batch(
        self, calls: Sequence[Call], *, errors: str = "raise", batch_size: int | None = None
    ) -> list[Any]:
        """Results of ``calls`` in order.

        ``errors="raise"`` raises the first call's error as :class:`NodeError`;
        ``errors="return"`` puts a :class:`CallError` in that call's place instead (for
        methods a node may not offer, such as ``trace_block``). ``batch_size`` overrides the
        client's for calls whose answers are large (whole blocks), so that one HTTP reply
        stays small and the batches spread over the concurrent connections.
        """
        if errors not in ("raise", "return"):
            raise ValueError(errors)
        size = self.batch_size if batch_size is None else max(1, batch_size)
        chunks = [calls[i : i + size] for i in range(0, len(calls), size)]
        if len(chunks) <= 1:
            answered = [self._send(chunk) for chunk in chunks]
        else:
            answered = list(self._pool.map(self._send, chunks))
        results = [r for chunk in answered for r in chunk]
        if errors == "raise":
            for r in results:
                if isinstance(r, CallError):
                    raise r.exception(self.url)
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def __enter__(self) -> JsonRpcClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _send(self, calls: Sequence[Call]) -> list[Any]:
        with self._ids_lock:
            ids = [next(self._ids) for _ in calls]
        body = [
            {"jsonrpc": "2.0", "id": i, "method": c.method, "params": list(c.params)}
            for i, c in zip(ids, calls, strict=True)
        ]
        delay = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.post(self.url, content=json.dumps(body))
            except httpx.TransportError as exc:
                if last:
                    raise NodeError(self.url, f"cannot reach the node: {exc}") from exc
            else:
                if response.status_code in (401, 403):
                    raise NodeError(
                        self.url,
                        f"the node refused the credentials (HTTP {response.status_code}); "
                        "check the user and password or the cookie file",
                    )
                # Bitcoin Core answers a failed call in a batch with HTTP 500 and a body.
                answers = _answers(response, exact=self.exact_numbers)
                transient = answers is None and response.status_code in _TRANSIENT_STATUS
                if answers is not None:
                    results = self._match(calls, ids, answers)
                    transient = any(
                        isinstance(r, CallError) and r.code in _TRANSIENT_CODES for r in results
                    )
                    if not transient or last:
                        return results
                elif not transient or last:
                    raise NodeError(
                        self.url,
                        f"HTTP {response.status_code}: not a JSON-RPC answer "
                        f"({response.text[:200]!r})",
                    )
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _match(self, calls: Sequence[Call], ids: list[int], answers: list[Any]) -> list[Any]:
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        if len(answers) == 1 and len(calls) == 1 and answers[0].get("id") is None:
            by_id = {ids[0]: answers[0]}  # a node that answers a parse-level error without id
        results: list[Any] = []
        for i, call in zip(ids, calls, strict=True):
            answer = by_id.get(i)
            if answer is None:
                raise NodeError(self.url, f"no answer to {call.method} in the batch reply")
            error = answer.get("error")
            if error is not None:
                code = error.get("code") if isinstance(error, dict) else None
                message = error.get("message", str(error)) if isinstance(error, dict) else error
                results.append(CallError(call.method, call.params, code, str(message)))
            else:
                results.append(answer.get("result"))
        return results


def _answers(response: httpx.Response, *, exact: bool = False) -> list[Any] | None:
    try:
        document = json.loads(response.content, parse_float=Decimal if exact else float)
    except ValueError:
        return None
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        return document
    return None

"""Who is calling: the API key from ``Authorization: Bearer`` or ``X-API-Key``, then its
rate limit.

The dependency is ``async`` on purpose: a cached key is checked on the event loop in
microseconds, without a hop to the thread pool; only a cache miss reads the database, and that
read runs on a worker thread so the loop never waits on it. It reads both headers itself rather
than through FastAPI's security classes (one dependency instead of three on the hot path); the
OpenAPI document declares the two schemes all the same (:data:`SECURITY_SCHEMES`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import anyio.to_thread
from fastapi import Request

from counterflow.api.accesslog import PRINCIPAL_SCOPE_KEY
from counterflow.api.errors import ApiError
from counterflow.api.ratelimit import RateLimiter
from counterflow.service.keyring import Keyring, Principal
from counterflow.service.recorder import AuditRecorder

#: The OpenAPI security schemes: the same keys in either header.
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer cf_<prefix>_<secret>`",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "`X-API-Key: cf_<prefix>_<secret>` (same keys as bearer)",
    },
}
#: What a protected operation declares: either scheme will do.
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def presented_key(authorization: str | None, api_key: str | None) -> str | None:
    """The key from ``Authorization: Bearer KEY``, else from ``X-API-Key``."""
    if authorization is not None:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return api_key or None


class Authenticator:
    """The dependency every protected route takes; it yields the caller's principal."""

    def __init__(self, keyring: Keyring, limiter: RateLimiter, recorder: AuditRecorder) -> None:
        self.keyring = keyring
        self.limiter = limiter
        self.recorder = recorder

    async def __call__(self, request: Request) -> Principal:
        key = presented_key(request.headers.get("authorization"), request.headers.get("x-api-key"))
        if not key:
            raise ApiError(
                401,
                "unauthorized",
                "missing API key: send Authorization: Bearer KEY or X-API-Key: KEY",
                headers=_CHALLENGE,
            )
        verdict = self.keyring.check_cached(key)
        if verdict is None:
            verdict = await anyio.to_thread.run_sync(self.keyring.check, key)
        principal = verdict.principal
        if principal is None:
            raise ApiError(
                401, "unauthorized", verdict.problem or "invalid API key", headers=_CHALLENGE
            )
        request.scope[PRINCIPAL_SCOPE_KEY] = principal
        wait = self.limiter.acquire(principal.key_id)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(
                429,
                "rate_limited",
                f"rate limit of {self.limiter.per_second:g} requests/s (bursts of "
                f"{self.limiter.burst}) exceeded for key {principal.key_id}; retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )
        self.recorder.touch(principal.key_id, datetime.now(UTC))
        return principal

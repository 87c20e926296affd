"""One error shape for every refusal, so clients handle failures with one code path.

Every 4xx and 5xx answer is ``{"error": {"status", "code", "message", "details"?}}``: ``code``
is stable and meant for programs, ``message`` is meant for people and names what was wrong,
``details`` lists the offending items (for a batch: their index and value).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from counterflow.errors import ConfigError, CounterflowError, InputError, StoreError

log = logging.getLogger("counterflow.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


class ApiError(Exception):
    """A refusal with its HTTP status, stable code, message and optional details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details is not None:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=headers)


#: The OpenAPI description of the error body, for the ``responses`` of each route.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting the error body for each status."""
    return {
        status: {
            "description": _HTTP_CODES.get(status, "error").replace("_", " "),
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for status in statuses
    }


#: Names pydantic puts in an error's location for the branch of the screening body's union.
_UNION_TAGS = ("single", "batch")


def _location(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The field path within the body: without ``body`` and the union branch's tag."""
    parts = list(loc)
    if parts[:1] == ["body"]:
        parts = parts[1:]
    if parts[:1] and parts[0] in _UNION_TAGS:
        parts = parts[1:]
    return tuple(parts)


def install(app: FastAPI) -> None:
    """Route every kind of failure to the one error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for problem in exc.errors():
            loc = _location(tuple(problem.get("loc", ())))
            field = ".".join(str(p) for p in loc) or "body"
            detail: dict[str, Any] = {"field": field, "message": problem.get("msg")}
            if len(loc) > 1 and loc[0] == "addresses" and isinstance(loc[1], int):
                detail["index"] = loc[1]
            details.append(detail)
        first = details[0] if details else {"field": "body", "message": "invalid"}
        return error_response(
            422, "invalid_request", f"{first['field']}: {first['message']}", details
        )

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(CounterflowError)
    async def _counterflow(_request: Request, exc: CounterflowError) -> JSONResponse:
        if isinstance(exc, ConfigError | InputError):
            return error_response(422, "invalid_request", str(exc))
        if isinstance(exc, StoreError):
            log.error("store unavailable: %s", exc)
            return error_response(503, "unavailable", "the data store is unavailable")
        log.error("unexpected error: %s", exc)
        return error_response(500, "internal", "internal error")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal", "internal error")

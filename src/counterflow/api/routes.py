"""The ``/v1`` endpoints: screening, one address's tags, the lists in force, health.

``POST /v1/screen`` is the hot path and is ``async``: a single address (or a small batch) is
validated and screened on the event loop, which for an in-memory lookup costs less than the hop
to a worker thread; larger batches are screened and encoded on a worker thread so the loop keeps
serving others, and their audit entries are built after the answer is sent. Answers are encoded
once to bytes (no response-model pass over 100,000 results); audit entries are queued in
memory and written later by the recorder's thread. The other endpoints are plain ``def``: they
read tag-store files or the database, which must not block the event loop, so they run on the
thread pool.

(No ``from __future__ import annotations`` here: FastAPI resolves the endpoints' annotations,
and the ``authorised`` dependency type is local to :func:`build_router`.)
"""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import text
from starlette.background import BackgroundTask

from counterflow import __version__
from counterflow.api.auth import SECURITY, Authenticator
from counterflow.api.context import ApiContext
from counterflow.api.encoding import json_bytes
from counterflow.api.errors import ApiError, error_responses
from counterflow.api.models import (
    AddressQuery,
    AddressReport,
    BatchResult,
    Health,
    ListsReport,
    ScreenBody,
    ScreeningResult,
    is_batch,
)
from counterflow.api.screening import (
    BatchAnswer,
    Decision,
    ResultEncoder,
    decision_of,
    screen_batch,
    screen_one,
)
from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import ConfigError, InvalidAddressError
from counterflow.screening import ScreenRequest
from counterflow.service.keyring import Principal
from counterflow.service.state import AuditEntry

log = logging.getLogger("counterflow.api")


def build_router(context: ApiContext) -> APIRouter:
    settings = context.settings
    authenticate = Authenticator(context.keyring, context.limiter, context.recorder)
    # Not a module-level alias: each app has its own authenticator (keys, buckets, queue).
    authorised = Annotated[Principal, Depends(authenticate)]
    router = APIRouter(prefix="/v1")
    encoder = ResultEncoder()

    def audit(principal: Principal, endpoint: str, decisions: Sequence[Decision]) -> None:
        now = datetime.now(UTC)
        context.recorder.record(
            [
                AuditEntry(
                    now,
                    principal.partner,
                    principal.key_id,
                    endpoint,
                    d.chain,
                    d.address,
                    d.risk,
                    d.reasons,
                    d.generation,
                )
                for d in decisions
            ]
        )

    def batch_answer(items: Sequence[AddressQuery], principal: Principal) -> BatchAnswer:
        return screen_batch(context.screener, items, principal.viewer)

    def audit_batch(principal: Principal, answer: BatchAnswer) -> None:
        audit(principal, "/v1/screen", answer.decisions())

    @router.post(
        "/screen",
        response_model=ScreeningResult | BatchResult,
        responses=error_responses(400, 401, 413, 422, 429),
        openapi_extra={"security": SECURITY},
        summary="Screen one address or a batch",
        description=(
            'Body `{"address": …, "chain": …}` answers one result; '
            '`{"addresses": [{"address": …, "chain": …}, …]}` answers `{"results": […], '
            '"evidence": {chain: …}}`, results in the same order and the evidence once per '
            f"chain. Batches hold at most {settings.batch_limit:,} addresses (413 "
            "beyond). Every address is validated first: any malformed address or unknown chain "
            "answers 422 listing each offending item's index, and nothing is screened."
        ),
    )
    async def screen(body: ScreenBody, principal: authorised) -> Response:
        if not is_batch(body):
            document = screen_one(context.screener, body, principal.viewer, encoder)
            audit(principal, "/v1/screen", [decision_of(document)])
            return Response(json_bytes(document), media_type="application/json")
        items = body["addresses"]
        if len(items) > settings.batch_limit:
            raise ApiError(
                413,
                "batch_too_large",
                f"{len(items):,} addresses in one request; the limit is "
                f"{settings.batch_limit:,}: split the batch",
            )
        if len(items) <= settings.inline_batch:
            answer = batch_answer(items, principal)
            audit_batch(principal, answer)
            return Response(answer.content(), media_type="application/json")
        answer = await anyio.to_thread.run_sync(batch_answer, items, principal)
        content = await anyio.to_thread.run_sync(answer.content)
        return Response(
            content,
            media_type="application/json",
            background=BackgroundTask(audit_batch, principal, answer),
        )

    @router.get(
        "/addresses/{chain}/{address}",
        response_model=AddressReport,
        responses=error_responses(401, 422, 429),
        openapi_extra={"security": SECURITY},
        summary="Tags of one address, with their history, and its screening result",
    )
    def address_report(
        chain: Annotated[str, PathParam(max_length=64)],
        address: Annotated[str, PathParam(max_length=256)],
        principal: authorised,
    ) -> Response:
        spec = _chain_or_422(chain, "chain")
        try:
            canonical = normalize_address(spec, address)
        except InvalidAddressError as exc:
            raise ApiError(
                422,
                "invalid_address",
                str(exc),
                details=[{"address": address, "chain": spec.name, "message": exc.reason}],
            ) from exc
        viewer = principal.viewer
        history = context.tags.history(spec.name, canonical, viewer)
        now = datetime.now(UTC)
        [result] = context.screener.screen([ScreenRequest(canonical, spec.name)], viewer=viewer)
        screening = encoder.document(result)
        audit(principal, "/v1/addresses", [decision_of(screening)])
        document = {
            "chain": spec.name,
            "address": canonical,
            "tags": [t.to_json() for t in history if t.valid_at(now)],
            "history": [t.to_json() for t in history],
            "screening": screening,
        }
        return Response(json_bytes(document), media_type="application/json")

    @router.get(
        "/lists",
        response_model=ListsReport,
        responses=error_responses(401, 429),
        openapi_extra={"security": SECURITY},
        summary="List versions in the tag store that the caller may see",
    )
    def lists(principal: authorised) -> Response:
        versions = [v.to_json() for v in context.tags.versions(principal.viewer)]
        if not principal.operator:
            # Partners get the files' names and hashes, not where they lie on the server.
            for version in versions:
                version["files"] = [
                    {**f, "path": PurePath(f["path"]).name} for f in version["files"]
                ]
        document = {"generation": context.tags.generation, "lists": versions}
        return Response(json_bytes(document), media_type="application/json")

    @router.get(
        "/health",
        response_model=Health,
        responses={503: {"model": Health, "description": "the service database is unreachable"}},
        summary="Liveness and readiness (no key needed)",
    )
    def health() -> Response:
        try:
            with context.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # any failure means not ready; the reason goes to the log
            log.error("service database %s unreachable: %s", context.state.where, exc)
            database = "unavailable"
        audit_ok = context.recorder.status().healthy
        document = {
            "status": "ok" if database == "ok" and audit_ok else "degraded",
            "version": __version__,
            "database": database,
            "audit": "ok" if audit_ok else "degraded",
        }
        status = 200 if database == "ok" else 503
        return Response(json_bytes(document), status_code=status, media_type="application/json")

    return router


def _chain_or_422(name: str, field: str, index: int | None = None) -> Any:
    try:
        return get_chain(name)
    except ConfigError as exc:
        detail: dict[str, Any] = {"field": field, "chain": name, "message": str(exc)}
        if index is not None:
            detail["index"] = index
        raise ApiError(422, "unknown_chain", str(exc), details=[detail]) from exc

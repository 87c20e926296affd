"""``counterflow partners …``, ``counterflow keys …`` and ``counterflow serve``: the REST API
and the partners and keys that may call it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from counterflow.cli import _emit, _State, json_option
from counterflow.errors import ConfigError

if TYPE_CHECKING:
    from counterflow.service.state import KeyInfo, ServiceState

F = TypeVar("F", bound=Callable[..., Any])
#: What the ``web`` extra installs that ``serve`` imports.
_WEB_MODULES = frozenset({"fastapi", "starlette", "uvicorn", "pydantic", "anyio", "psycopg"})


def database_option(func: F) -> F:
    return click.option(
        "--database-url",
        envvar="COUNTERFLOW_DATABASE_URL",
        default=None,
        metavar="URL",
        help="Service database (default: $COUNTERFLOW_DATABASE_URL or DATA_DIR/service.sqlite; "
        "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB for deployments).",
    )(func)


def _service(state: _State, database_url: str | None) -> ServiceState:
    # Imported here: SQLAlchemy is not loaded by every `counterflow` command.
    from counterflow.service.state import ServiceState

    service = ServiceState(state.directory, database_url)
    service.ensure_schema()
    return service


def _when(value: Any) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M")


# -- partners ---------------------------------------------------------------------------------
@click.group("partners")
def partners() -> None:
    """Organisations that may call the REST API (their keys see what TLP allows them)."""


@partners.command("add")
@click.argument("name")
@database_option
@json_option
@click.pass_obj
def partners_add(state: _State, name: str, database_url: str | None, as_json: bool) -> None:
    """Add partner NAME (the owner name its shared tags carry)."""
    service = _service(state, database_url)
    try:
        partner = service.add_partner(name)
    finally:
        service.close()
    _emit(
        partner.to_json(),
        as_json,
        lambda console: console.print(
            f"partner [bold]{partner.name}[/] added; next: counterflow keys create "
            f"--partner {partner.name}"
        ),
    )


@partners.command("list")
@database_option
@json_option
@click.pass_obj
def partners_list(state: _State, database_url: str | None, as_json: bool) -> None:
    """List partners with their number of live keys."""
    service = _service(state, database_url)
    try:
        found = service.partners()
    finally:
        service.close()

    def render(console: Console) -> None:
        table = Table("partner", "created", "active", "live keys", title="Partners")
        for p in found:
            table.add_row(p.name, _when(p.created), "yes" if p.active else "no", str(p.keys))
        console.print(table)

    _emit([p.to_json() for p in found], as_json, render)


def _set_active(
    state: _State, name: str, database_url: str | None, as_json: bool, on: bool
) -> None:
    service = _service(state, database_url)
    try:
        partner = service.set_partner_active(name, on)
    finally:
        service.close()
    word = "active again" if on else "suspended: its keys are refused"
    _emit(
        partner.to_json(),
        as_json,
        lambda console: console.print(f"partner [bold]{partner.name}[/] {word}"),
    )


@partners.command("suspend")
@click.argument("name")
@database_option
@json_option
@click.pass_obj
def partners_suspend(state: _State, name: str, database_url: str | None, as_json: bool) -> None:
    """Suspend partner NAME: every key of it is refused until it is resumed."""
    _set_active(state, name, database_url, as_json, False)


@partners.command("resume")
@click.argument("name")
@database_option
@json_option
@click.pass_obj
def partners_resume(state: _State, name: str, database_url: str | None, as_json: bool) -> None:
    """Resume a suspended partner NAME."""
    _set_active(state, name, database_url, as_json, True)


# -- keys -------------------------------------------------------------------------------------
@click.group("keys")
def keys() -> None:
    """API keys: create (shown once), list, revoke."""


@keys.command("create")
@click.option("--partner", required=True, help="Partner the key belongs to.")
@click.option(
    "--operator",
    is_flag=True,
    help="An admin key: it reads as the operator and sees every tag, whatever its TLP.",
)
@database_option
@json_option
@click.pass_obj
def keys_create(
    state: _State, partner: str, operator: bool, database_url: str | None, as_json: bool
) -> None:
    """Create an API key for a partner and print it (the only time it is shown)."""
    service = _service(state, database_url)
    try:
        created = service.create_key(partner, operator=operator)
    finally:
        service.close()

    def render(console: Console) -> None:
        kind = "operator key" if operator else "key"
        console.print(f"{kind} {created.info.id} for partner [bold]{partner}[/]:")
        console.print(created.key, markup=False, highlight=False, soft_wrap=True)
        console.print("[yellow]store it now: it cannot be shown again[/] (only its hash is kept)")

    _emit({**created.info.to_json(), "key": created.key}, as_json, render)


@keys.command("list")
@click.option("--partner", default=None, help="Only this partner's keys.")
@database_option
@json_option
@click.pass_obj
def keys_list(state: _State, partner: str | None, database_url: str | None, as_json: bool) -> None:
    """List API keys (prefixes only; secrets are never stored)."""
    service = _service(state, database_url)
    try:
        found = service.keys(partner)
    finally:
        service.close()
    _emit([k.to_json() for k in found], as_json, lambda console: _render_keys(console, found))


def _render_keys(console: Console, found: list[KeyInfo]) -> None:
    table = Table(title="API keys")
    for column in ("id", "partner", "key", "operator", "created", "last used", "revoked"):
        table.add_column(column, no_wrap=column in ("id", "key"))
    for k in found:
        table.add_row(
            str(k.id),
            k.partner,
            k.display,
            "yes" if k.operator else "",
            _when(k.created),
            _when(k.last_used),
            _when(k.revoked),
        )
    console.print(table)


@keys.command("revoke")
@click.argument("key_id", type=int)
@database_option
@json_option
@click.pass_obj
def keys_revoke(state: _State, key_id: int, database_url: str | None, as_json: bool) -> None:
    """Revoke key KEY_ID (see `keys list`); running servers refuse it within their key cache
    time (30 s by default)."""
    service = _service(state, database_url)
    try:
        info = service.revoke_key(key_id)
    finally:
        service.close()
    _emit(
        info.to_json(),
        as_json,
        lambda console: console.print(f"key {info.id} ({info.display}, {info.partner}) revoked"),
    )


# -- serve ------------------------------------------------------------------------------------
@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@database_option
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes serving the port (each has its own key cache and rate buckets).",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=None,
    help="Requests per second per key (0: no limit; default 200).",
)
@click.option("--burst", type=click.IntRange(min=1), default=None, help="Bucket size per key.")
@click.option(
    "--batch-limit",
    type=click.IntRange(min=1),
    default=None,
    help="Most addresses per POST /v1/screen (default 100,000).",
)
@click.option(
    "--access-log/--no-access-log", default=True, show_default=True, help="A JSON line per request."
)
@click.pass_obj
def serve(
    state: _State,
    host: str,
    port: int,
    database_url: str | None,
    workers: int,
    rate_limit: float | None,
    burst: int | None,
    batch_limit: int | None,
    access_log: bool,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs) on the data directory until interrupted."""
    from dataclasses import replace

    try:
        from counterflow.api.server import serve as run
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in _WEB_MODULES:
            raise
        raise ConfigError(
            f"serving the API needs the web extra ({exc.name} is missing): pip install -e '.[web]'"
        ) from exc
    from counterflow.api.settings import ApiSettings

    settings = ApiSettings(access_log=access_log)
    if rate_limit is not None:
        settings = replace(settings, rate_per_second=rate_limit)
    if burst is not None:
        settings = replace(settings, rate_burst=burst)
    if batch_limit is not None:
        settings = replace(settings, batch_limit=batch_limit)
    run(
        state.directory,
        host=host,
        port=port,
        database_url=database_url,
        workers=workers,
        settings=settings,
    )

"""``counterflow screen``: the risk of addresses (and names) against the lists and the graph."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from counterflow.attribution.tlp import OPERATOR, Viewer
from counterflow.cli import _emit, _State, _units, json_option
from counterflow.errors import InputError
from counterflow.screening import ScreeningPolicy, ScreeningResult, ScreenRequest
from counterflow.screening.files import read_address_file
from counterflow.screening.names import NameMatches
from counterflow.screening.results import RESULT_FORMAT
from counterflow.screening.screener import Screener

_DECIMALS = {"BTC": 8, "ETH": 18, "USDX": 6, "LSTX": 18, "USDT": 6, "TRX": 6}
#: Invalid items named in the error message before "… and N more".
_SHOWN_INVALID = 5


@click.command("screen")
@click.argument("addresses", nargs=-1)
@click.option("--chain", default=None, help="Chain of the addresses (default: from their form).")
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File of addresses: one per line, or CSV rows address[,chain] (repeatable).",
)
@click.option("--at", "at", default=None, help="Screening time, ISO 8601 UTC (default: now).")
@click.option("--names", "names", multiple=True, help="Also screen this name (repeatable).")
@click.option(
    "--skip-invalid", is_flag=True, help="Report invalid addresses instead of failing on them."
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Screening policy JSON (default: the built-in policy, docs/screening.md).",
)
@click.option(
    "--partner", default=None, help="Screen with what this partner may see (TLP), not everything."
)
@json_option
@click.pass_obj
def screen(
    state: _State,
    addresses: tuple[str, ...],
    chain: str | None,
    files: tuple[Path, ...],
    at: str | None,
    names: tuple[str, ...],
    skip_invalid: bool,
    policy_file: Path | None,
    partner: str | None,
    as_json: bool,
) -> None:
    """Screen ADDRESSES (and --file, --names): risk level and reasons for each.

    A risky address is a result, not an error: the exit status is 0 whatever the risk.
    An invalid address fails the command (naming it and its line) unless --skip-invalid.
    """
    if not addresses and not files and not names:
        raise click.UsageError("give addresses, --file or --names")
    moment = _parse_time(at)
    policy = ScreeningPolicy.load(policy_file) if policy_file is not None else None
    viewer = Viewer(partner) if partner is not None else OPERATOR
    screener = Screener(state.directory, policy=policy)
    requests: list[ScreenRequest] = []
    where: list[str] = []
    for i, text in enumerate(addresses, start=1):
        requests.append(ScreenRequest(text.strip(), chain))
        where.append(f"argument {i}")
    for path in files:
        read = read_address_file(path)
        chains = read.chains.to_pylist() if read.chains is not None else None
        for k, text in enumerate(read.addresses.to_pylist()):
            given = chains[k] if chains is not None and chains[k] is not None else chain
            requests.append(ScreenRequest(text, given))
            where.append(read.where(k))
    errors = screener.validate(requests)
    invalid = [
        {"where": where[i], "address": requests[i].address, "message": message}
        for i, message in errors
    ]
    if invalid and not skip_invalid:
        shown = "; ".join(f"{x['where']}: {x['message']}" for x in invalid[:_SHOWN_INVALID])
        more = len(invalid) - _SHOWN_INVALID
        raise InputError(
            f"{len(invalid)} invalid address(es): {shown}"
            + (f"; and {more} more" if more > 0 else "")
            + " (use --skip-invalid to screen the others)"
        )
    bad = {i for i, _ in errors}
    valid = [r for i, r in enumerate(requests) if i not in bad]
    results = screener.screen(valid, viewer=viewer, at=moment)
    matches = screener.screen_names(list(names), viewer=viewer) if names else []
    document: dict[str, Any] = {
        "format": RESULT_FORMAT,
        "screened_at": (moment or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "viewer": partner,
        "results": [r.to_json() for r in results],
        "invalid": invalid,
        "names": [m.to_json() for m in matches],
    }

    def render(console: Console) -> None:
        _render(console, results, invalid, matches)

    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        _emit(document, False, render)


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--at: not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _render(
    console: Console,
    results: list[ScreeningResult],
    invalid: list[dict[str, str]],
    matches: list[NameMatches],
) -> None:
    if results:
        table = Table(title="Screening")
        for column in ("chain", "address", "risk", "why"):
            table.add_column(column)
        for r in results:
            table.add_row(r.chain, r.address, r.risk.value, _why(r))
        console.print(table)
    for item in invalid:
        console.print(f"[red]invalid[/] {item['where']}: {item['message']}")
    for m in matches:
        if not m.matches:
            console.print(f"name {m.query!r}: no match at or above {m.threshold:g}")
            continue
        table = Table(title=f"Name {m.query!r}")
        for column in ("score", "matched", "party", "entry", "source", "programs"):
            table.add_column(column)
        for x in m.matches:
            table.add_row(
                f"{x.score:.1f}",
                x.matched + (" (alias)" if x.alias else ""),
                x.name,
                x.entry,
                x.source,
                ", ".join(x.programs),
            )
        console.print(table)


def _why(result: ScreeningResult) -> str:
    """The reasons that set the level, in a line each."""
    lines: list[str] = []
    for reason in result.reasons:
        if reason.level != result.risk and lines:
            break
        part = f"{reason.kind}: {reason.category}"
        if reason.source:
            part += f" ({reason.source}"
            part += f" {reason.version}" if reason.version else ""
            part += f", entry {reason.entry}" if reason.entry else ""
            part += ")"
        if reason.programs:
            part += " " + "/".join(reason.programs)
        if reason.amount is not None and reason.asset:
            part += f" {_units(str(reason.amount), _DECIMALS.get(reason.asset))} {reason.asset}"
        if reason.share is not None and reason.kind != "list_hit":
            part += f" {reason.share:.1%}"
        if reason.hops:
            part += f" at {reason.hops} hop(s)"
        lines.append(part)
    return "\n".join(lines) or "—"

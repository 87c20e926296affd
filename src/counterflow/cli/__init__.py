"""The ``counterflow`` command line: ``counterflow [--data-dir DIR] COMMAND …``.

Commands of the older capabilities live here; newer ones each have a module in this package
(``lists``, ``screen``, ``serve``) that registers its commands on :data:`cli` when imported at
the end of this module, using the plumbing defined here (``json_option``, ``_emit``, ``_State``).

Every command prints a human summary, or with ``--json`` exactly one JSON document on stdout.
Errors go to stderr as one line and the exit status is non-zero (see counterflow.errors).
Progress is shown on stderr only when it is a terminal and ``--json`` is off.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from counterflow.errors import ConfigError, CounterflowError
from counterflow.store.datadir import DataDirectory, default_data_dir
from counterflow.store.engine import ENGINES

if TYPE_CHECKING:
    from counterflow.ingest.node import NodeChain

F = TypeVar("F", bound=Callable[..., Any])

_STAGES = (
    "discovering files",
    "reading exports",
    "transforming",
    "validating addresses",
    "assigning ids",
    "writing transfers",
)


class _State:
    def __init__(self, data_dir: Path) -> None:
        self.directory = DataDirectory(data_dir)


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document on stdout."
    )(func)


def _emit(document: Any, as_json: bool, render: Callable[[Console], None]) -> None:
    if as_json:
        click.echo(json.dumps(document, indent=2, sort_keys=False, default=str))
    else:
        render(Console())


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A stage bar on stderr for long work; a no-op when off or not on a terminal."""
    err = Console(stderr=True)
    if not enabled or not err.is_terminal:
        yield lambda _stage: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=len(_STAGES))

        def note(stage: str) -> None:
            done = _STAGES.index(stage) if stage in _STAGES else 0
            bar.update(task, description=stage, completed=done)

        yield note


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $COUNTERFLOW_DATA_DIR or ./counterflow-data).",
)
@click.version_option(package_name="counterflow")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """Detect, trace, share and stop state-sponsored crypto theft and laundering."""
    ctx.obj = _State(data_dir if data_dir is not None else default_data_dir())


_RPC_DEFAULTS = {
    "from_block": None,
    "to_block": None,
    "follow": False,
    "confirmations": 6,
    "batch_blocks": 100,
    "poll_seconds": 30.0,
    "rpc_batch_size": 100,
    "rpc_concurrency": 4,
    "traces": "auto",
    "rpc_cookie": None,
}


@cli.command()
@click.argument("chain")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="duckdb",
    show_default=True,
    help="duckdb (embedded) or spark (needs the spark extra and Java 17).",
)
@click.option(
    "--blocks",
    is_flag=True,
    help="PATHS are Bitcoin Core block files (blk*.dat), raw blocks (.blk, .hex) or .bz2 of "
    "them, or folders of them, instead of exports.",
)
@click.option("--skip-invalid", is_flag=True, help="Quarantine bad rows instead of failing.")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where --skip-invalid writes rejected rows (default: DATA_DIR/rejects/…).",
)
@click.option(
    "--rpc",
    metavar="URL",
    help="Read blocks from a node's JSON-RPC endpoint instead of PATHS "
    "(http://user:password@host:port; credentials are never printed).",
)
@click.option(
    "--rpc-cookie",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Bitcoin Core's .cookie file, for RPC authentication.",
)
@click.option("--from-block", type=int, help="First block to ingest (default: after the store's).")
@click.option("--to-block", type=int, help="Last block to ingest (default: the node's tip).")
@click.option("--follow", is_flag=True, help="Keep polling for new blocks until interrupted.")
@click.option(
    "--confirmations",
    type=int,
    default=_RPC_DEFAULTS["confirmations"],
    show_default=True,
    help="Stay this many blocks behind the node's tip.",
)
@click.option(
    "--batch-blocks",
    type=int,
    default=_RPC_DEFAULTS["batch_blocks"],
    show_default=True,
    help="Blocks per ingest commit.",
)
@click.option(
    "--poll-seconds",
    type=float,
    default=_RPC_DEFAULTS["poll_seconds"],
    show_default=True,
    help="With --follow: seconds between looks at the node's tip once caught up.",
)
@click.option(
    "--rpc-batch-size",
    type=int,
    default=_RPC_DEFAULTS["rpc_batch_size"],
    show_default=True,
    help="Calls per JSON-RPC request.",
)
@click.option(
    "--rpc-concurrency",
    type=int,
    default=_RPC_DEFAULTS["rpc_concurrency"],
    show_default=True,
    help="JSON-RPC requests in flight at once.",
)
@click.option(
    "--traces",
    type=click.Choice(["auto", "trace_block", "debug_traceBlockByNumber", "none"]),
    default=_RPC_DEFAULTS["traces"],
    show_default=True,
    help="EVM chains: where internal transfers come from.",
)
@json_option
@click.pass_obj
def ingest(
    state: _State,
    /,
    chain: str,
    paths: tuple[Path, ...],
    engine: str,
    blocks: bool,
    skip_invalid: bool,
    rejects: Path | None,
    rpc: str | None,
    as_json: bool,
    **rpc_options: Any,
) -> None:
    """Ingest blockchain-etl exports (files or folders) of CHAIN into the store.

    CHAIN is bitcoin, ethereum or a sibling (bitcoin-cash, litecoin, dogecoin, zcash; EVM
    chains by name). With --blocks, PATHS are Bitcoin Core block files of bitcoin,
    bitcoin-testnet or bitcoin-regtest. With --rpc, blocks come from a node instead, resuming
    after the newest stored block and rolling back across chain reorganisations. Re-running on
    the same data changes nothing.
    """
    if rpc is not None:
        if paths or blocks or skip_invalid or rejects is not None or engine != "duckdb":
            raise ConfigError(
                "--rpc reads blocks from a node: give no PATHS, and no --blocks, "
                "--skip-invalid, --rejects or --engine with it"
            )
        _ingest_rpc(state, chain, rpc, as_json, **rpc_options)
        return
    given = sorted(
        "--" + name.replace("_", "-")
        for name, value in rpc_options.items()
        if value != _RPC_DEFAULTS[name]
    )
    if given:
        raise ConfigError(f"{', '.join(given)} apply only with --rpc URL")
    if not paths:
        raise ConfigError(
            "give export files or folders (PATHS), block files with --blocks PATHS, or a node "
            "with --rpc URL"
        )
    from counterflow.ingest import ingest as run_ingest

    with _progress(not as_json) as note:
        report = run_ingest(
            chain,
            list(paths),
            blocks=blocks,
            data_dir=state.directory,
            engine=engine,
            skip_invalid=skip_invalid,
            rejects_path=rejects,
            progress=note,
        )

    def render(console: Console) -> None:
        console.print(
            f"[bold]{report.chain}[/]: read {report.read:,} transfers, stored {report.stored:,}, "
            f"skipped {report.skipped:,} already stored, rejected {report.rejected:,} "
            f"({report.rejected_rows:,} rows) in {report.seconds:.2f} s"
        )
        console.print(
            f"new: {report.new_addresses:,} addresses, {report.new_transactions:,} "
            f"transactions, {report.new_blocks:,} blocks; pending inputs {report.pending_inputs:,}"
        )
        if report.rejects_file:
            console.print(f"rejected rows written to {report.rejects_file}")
        for warning in report.warnings:
            console.print(f"[yellow]note:[/] {warning}")

    _emit(report.to_json(), as_json, render)


def _ingest_rpc(
    state: _State,
    chain: str,
    url: str,
    as_json: bool,
    *,
    rpc_cookie: Path | None,
    from_block: int | None,
    to_block: int | None,
    follow: bool,
    confirmations: int,
    batch_blocks: int,
    poll_seconds: float,
    rpc_batch_size: int,
    rpc_concurrency: int,
    traces: str,
) -> None:
    """``ingest CHAIN --rpc URL``: follow a node with the sync loop."""
    from counterflow.chains.registry import get_chain
    from counterflow.ingest.follow import SignalStop, sync
    from counterflow.ingest.jsonrpc import JsonRpcClient, read_cookie

    spec = get_chain(chain)
    if follow and to_block is not None:
        raise ConfigError("--follow runs until interrupted; it cannot be combined with --to-block")
    if traces != "auto" and spec.family != "account":
        raise ConfigError(f"--traces applies to EVM chains; {spec.name} has no internal calls")
    if not spec.ingestible:
        raise ConfigError(f"{spec.name} cannot be ingested yet; its addresses can be validated")
    auth = read_cookie(rpc_cookie) if rpc_cookie is not None else None
    with JsonRpcClient(
        url, auth=auth, batch_size=rpc_batch_size, concurrency=rpc_concurrency
    ) as client:
        node: NodeChain
        if spec.family == "utxo":
            from counterflow.ingest.bitcoin_rpc import BitcoinNode

            node = BitcoinNode(client, spec)
        else:
            from counterflow.ingest.ethereum_rpc import EthereumNode

            node = EthereumNode(client, spec, traces=traces)
        with _progress(not as_json) as note, SignalStop() as stop:
            report = sync(
                state.directory,
                spec,
                node,
                from_block=from_block,
                to_block=to_block,
                follow=follow,
                confirmations=confirmations,
                batch_blocks=batch_blocks,
                poll_seconds=poll_seconds,
                progress=note,
                should_stop=stop,
            )

    def render(console: Console) -> None:
        console.print(
            f"[bold]{report.chain}[/] from {report.node}: {report.blocks:,} blocks in "
            f"{report.batches:,} commits, {report.transfers:,} transfers stored in "
            f"{report.seconds:.2f} s ({report.stopped})"
        )
        if report.last_height is not None:
            console.print(
                f"stored up to block {report.last_height} ({report.last_hash}); "
                f"node tip {report.node_tip}"
            )
        for reorg in report.reorgs:
            console.print(
                f"reorganisation: rolled back {reorg.rolled_back} block(s) to the fork at "
                f"{reorg.fork_height}"
            )
        for warning in report.warnings:
            console.print(f"[yellow]note:[/] {warning}")

    _emit(report.to_json(), as_json, render)


@cli.command()
@json_option
@click.pass_obj
def stats(state: _State, as_json: bool) -> None:
    """Summarise what the store holds, per chain."""
    from counterflow.query import store_stats

    document = store_stats(state.directory)
    _emit(document, as_json, lambda console: _render_stats(console, document))


def _render_stats(console: Console, document: dict[str, Any]) -> None:
    table = Table(title=f"Counterflow store {document['data_dir']}")
    for column in ("chain", "transfers", "addresses", "txs", "blocks", "block range", "dates"):
        table.add_column(column, justify="left" if column == "chain" else "right")
    for c in document["chains"]:
        first, last = (c["first_time"] or "")[:10], (c["last_time"] or "")[:10]
        table.add_row(
            c["chain"],
            f"{c['transfers']:,}",
            f"{c['addresses']:,}",
            f"{c['transactions']:,}",
            f"{c['blocks']:,}",
            f"{c['first_block']}–{c['last_block']}",
            first if first == last else f"{first}…{last}",
        )
    console.print(table)
    console.print(f"store size: {document['store_bytes']:,} bytes")


@cli.command()
@click.argument("address")
@click.option("--chain", help="Chain of the address (default: every chain it fits).")
@click.option(
    "--top",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="Counterparties to list.",
)
@json_option
@click.pass_obj
def address(state: _State, address: str, chain: str | None, top: int, as_json: bool) -> None:
    """Flows, balance history and counterparties of ADDRESS."""
    from counterflow.query import address_summary

    document = address_summary(state.directory, address, chain=chain, counterparties=top)
    from counterflow.graph.clustering.entities import entity_of

    document["entity"] = entity_of(state.directory, document["chain"], document["address"])

    def render(console: Console) -> None:
        console.print(f"[bold]{document['address']}[/] on {document['chain']}")
        if document["entity"] is not None:
            console.print(
                f"entity {document['entity']['entity_id']} "
                f"({document['entity']['size']:,} addresses)"
            )
        first, last = document["first_seen"], document["last_seen"]
        console.print(
            f"first seen block {first['block']} ({first['time']}), "
            f"last seen block {last['block']} ({last['time']})"
        )
        flows = Table("asset", "received", "sent", "balance", "in", "out")
        for f in document["flows"]:
            flows.add_row(
                str(f["asset"]),
                _units(f["received"], f["decimals"]),
                _units(f["sent"], f["decimals"]),
                _units(f["balance"], f["decimals"]),
                str(f["transfers_in"]),
                str(f["transfers_out"]),
            )
        console.print(flows)
        if document["counterparties"]:
            parties = Table("counterparty", "direction", "transfers", "amount (native)")
            for p in document["counterparties"]:
                parties.add_row(p["address"], p["direction"], str(p["transfers"]), p["amount"])
            console.print(parties)

    _emit(document, as_json, render)


@cli.command()
@click.argument("txid")
@click.option("--chain", help="Chain of the transaction (default: every chain it fits).")
@json_option
@click.pass_obj
def tx(state: _State, txid: str, chain: str | None, as_json: bool) -> None:
    """Every transfer of transaction TXID."""
    from counterflow.query import transaction_summary

    document = transaction_summary(state.directory, txid, chain=chain)

    def render(console: Console) -> None:
        console.print(
            f"[bold]{document['txid']}[/] on {document['chain']}, block {document['block']} "
            f"position {document['position']} at {document['time']}; fee {document['fee']}"
        )
        table = Table("kind", "from", "to", "asset", "amount")
        for t in document["transfers"]:
            table.add_row(
                t["kind"],
                str(t["from"] or "—"),
                str(t["to"] or "—"),
                str(t["asset"]),
                _units(t["amount"], t["decimals"]),
            )
        console.print(table)

    _emit(document, as_json, render)


@cli.command()
@click.argument("chain")
@click.option("--change", is_flag=True, help="Also apply the change-address rule (UTXO chains).")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="duckdb",
    show_default=True,
    help="duckdb (embedded) or spark (needs the spark extra and Java 17).",
)
@click.option("--full", is_flag=True, help="Recompute everything instead of only new transfers.")
@json_option
@click.pass_obj
def cluster(
    state: _State, chain: str, change: bool, engine: str, full: bool, as_json: bool
) -> None:
    """Group CHAIN's addresses into entities (see docs/clustering.md)."""
    from counterflow.graph.clustering import cluster as run_cluster

    report = run_cluster(state.directory, chain, change=change, engine=engine, full=full)
    document = report.to_json()

    def render(console: Console) -> None:
        console.print(
            f"[bold]{report.chain}[/]: {report.addresses:,} addresses in {report.entities:,} "
            f"entities ({report.mode}); largest {report.largest_entity:,}; "
            f"{report.clustered_addresses:,} addresses share an entity"
        )
        links = ", ".join(f"{rule} {n:,}" for rule, n in report.links.items()) or "none"
        console.print(f"new links: {links}; merges {report.merges:,}; {report.seconds} s")

    _emit(document, as_json, render)


@cli.command()
@json_option
@click.pass_obj
def demo(state: _State, as_json: bool) -> None:
    """The whole chain on bundled data: ingest, simulate a heist, trace it, screen deposits."""
    from counterflow.demo import run_demo

    with _progress(not as_json) as note:
        document = run_demo(state.directory, progress=note)

    def render(console: Console) -> None:
        scenario = document["scenario"]
        steps = [("real exports", s) for s in document["ingest"]]
        steps += [("exercise scenario", s) for s in scenario["ingest"]]
        for source, step in steps:
            console.print(
                f"ingested {step['chain']} ({source}): {step['stored']:,} new transfers "
                f"({step['read']:,} read, {step['skipped']:,} already stored) "
                f"in {step['seconds']:.2f} s"
            )
        generated = scenario["generated"]
        if generated:
            console.print(
                f"simulated {generated['transfers']:,} transfers, {generated['start']} to "
                f"{generated['end']}, in {generated['seconds']:.1f} s: {scenario['folder']}"
            )
        for heist in scenario["heists"]:
            stolen = ", ".join(
                f"{_units(str(v), _DECIMALS[a])} {a}" for a, v in heist["stolen"].items() if v
            )
            console.print(
                f"[bold]heist {heist['name']}[/] at {heist['theft_time']}: stole {stolen}; "
                f"{heist['laundering_addresses']:,} laundering addresses, "
                f"{heist['bridge_crossings']:,} bridge crossings, "
                f"{heist['cash_out_deposits']:,} cash-out deposits"
            )
            for service, amounts in sorted(heist["cashed_out"].items()):
                parts = ", ".join(f"{_units(str(v), _DECIMALS[a])} {a}" for a, v in amounts.items())
                console.print(f"  cashed out at {service}: {parts}")
        _render_investigation(console, document["investigation"])
        _render_screening(console, document["screening"])
        _render_stats(console, document["stats"])
        top = document["busiest_address"]
        if top:
            console.print(
                f"busiest address: {top['address']} on {top['chain']}, "
                f"{sum(f['transfers_in'] + f['transfers_out'] for f in top['flows'])} transfers"
            )
        console.print(
            "next: counterflow address ADDRESS, counterflow tx TXID, counterflow stats --json, "
            f"counterflow exercise score {scenario['folder']} ANSWERS.json"
        )

    _emit(document, as_json, render)


def _render_screening(console: Console, screening: dict[str, Any]) -> None:
    for step in screening["lists"]:
        console.print(
            f"imported list {step['source']} {step['version']}: {step['addresses']:,} "
            f"addresses ({step['rejects']:,} rejected)"
        )
    levels = ", ".join(f"{n:,} {level}" for level, n in screening["levels"].items())
    console.print(
        f"[bold]screened[/] {screening['deposits_screened']:,} exchange deposit addresses: {levels}"
    )
    score = screening["score"]
    for name, key in (
        ("alerts (high, severe)", "alerts"),
        ("with review (medium)", "alerts_and_review"),
    ):
        s = score[key]
        console.print(
            f"  {name}: {s['flagged']:,} flagged; of the "
            f"{score['deposits_that_received_stolen_funds']:,} deposits that received stolen funds "
            f"recall {s['recall'] if s['recall'] is not None else '—'}, precision "
            f"{s['precision'] if s['precision'] is not None else '—'}"
        )
    for alert in screening["alerts"][:5]:
        reason = alert["reasons"][0] if alert["reasons"] else {}
        kind, category = reason.get("kind", "?"), reason.get("category", "")
        console.print(
            f"  [red]alert[/] {alert['risk']} {alert['chain']} {alert['address']}: "
            f"{kind} {category} via {reason.get('source', '?')} ({reason.get('hops', '?')} hops)"
        )


def _render_investigation(console: Console, investigation: dict[str, Any]) -> None:
    clusters = ", ".join(
        f"{chain} {c['addresses']:,} addresses into {c['entities']:,} entities"
        for chain, c in investigation["clusters"].items()
    )
    console.print(f"clustered {clusters}")
    traced = investigation["trace"]
    console.print(
        f"[bold]traced[/] ({traced['policy']}) from the {len(investigation['seeds'])} reported "
        f"{investigation['chain']} addresses since {investigation['since']}: "
        f"{traced['holders']:,} holders, {traced['transfers']:,} transfers"
    )
    for d in traced["destinations"]:
        amount = _units(str(d["amount"]), _DECIMALS.get(d["asset"], 0))
        console.print(f"  landed at {d['service']} ({d['chain']}): {amount} {d['asset']}")
    s = investigation["score"]
    console.print(
        f"scored against the ground truth: laundering addresses precision "
        f"{s['addresses']['precision']:.1%}, recall {s['addresses']['recall']:.1%}; cash-out "
        f"deposits recall {s['deposits']['recall']:.1%}; funds located {s['funds_located']:.1%}"
    )
    console.print(
        f"evidence bundle: {traced['evidence']} "
        f"(counterflow trace --replay {traced['evidence']} reproduces it)"
    )
    exposed = investigation["exposure"]
    if exposed:
        shares = ", ".join(
            f"{c['category']} {c['share']:.0%}" for c in exposed["received"]["categories"]
        )
        console.print(
            f"received exposure of the largest deposit {exposed['address']} within "
            f"{exposed['params']['max_hops']} hops: {shares}"
        )


@cli.group()
def exercise() -> None:
    """Simulated heists with ground truth: generate scenarios and score answers."""


@exercise.command("run")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--transfers",
    type=int,
    default=200_000,
    show_default=True,
    help="Transfers to generate over both chains (background and heists).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="New (or empty) folder to write the scenario into.",
)
@click.option(
    "--playbook",
    "playbooks",
    multiple=True,
    help="Heist playbook to run (repeatable; default bybit-2025). "
    "See `counterflow exercise playbooks`.",
)
@click.option("--days", type=float, default=14.0, show_default=True, help="Scenario length.")
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default="2026-01-05",
    show_default=True,
    help="Scenario start (UTC).",
)
@json_option
def exercise_run(
    seed: int,
    transfers: int,
    out: Path,
    playbooks: tuple[str, ...],
    days: float,
    start: datetime,
    as_json: bool,
) -> None:
    """Write a scenario: Bitcoin and Ethereum exports, labels, ground truth and injects.

    The exports are read by `counterflow ingest bitcoin OUT/bitcoin` and
    `counterflow ingest ethereum OUT/ethereum`.
    """
    from counterflow.exercise import ScenarioConfig, playbook, run_scenario

    config = ScenarioConfig(
        seed=seed,
        transfers=transfers,
        days=days,
        start=start.replace(tzinfo=UTC),
        playbooks=tuple(playbook(name) for name in (playbooks or ("bybit-2025",))),
    )
    with _fraction_progress(not as_json, "simulating") as note:
        summary = run_scenario(config, out, progress=note)

    def render(console: Console) -> None:
        console.print(
            f"scenario seed {summary.seed}: {summary.transfers:,} transfers "
            f"({summary.bitcoin['transfers']:,} bitcoin, {summary.ethereum['transfers']:,} "
            f"ethereum), {summary.start} to {summary.end}, heists: "
            f"{', '.join(summary.heists)}; written to {summary.out} in {summary.seconds:.1f} s"
        )
        console.print(
            f"next: counterflow ingest bitcoin {summary.out}/bitcoin && "
            f"counterflow ingest ethereum {summary.out}/ethereum"
        )

    _emit(summary.to_json(), as_json, render)


@exercise.command("score")
@click.argument("scenario", type=click.Path(exists=True, path_type=Path))
@click.argument("answers", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def exercise_score(scenario: Path, answers: Path, as_json: bool) -> None:
    """Score a team's ANSWERS (JSON) against SCENARIO's ground truth."""
    from counterflow.exercise import load_answers, load_ground_truth, score

    result = score(load_ground_truth(scenario), load_answers(answers))

    def render(console: Console) -> None:
        table = Table(title=f"Exercise score: {result.team or 'team'}")
        table.add_column("measure")
        table.add_column("value", justify="right")
        measures = (
            ("laundering addresses", result.addresses),
            ("cash-out deposits", result.deposits),
        )
        for name, m in measures:
            precision = "—" if m.precision is None else f"{m.precision:.1%}"
            table.add_row(f"{name}: precision", precision)
            table.add_row(f"{name}: recall", f"{m.recall:.1%} ({m.true_positives}/{m.expected})")
        table.add_row("funds located", f"{result.funds_located:.1%}")
        hours = result.first_correct_freeze_hours
        table.add_row("first correct freeze", "—" if hours is None else f"T+{hours:.1f} h")
        console.print(table)

    _emit(result.to_json(), as_json, render)


@exercise.command("playbooks")
@json_option
def exercise_playbooks(as_json: bool) -> None:
    """List the heist playbooks and what each does."""
    from dataclasses import asdict

    from counterflow.exercise import PLAYBOOKS

    document = [asdict(p) for p in PLAYBOOKS.values()]

    def render(console: Console) -> None:
        for p in PLAYBOOKS.values():
            console.print(f"[bold]{p.name}[/]: {p.description}")

    _emit(document, as_json, render)


@cli.command("trace")
@click.option("--chain", default=None, help="Chain of the seed addresses (e.g. ethereum).")
@click.option("--from", "seeds", multiple=True, help="Seed address (repeatable).")
@click.option("--backward", is_flag=True, help="Trace where the seeds' funds came from.")
@click.option("--policy", default="haircut", show_default=True, help="poison, haircut or fifo.")
@click.option("--max-hops", type=int, default=64, show_default=True)
@click.option(
    "--min-amount", type=float, default=0.0, help="Smallest tainted amount followed (whole units)."
)
@click.option(
    "--min-fraction",
    type=float,
    default=0.4,
    show_default=True,
    help="Smallest tainted share of a transfer followed.",
)
@click.option("--since", default=None, help="Seeds taint what leaves them from this UTC time on.")
@click.option(
    "--from-tx",
    "seed_txs",
    multiple=True,
    help="Theft transaction (repeatable): only the seeds' transfers in these are tainted.",
)
@click.option(
    "--min-link-confidence",
    type=float,
    default=0.5,
    show_default=True,
    help="Bridge links below this confidence are not followed.",
)
@click.option(
    "--labels",
    "labels",
    multiple=True,
    type=click.Path(path_type=Path),
    help="GraphSense TagPack YAML (repeatable).",
)
@click.option(
    "--links",
    "links",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Bridge links CSV, e.g. an operator's crossings.csv (repeatable).",
)
@click.option(
    "--evidence",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write an evidence bundle (JSON) here.",
)
@click.option(
    "--replay",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Re-run the trace an evidence bundle describes.",
)
@json_option
@click.pass_obj
def trace_command(
    state: _State,
    chain: str | None,
    seeds: tuple[str, ...],
    backward: bool,
    policy: str,
    max_hops: int,
    min_amount: float,
    min_fraction: float,
    since: str | None,
    seed_txs: tuple[str, ...],
    min_link_confidence: float,
    labels: tuple[Path, ...],
    links: tuple[Path, ...],
    evidence: Path | None,
    replay: Path | None,
    as_json: bool,
) -> None:
    """Trace stolen value forward (or backward) from seed addresses; list its destinations."""
    from counterflow.graph.evidence import replay as replay_bundle
    from counterflow.graph.evidence import result_text, write_bundle
    from counterflow.graph.policies import BACKWARD, FORWARD, TraceParams
    from counterflow.graph.trace import trace

    if replay is not None:
        result = replay_bundle(replay, state.directory)
    else:
        if chain is None:
            raise ConfigError("give --chain (e.g. --chain ethereum)")
        params = TraceParams(
            chain=chain,
            seeds=seeds,
            direction=BACKWARD if backward else FORWARD,
            policy=policy,
            max_hops=max_hops,
            min_amount=min_amount,
            min_fraction=min_fraction,
            since=since,
            seed_txs=seed_txs,
            min_link_confidence=min_link_confidence,
        )
        result = trace(state.directory, params, labels=labels, links=links)
    if evidence is not None:
        write_bundle(result, evidence)
    if as_json:
        click.echo(result_text(result), nl=False)
        return
    console = Console()
    table = Table(title=f"Destinations ({result.params.policy}, {result.params.direction})")
    for column in ("chain", "service", "deposit address", "asset", "tainted", "time", "tx"):
        table.add_column(column, justify="right" if column == "tainted" else "left")
    for d in result.destinations:
        table.add_row(
            d.chain,
            d.service,
            d.address,
            d.asset,
            _units(str(d.amount), _DECIMALS.get(d.asset)),
            d.time,
            (d.tx_hash or "")[:18],
        )
    console.print(table)
    laundering = sum(1 for h in result.holders if h.role == "laundering")
    console.print(
        f"{laundering} addresses reached, {len(result.transfers)} tainted transfers, "
        f"{len(result.destinations)} destination deposits, {len(result.crossings)} bridge crossings"
    )
    if evidence is not None:
        console.print(f"evidence bundle: {evidence}")


@cli.command("exposure")
@click.argument("subject")
@click.option("--chain", required=True, help="Chain of the address (e.g. ethereum).")
@click.option("--entity", is_flag=True, help="Exposure of the address's whole entity (cluster).")
@click.option(
    "--direction",
    type=click.Choice(["received", "sent", "both"]),
    default="received",
    show_default=True,
)
@click.option("--hops", type=int, default=3, show_default=True, help="Largest hop count.")
@click.option("--policy", default="haircut", show_default=True, help="poison, haircut or fifo.")
@click.option("--since", default=None, help="Only the address's transfers from this UTC time on.")
@click.option("--until", default=None, help="Only the address's transfers up to this UTC time.")
@click.option(
    "--labels",
    "labels",
    multiple=True,
    type=click.Path(path_type=Path),
    help="GraphSense TagPack YAML (repeatable).",
)
@click.option(
    "--links",
    "links",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Bridge links CSV (repeatable): value is followed across the bridges they link.",
)
@click.option(
    "--min-link-confidence",
    type=float,
    default=0.5,
    show_default=True,
    help="Bridge links less sure than this are not followed.",
)
@json_option
@click.pass_obj
def exposure_command(
    state: _State,
    subject: str,
    chain: str,
    entity: bool,
    direction: str,
    hops: int,
    policy: str,
    since: str | None,
    until: str | None,
    labels: tuple[Path, ...],
    links: tuple[Path, ...],
    min_link_confidence: float,
    as_json: bool,
) -> None:
    """Share of an address's received (sent) value from (to) each risk category within N hops."""
    from counterflow.graph.exposure import exposure

    report = exposure(
        state.directory,
        chain,
        subject,
        direction=direction,
        max_hops=hops,
        policy=policy,
        labels=labels,
        links=links,
        min_link_confidence=min_link_confidence,
        entity=entity,
        since=since,
        until=until,
    )

    def render(console: Console) -> None:
        for name, part in (("Received from", report.received), ("Sent to", report.sent)):
            if part is None:
                continue
            table = Table(
                title=f"{name} ({report.subject}, {report.params['policy']}, "
                f"≤ {report.params['max_hops']} hops)"
            )
            crossed = any(c.via_links for c in part.categories)
            columns = ["asset", "category", "amount", "share", "direct", "min hop"]
            columns += ["across links", "link confidence"] if crossed else []
            for column in [*columns, "top"]:
                numeric = column not in ("asset", "category", "top")
                table.add_column(column, justify="right" if numeric else "left")
            for c in part.categories:
                decimals = _DECIMALS.get(c.asset)
                top = ", ".join(
                    f"{x.label} {x.address[:12]}…"
                    + (f" ({x.chain})" if x.chain != report.chain else "")
                    for x in c.contributors[:2]
                )
                row = [
                    c.asset,
                    c.category,
                    _units(str(c.amount), decimals),
                    f"{c.share:.2%}",
                    _units(str(c.direct), decimals),
                    "—" if c.min_hop is None else str(c.min_hop),
                ]
                if crossed:
                    sure = sorted({x.confidence for x in c.links})
                    row.append(_units(str(c.via_links), decimals) if c.via_links else "—")
                    row.append(", ".join(f"{x:g}" for x in sure) if sure else "—")
                table.add_row(*row, top)
            console.print(table)
            totals = ", ".join(
                f"{_units(str(v), _DECIMALS.get(a))} {a}" for a, v in part.totals.items()
            )
            console.print(f"{part.transfers} transfers, total {totals or 'nothing'}")
            for x in part.crossings:
                console.print(
                    f"  bridge link {x.deposit_chain} {x.deposit_tx[:14]}… → {x.release_chain} "
                    f"{x.release_tx[:14]}… (confidence {x.confidence:g}, hop {x.hop}): "
                    f"{x.status.replace('_', ' ')}"
                )

    _emit(report.to_json(), as_json, render)


@contextmanager
def _fraction_progress(enabled: bool, label: str) -> Iterator[Callable[[float], None]]:
    """A percentage bar on stderr for work that reports the fraction done."""
    err = Console(stderr=True)
    if not enabled or not err.is_terminal:
        yield lambda _done: None
        return
    with Progress(
        TextColumn(label), BarColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task(label, total=1.0)
        yield lambda done: bar.update(task, completed=done)


_DECIMALS = {"BTC": 8, "ETH": 18, "LSTX": 18, "USDX": 6}


def _units(value: str | None, decimals: int | None) -> str:
    """Base units formatted with the asset's decimals, exactly (no floats)."""
    if value is None:
        return "—"
    if not decimals:
        return value
    negative = value.startswith("-")
    digits = value.lstrip("-").rjust(decimals + 1, "0")
    whole, frac = digits[:-decimals], digits[-decimals:].rstrip("0")
    return ("-" if negative else "") + f"{int(whole):,}" + (f".{frac}" if frac else "")


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI and map Counterflow errors to exit codes."""
    try:
        cli.main(args=argv, prog_name="counterflow", standalone_mode=False)
    except CounterflowError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0


# Commands defined in their own modules register themselves on ``cli`` when imported; they
# import the plumbing above, so they are imported only once it exists.
from counterflow.cli import commands as _commands  # noqa: E402

_commands.register(cli)

if __name__ == "__main__":
    sys.exit(main())

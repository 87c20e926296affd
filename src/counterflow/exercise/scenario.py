"""Run a scenario: both economies, the heists, and every file a deployment would ingest.

The run is streamed: the economies advance one Bitcoin block (and the Ethereum blocks beside
it) at a time, transactions collect in fixed-size buffers and are written out as export text
when the buffers are half full. Memory is the state of the economies (wallets, unspent
outputs, balances: proportional to the number of users and addresses) plus the buffers, not
the size of the output.

Files are written under a temporary folder beside ``out`` and moved into place at the end, so
an interrupted run leaves no half-written scenario behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

import numpy as np

from counterflow.errors import InputError
from counterflow.exercise import bitcoin_economy as btc
from counterflow.exercise import ethereum_economy as eth
from counterflow.exercise import export_writer as text
from counterflow.exercise.config import ScenarioConfig
from counterflow.exercise.heist import ASSET_SYMBOLS, Heist
from counterflow.exercise.injects import build_injects
from counterflow.exercise.labels import write_labels
from counterflow.exercise.owners import write_owners
from counterflow.exercise.sampling import pareto_weights, seed_compiled_rng
from counterflow.exercise.schedule import Blocks, plan
from counterflow.exercise.truth import GroundTruth, HeistTruth
from counterflow.exercise.world import (
    EXCHANGE_NAMES,
    Keys,
    World,
    held_for_satoshi,
    satoshi_for_held,
)

Progress = Callable[[float], None]
B = TypeVar("B", btc.BitcoinBuffers, eth.EthereumBuffers)
_FLUSH_SHARE = 0.4
#: Wei per held ETH unit of the Ethereum economy (its balances are in units of 10^6 wei).
_WEI_PER_HELD = 10**6


@dataclass
class ScenarioSummary:
    out: str
    seed: int
    transfers: int
    bitcoin: dict[str, int]
    ethereum: dict[str, int]
    heists: list[str]
    start: str
    end: str
    seconds: float
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "seed": self.seed,
            "transfers": self.transfers,
            "bitcoin": self.bitcoin,
            "ethereum": self.ethereum,
            "heists": self.heists,
            "start": self.start,
            "end": self.end,
            "seconds": self.seconds,
            "files": self.files,
        }


def run_scenario(
    config: ScenarioConfig, out: str | os.PathLike[str], *, progress: Progress | None = None
) -> ScenarioSummary:
    """Write the scenario ``config`` describes into the folder ``out`` (new or empty)."""
    started = time.perf_counter()
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{target}: exists and is not an empty folder; choose a new --out")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        summary = _Run(config, staging, progress).execute()
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary.out = str(target)
    summary.files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


class _Run:
    def __init__(self, config: ScenarioConfig, out: Path, progress: Progress | None) -> None:
        self.config = config
        self.out = out
        self.progress = progress or (lambda _done: None)
        rng = np.random.default_rng(config.seed)
        seed_compiled_rng(config.seed)
        self.start = int(config.start.timestamp())
        self.end = self.start + int(config.days * 86_400)
        btc_share = config.transfers * config.bitcoin_share
        self.btc_blocks, self.eth_blocks = plan(
            rng,
            start=self.start,
            end=self.end,
            first_bitcoin=config.first_bitcoin_block,
            first_ethereum=config.first_ethereum_block,
            bitcoin_transfers=int(btc_share),
            ethereum_transfers=config.transfers - int(btc_share),
        )
        users = config.users
        exchanges = config.exchanges
        exchange_weights = 1.0 / np.arange(1, exchanges + 1) ** 1.1
        activity = pareto_weights(rng, users, 1.2)
        popularity = pareto_weights(rng, users, 1.1)
        btc_state = btc.new_bitcoin_state(
            rng,
            users=users,
            merchants=max(20, users // 100),
            exchanges=exchanges,
            miners=8,
            address_capacity=users * 4 + 100_000,
            exchange_weights=exchange_weights,
            user_activity=activity,
            user_popularity=popularity,
            params=btc.default_params(),
        )
        eth_state = eth.new_ethereum_state(
            rng,
            users=users,
            exchanges=exchanges,
            relayers=5,
            account_capacity=users * 2 + 100_000,
            exchange_weights=exchange_weights,
            user_activity=activity,
            user_popularity=popularity,
            params=eth.default_params(),
        )
        names = tuple(EXCHANGE_NAMES[k % len(EXCHANGE_NAMES)] for k in range(exchanges))
        self.world = World(btc_state, eth_state, Keys.for_seed(config.seed), names, rng)
        self.heists = [
            Heist(p, self.world, self.start + int(p.start_after_days * 86_400) + k * 6 * 3600, 0)
            for k, p in enumerate(config.playbooks)
        ]
        self._fund_bridge(rng)
        btc_capacity, eth_capacity = _capacity(self.btc_blocks), _capacity(self.eth_blocks)
        self.btc_sets = _BufferPair(lambda: btc.BitcoinBuffers.allocate(btc_capacity))
        self.eth_sets = _BufferPair(lambda: eth.EthereumBuffers.allocate(eth_capacity))
        # A writer thread per chain turns full buffers into text while the economies go on;
        # the compiled writers release the GIL, so they use the other core. Each thread runs
        # its jobs in order, so every file is written in order.
        self.btc_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bitcoin-writer")
        self.eth_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ethereum-writer")
        self.btc_arena = text.TextArena()
        self.eth_arenas = (text.TextArena(), text.TextArena(), text.TextArena())
        self.btc_tx_counts = np.zeros(len(self.btc_blocks.numbers), np.int64)
        self.eth_tx_counts = np.zeros(len(self.eth_blocks.numbers), np.int64)
        self.eth_gas = np.zeros(len(self.eth_blocks.numbers), np.int64)
        #: The bridge operator's ledger: (release time, deposit chain, tx, amount, release
        #: chain, tx, address, amount) for every crossing, background and heists alike.
        self.crossings: list[tuple[int, str, str, int, str, str, str, int]] = []

    def _fund_bridge(self, rng: np.random.Generator) -> None:
        """The bridge's Bitcoin float must cover what the heists will bridge."""
        usd_per_eth = float(self.world.eth.params[eth.P_USD_PER_ETH])
        held = sum(
            (p.stolen_eth + p.stolen_lst) // 10**6 + int(p.stolen_usd / usd_per_eth * 10**6)
            for p in self.config.playbooks
        )
        total = int(satoshi_for_held(held) * 1.5) + 10**9
        values = rng.dirichlet(np.ones(40)) * total
        btc.fund(self.world.btc, self.world.btc.bridge, values.astype(np.int64))

    # -- the loop -------------------------------------------------------------------------
    def execute(self) -> ScenarioSummary:
        cfg = self.config
        (self.out / "bitcoin").mkdir()
        (self.out / "ethereum").mkdir()
        with (
            open(self.out / "bitcoin" / "transactions.json", "wb") as btc_file,
            open(self.out / "ethereum" / "transactions.csv", "wb") as tx_file,
            open(self.out / "ethereum" / "token_transfers.csv", "wb") as token_file,
            open(self.out / "ethereum" / "traces.csv", "wb") as trace_file,
        ):
            tx_file.write(text.ETHEREUM_TRANSACTION_COLUMNS.encode() + b"\n")
            token_file.write(text.ETHEREUM_TOKEN_TRANSFER_COLUMNS.encode() + b"\n")
            trace_file.write(text.ETHEREUM_TRACE_COLUMNS.encode() + b"\n")
            eth_files = (tx_file, token_file, trace_file)
            try:
                self._loop(btc_file, eth_files)
                self._flush_btc(btc_file)
                self._flush_eth(eth_files)
                self.btc_sets.wait_all()
                self.eth_sets.wait_all()
            finally:
                self.btc_writer.shutdown(wait=True, cancel_futures=True)
                self.eth_writer.shutdown(wait=True, cancel_futures=True)
        self._write_blocks()
        truth = self._truth()
        truth.write(self.out / "ground_truth.json")
        (self.out / "injects.json").write_text(
            _json(build_injects(truth, self.world.rng)), encoding="utf-8"
        )
        write_labels(self.out / "labels", self.world, cfg.seed)
        self._write_crossings()
        write_owners(self.out / "ground_truth" / "owners.parquet", self.world, self.heists)
        btc_count = int(self.world.btc.counters[btc.C_TRANSFERS])
        eth_count = int(self.world.eth.counters[eth.C_TRANSFERS])
        return ScenarioSummary(
            out=str(self.out),
            seed=cfg.seed,
            transfers=btc_count + eth_count,
            bitcoin={
                "blocks": len(self.btc_blocks.numbers),
                "transactions": int(self.btc_tx_counts.sum()),
                "transfers": btc_count,
                "addresses": int(self.world.btc.counters[btc.C_ADDRESS]),
            },
            ethereum={
                "blocks": len(self.eth_blocks.numbers),
                "transactions": int(self.eth_tx_counts.sum()),
                "transfers": eth_count,
                "addresses": int(self.world.eth.counters[eth.C_ACCOUNT]),
            },
            heists=[h.p.name for h in self.heists],
            start=_iso(self.start),
            end=_iso(self.end),
            seconds=0.0,
        )

    def _loop(self, btc_file: IO[bytes], eth_files: tuple[IO[bytes], IO[bytes], IO[bytes]]) -> None:
        world = self.world
        btc_b, eth_b = self.btc_blocks, self.eth_blocks
        n = len(btc_b.numbers)
        eth_cursor = 0
        for k in range(n):
            window_end = int(btc_b.times[k + 1]) if k + 1 < n else self.end
            eth_stop = int(np.searchsorted(eth_b.times, window_end))
            world.btc_block = int(btc_b.numbers[k])
            world.btc_time = int(btc_b.times[k])
            world.eth_blocks = eth_b.numbers[eth_cursor:eth_stop]
            world.eth_times = eth_b.times[eth_cursor:eth_stop]
            for heist in self.heists:
                heist.step(window_end)
            if eth_stop > eth_cursor:
                self._run_eth(slice(eth_cursor, eth_stop), eth_files)
            eth_cursor = eth_stop
            self._run_btc(k, btc_file)
            if k % 16 == 0:
                self.progress((k + 1) / n)
        self.progress(1.0)

    def _run_eth(self, blocks: slice, files: tuple[IO[bytes], IO[bytes], IO[bytes]]) -> None:
        world, state = self.world, self.world.eth
        numbers = self.eth_blocks.numbers[blocks]
        budgets = self.eth_blocks.budgets[blocks]
        inj_txs, inj_subs = world.take_eth_injections()
        releases = world.due_eth_releases()
        done = 0
        while done < len(numbers):
            first = numbers[done]
            k = int(np.searchsorted(inj_txs["block"], first))
            r = int(np.searchsorted(releases["block"], first))
            buffers = self.eth_sets.current
            done += eth.simulate(
                state,
                buffers,
                numbers[done:],
                budgets[done:],
                (inj_txs[k:], inj_subs),
                releases[r:],
            )
            self._bridge_crossings_from_eth()
            if done < len(numbers) or eth.buffered(state) > _FLUSH_SHARE * len(buffers.txs):
                self._flush_eth(files)
        first_block = int(self.eth_blocks.numbers[0])
        for r in releases[releases["release"] >= 0]:
            self.crossings.append(
                (
                    int(self.eth_blocks.times[int(r["block"]) - first_block]),
                    "bitcoin",
                    world.btc_tx_hash(int(r["deposit"])),
                    int(r["deposited"]),
                    "ethereum",
                    world.eth_tx_hash(int(r["release"])),
                    world.eth_address_text(int(r["payee"])),
                    int(r["amount"]) * _WEI_PER_HELD,
                )
            )

    def _bridge_crossings_from_eth(self) -> None:
        state, buffers = self.world.eth, self.eth_sets.current
        count = int(state.counters[eth.C_CROSS])
        rng = self.world.rng
        first = int(self.eth_blocks.numbers[0])
        for c in buffers.crossings[:count]:
            when = int(self.eth_blocks.times[int(c["block"]) - first]) + int(
                rng.integers(1200, 5400)
            )
            self.world.owe_btc(
                when,
                satoshi_for_held(int(c["amount"])),
                user=int(c["user"]),
                deposit=(int(c["deposit"]), int(c["deposited"])),
            )
        state.counters[eth.C_CROSS] = 0

    def _run_btc(self, k: int, file: IO[bytes]) -> None:
        world, state, buffers = self.world, self.world.btc, self.btc_sets.current
        injections = world.take_btc_injections()
        releases = world.due_btc_releases()
        numbers = self.btc_blocks.numbers[k : k + 1]
        budgets = self.btc_blocks.budgets[k : k + 1]
        tx_before = int(state.counters[btc.C_TX])
        out_before = int(state.counters[btc.C_OUT])
        if btc.simulate(state, buffers, numbers, budgets, injections, releases) == 0:
            self._flush_btc(file)
            buffers = self.btc_sets.current
            tx_before = out_before = 0
            if btc.simulate(state, buffers, numbers, budgets, injections, releases) == 0:
                raise RuntimeError("a Bitcoin block does not fit in empty buffers")
        for r in releases[releases["release"] >= 0]:
            self.crossings.append(
                (
                    world.btc_time,
                    "ethereum",
                    world.eth_tx_hash(int(r["deposit"])),
                    int(r["deposited"]) * _WEI_PER_HELD,
                    "bitcoin",
                    world.btc_tx_hash(int(r["release"])),
                    world.btc_address_text(int(r["payee"])),
                    int(r["amount"]),
                )
            )
        txs = buffers.txs[tx_before : state.counters[btc.C_TX]]
        outputs = buffers.outputs[: state.counters[btc.C_OUT]]
        for heist in self.heists:
            heist.observe_bitcoin(txs, outputs, out_before)
        rng = world.rng
        for c in buffers.crossings[: state.counters[btc.C_CROSS]]:
            when = world.btc_time + int(rng.integers(1200, 5400))
            world.owe_eth(
                when,
                held_for_satoshi(int(c["amount"])),
                int(c["user"]),
                deposit=(int(c["deposit"]), int(c["deposited"])),
            )
        state.counters[btc.C_CROSS] = 0
        if btc.buffered_io(state) > _FLUSH_SHARE * len(buffers.inputs):
            self._flush_btc(file)

    def _flush_btc(self, file: IO[bytes]) -> None:
        chunk = btc.take(self.world.btc, self.btc_sets.current)
        if len(chunk.txs) == 0:
            return
        first = int(self.btc_blocks.numbers[0])
        self.btc_tx_counts += np.bincount(
            chunk.txs["block"] - first, minlength=len(self.btc_tx_counts)
        )
        keys = (self.world.keys.btc_tx, self.world.keys.btc_block, self.world.keys.btc_address)

        def write() -> None:
            file.write(
                text.bitcoin_transactions_text(
                    chunk, first, self.btc_blocks.times, keys, self.btc_arena
                )
            )

        self.btc_sets.hand_over(self.btc_writer.submit(write))

    def _flush_eth(self, files: tuple[IO[bytes], IO[bytes], IO[bytes]]) -> None:
        chunk = eth.take(self.world.eth, self.eth_sets.current)
        if len(chunk.txs) == 0:
            return
        first = int(self.eth_blocks.numbers[0])
        blocks = chunk.txs["block"] - first
        self.eth_tx_counts += np.bincount(blocks, minlength=len(self.eth_tx_counts))
        self.eth_gas += np.bincount(
            blocks, weights=chunk.txs["gas_used"], minlength=len(self.eth_gas)
        ).astype(np.int64)
        keys = (self.world.keys.eth_tx, self.world.keys.eth_block, self.world.keys.eth_address)
        contracts = self.world.eth.contracts.copy()

        def write() -> None:
            parts = text.ethereum_text(
                chunk, first, self.eth_blocks.times, contracts, keys, self.eth_arenas
            )
            for file, part in zip(files, parts, strict=True):
                file.write(part)

        self.eth_sets.hand_over(self.eth_writer.submit(write))

    def _write_blocks(self) -> None:
        keys = self.world.keys
        b = self.btc_blocks
        (self.out / "bitcoin" / "blocks.json").write_bytes(
            text.bitcoin_blocks_text(b.numbers, b.times, self.btc_tx_counts, keys.btc_block)
        )
        e = self.eth_blocks
        builders = self.world.eth.builders
        miners = builders[np.arange(len(e.numbers)) % len(builders)]
        base_fee = np.full(len(e.numbers), int(np.exp(self.world.eth.params[eth.P_GAS_MU]) * 0.8))
        with open(self.out / "ethereum" / "blocks.csv", "wb") as f:
            f.write(text.ETHEREUM_BLOCK_COLUMNS.encode() + b"\n")
            f.write(
                text.ethereum_blocks_text(
                    e.numbers,
                    e.times,
                    self.eth_tx_counts,
                    self.eth_gas,
                    base_fee,
                    miners,
                    (keys.eth_block, keys.eth_address),
                )
            )
        contracts = self.world.eth.contracts
        usd = self.world.eth_address_text(int(contracts[eth.K_USD]))
        lst = self.world.eth_address_text(int(contracts[eth.K_LST]))
        (self.out / "ethereum" / "tokens.csv").write_text(
            "address,symbol,name,decimals,total_supply,block_number\n"
            f"{usd},USDX,USDX Stablecoin,6,,{e.numbers[0]}\n"
            f"{lst},LSTX,LSTX Liquid Staked Ether,18,,{e.numbers[0]}\n",
            encoding="utf-8",
        )

    def _write_crossings(self) -> None:
        """``bridge/crossings.csv``: what a bridge operator publishes about its crossings."""
        folder = self.out / "bridge"
        folder.mkdir()
        lines = [
            "deposit_chain,deposit_tx,deposit_amount,release_chain,release_tx,"
            "release_address,release_amount,release_time"
        ]
        for when, d_chain, d_tx, d_amount, r_chain, r_tx, address, r_amount in sorted(
            self.crossings
        ):
            lines.append(
                f"{d_chain},{d_tx},{d_amount},{r_chain},{r_tx},{address},{r_amount},{_iso(when)}"
            )
        (folder / "crossings.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _truth(self) -> GroundTruth:
        cfg = self.config
        truth = GroundTruth(
            scenario={
                "seed": cfg.seed,
                "transfers": cfg.transfers,
                "days": cfg.days,
                "start": _iso(self.start),
                "end": _iso(self.end),
                "exchanges": list(self.world.exchanges),
                "first_blocks": {
                    "bitcoin": int(self.btc_blocks.numbers[0]),
                    "ethereum": int(self.eth_blocks.numbers[0]),
                },
            }
        )
        for heist in self.heists:
            record = heist.record
            p = heist.p
            truth.heists.append(
                HeistTruth(
                    name=p.name,
                    playbook=p.name,
                    description=p.description,
                    theft_time=_iso(record.theft_time),
                    victims=[
                        {"chain": "ethereum", "address": a, "role": r} for a, r in record.victims
                    ],
                    addresses=[
                        {"chain": chain, "address": address, "role": role}
                        for (chain, address), role in record.addresses.items()
                    ],
                    transfers=record.transfers,
                    links=record.links,
                    destinations=record.destinations,
                    held=heist.holdings(),
                    stolen={
                        ASSET_SYMBOLS[eth.ETH]: p.stolen_eth,
                        ASSET_SYMBOLS[eth.USD]: p.stolen_usd,
                        ASSET_SYMBOLS[eth.LST]: p.stolen_lst,
                    },
                )
            )
        return truth


class _BufferPair(Generic[B]):
    """Two buffer sets: the economy fills one while the writer thread empties the other."""

    def __init__(self, make: Callable[[], B]) -> None:
        self._sets: list[B] = [make(), make()]
        self._jobs: list[Future[None] | None] = [None, None]
        self._index = 0

    @property
    def current(self) -> B:
        return self._sets[self._index]

    def hand_over(self, job: Future[None]) -> None:
        """The current set is being written by ``job``; switch to the other once it is free."""
        self._jobs[self._index] = job
        self._index ^= 1
        waiting = self._jobs[self._index]
        if waiting is not None:
            waiting.result()  # also re-raises what went wrong in the writer
            self._jobs[self._index] = None

    def wait_all(self) -> None:
        for k, job in enumerate(self._jobs):
            if job is not None:
                job.result()
                self._jobs[k] = None


def _capacity(blocks: Blocks) -> int:
    largest = int(blocks.budgets.max(initial=0))
    return max(1 << 20, 4 * largest + 200_000)


def _iso(epoch: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=epoch)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def _json(document: Any) -> str:
    import json

    return json.dumps(document, indent=1) + "\n"

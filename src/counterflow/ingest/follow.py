"""Follow a node: resume where the store stopped, stay behind the tip, survive reorganisations.

A node's newest blocks are provisional: the chain may reorganise and replace them. So the sync
loop ingests only up to ``tip - confirmations`` and, before every batch, asks the node for the
hash of the newest stored block. If the node no longer has that block, the store walks back to
the fork point (the newest stored block the node still agrees with), rolls back to it in one
atomic commit (:func:`counterflow.store.rollback.rollback`) and ingests the winning branch from
there. Every batch is one ingest, one commit: stopping at any moment (Ctrl-C, ``kill -9``)
loses at most the batch under way, and the next run resumes after the last stored block.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from types import FrameType, TracebackType
from typing import Any

import duckdb

from counterflow.chains.registry import ChainSpec, get_chain
from counterflow.errors import ConfigError, InputError
from counterflow.ingest.node import NodeChain
from counterflow.ingest.pipeline import Progress, ingest_source
from counterflow.store.datadir import DataDirectory
from counterflow.store.rollback import rollback

DEFAULT_CONFIRMATIONS = 6
DEFAULT_BATCH_BLOCKS = 100
DEFAULT_POLL_SECONDS = 30.0
#: Batches in a row that may fail because the node reorganised while they were fetched.
_RETRIES = 3


class SignalStop:
    """A stop request made by Ctrl-C or SIGTERM, seen by the sync loop between batches.

    Left to Python's default, Ctrl-C raises KeyboardInterrupt wherever the loop happens to be,
    and inside a DuckDB query DuckDB turns it into a plain "Query interrupted" RuntimeError: the
    run would end with a traceback instead of its report. While this is entered, the first
    signal only asks the loop to stop; the batch under way completes. A second one interrupts
    at once, which is safe too, since a batch is one atomic commit.
    """

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.received is not None

    def __enter__(self) -> SignalStop:
        # Handlers can only be installed from the main thread; elsewhere the defaults stay.
        if threading.current_thread() is threading.main_thread():
            for signum in self._SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum


@dataclass
class Reorg:
    """One reorganisation met: the stored blocks above ``fork_height`` were replaced."""

    fork_height: int
    rolled_back: int
    old_tip_hash: str | None


@dataclass
class SyncReport:
    """What one sync did. ``stopped`` says why it ended: caught up, to_block, stop, interrupt."""

    chain: str
    node: str
    first_height: int | None = None
    last_height: int | None = None
    last_hash: str | None = None
    node_tip: int | None = None
    blocks: int = 0
    transfers: int = 0
    batches: int = 0
    reorgs: list[Reorg] = field(default_factory=list)
    stopped: str = "caught up"
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def stored_blocks(
    directory: DataDirectory, chain: str, lowest: int | None = None
) -> list[tuple[int, str]]:
    """(height, hash) of the stored blocks at or above ``lowest``, newest first."""
    files = [str(p) for p in directory.table_files(chain, "blocks")]
    if not files:
        return []
    where = "block_hash IS NOT NULL" + (f" AND block_number >= {int(lowest)}" if lowest else "")
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT block_number, block_hash FROM read_parquet(?) WHERE {where} "
            "ORDER BY block_number DESC",
            [files],
        ).fetchall()
    return [(int(h), str(b)) for h, b in rows]


def stored_tip(directory: DataDirectory, chain: str) -> tuple[int, str] | None:
    """The newest stored block, or None for an empty chain."""
    files = [str(p) for p in directory.table_files(chain, "blocks")]
    if not files:
        return None
    with duckdb.connect() as con:
        row = con.execute(
            "SELECT block_number, block_hash FROM read_parquet(?) "
            "ORDER BY block_number DESC LIMIT 1",
            [files],
        ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def sync(
    directory: str | os.PathLike[str] | DataDirectory | None,
    spec_or_chain: str | ChainSpec,
    node: NodeChain,
    *,
    from_block: int | None = None,
    to_block: int | None = None,
    follow: bool = False,
    confirmations: int = DEFAULT_CONFIRMATIONS,
    batch_blocks: int = DEFAULT_BATCH_BLOCKS,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SyncReport:
    """Ingest ``node``'s blocks into the store until caught up (or, with ``follow``, stopped).

    Starts after the newest stored block, or at ``from_block`` when that is later (or the
    chain is empty: then 0 by default). Each batch of at most ``batch_blocks`` blocks is one
    atomic ingest; only blocks with ``confirmations`` blocks on top of them are ingested.
    """
    started = time.perf_counter()
    spec = get_chain(spec_or_chain)
    if follow and to_block is not None:
        raise ConfigError("--follow runs until stopped; it cannot be combined with --to-block")
    if confirmations < 0 or batch_blocks < 1 or poll_seconds < 0:
        raise ConfigError(
            "confirmations must be 0 or more, batch blocks 1 or more, poll seconds 0 or more"
        )
    if any(b is not None and b < 0 for b in (from_block, to_block)):
        raise ConfigError("block heights start at 0")
    if from_block is not None and to_block is not None and to_block < from_block:
        raise ConfigError(f"--to-block {to_block} is below --from-block {from_block}")
    data = directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
    note = progress or (lambda _stage: None)
    stop = should_stop or (lambda: False)
    report = SyncReport(chain=spec.name, node=node.url)
    failures = 0
    try:
        while not stop():
            tip = node.tip()
            report.node_tip = tip
            stored = stored_tip(data, spec.name)
            if stored is not None and stored[0] > tip:
                # A node still syncing (or another node) is behind the store: wait for it
                # rather than take its short chain for a reorganisation.
                message = (
                    f"the node at {node.url} is at height {tip}, below the stored block "
                    f"{stored[0]}: waiting for it to catch up"
                )
                if message not in report.warnings:
                    report.warnings.append(message)
                if not follow:
                    break
                note(message)
                _sleep(poll_seconds, stop)
                continue
            if stored is not None and node.block_hashes([stored[0]])[0] != stored[1]:
                _reorganise(data, spec, node, stored, report, note)
                continue
            first = stored[0] + 1 if stored is not None else 0
            if from_block is not None:
                first = max(first, from_block)
            last = tip - confirmations
            if to_block is not None:
                last = min(last, to_block)
            if first > last:
                if to_block is not None and first > to_block:
                    report.stopped = "to_block"
                    break
                if not follow:
                    break
                note(f"waiting for block {first + confirmations} at {node.url}")
                _sleep(poll_seconds, stop)
                continue
            last = min(last, first + batch_blocks - 1)
            note(f"blocks {first}..{last} from {node.url}")
            try:
                done = ingest_source(spec, node.source(first, last), data_dir=data, progress=note)
            except InputError:
                # Blocks that do not extend the store or each other: the node reorganised
                # while they were fetched. Look again, a few times, before giving up.
                failures += 1
                if failures < _RETRIES and (
                    node.tip() != tip
                    or (stored is not None and node.block_hashes([stored[0]])[0] != stored[1])
                ):
                    continue
                raise
            failures = 0
            if report.first_height is None:
                report.first_height = first
            report.batches += 1
            report.blocks += done.new_blocks
            report.transfers += done.stored
            report.warnings.extend(w for w in done.warnings if w not in report.warnings)
            newest = stored_tip(data, spec.name)
            if newest is None or newest[0] < last:
                raise InputError(
                    f"{node.url}: blocks {first}..{last} were ingested but the store's newest "
                    f"block is {None if newest is None else newest[0]}: the node served "
                    "fewer blocks than asked for"
                )
        else:
            report.stopped = "interrupt" if isinstance(stop, SignalStop) else "stop"
    except KeyboardInterrupt:
        report.stopped = "interrupt"
    newest = stored_tip(data, spec.name)
    if newest is not None:
        report.last_height, report.last_hash = newest
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _reorganise(
    data: DataDirectory,
    spec: ChainSpec,
    node: NodeChain,
    stored: tuple[int, str],
    report: SyncReport,
    note: Progress,
) -> None:
    """Roll the store back to the newest stored block the node still has."""
    fork = _fork_point(data, spec.name, node, stored[0])
    note(f"reorganisation at {node.url}: rolling back to block {fork}")
    done = rollback(data, spec, fork, progress=note)
    report.reorgs.append(Reorg(fork_height=fork, rolled_back=done.blocks, old_tip_hash=stored[1]))
    report.warnings.append(
        f"chain reorganisation: the node at {node.url} replaced the stored blocks above "
        f"{fork} (up to {stored[0]}); {done.blocks} block(s) rolled back and ingested again"
    )


def _fork_point(data: DataDirectory, chain: str, node: NodeChain, tip: int) -> int:
    """The newest stored height whose hash the node agrees with, searched in growing windows."""
    bottom = min((h for h, _ in stored_blocks(data, chain)), default=0)
    window = 8
    upper = tip
    while True:
        lowest = max(upper - window + 1, bottom)
        ours = [(h, b) for h, b in stored_blocks(data, chain, lowest) if h <= upper]
        if ours:
            theirs = node.block_hashes([h for h, _ in ours])
            for (height, block_hash), node_hash in zip(ours, theirs, strict=True):
                if block_hash == node_hash:
                    return height
        if lowest <= bottom:
            raise InputError(
                f"the node at {node.url} agrees with none of the stored {chain} blocks "
                f"{bottom}..{tip}: is it on the same network as the store? Point --rpc at "
                "the node this store follows, or use another --data-dir"
            )
        upper = lowest - 1
        window *= 4


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    """Sleep in short steps so that a stop request is seen promptly."""
    deadline = time.monotonic() + seconds
    while not stop():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))


__all__ = ["Reorg", "SyncReport", "stored_blocks", "stored_tip", "sync"]

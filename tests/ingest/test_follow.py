"""The sync loop over real blocks: resumption, confirmations, and a real fork.

The node is a small in-test ``NodeChain`` serving btcd's reorgtest blocks through the block-file
source; the store, the pipeline and the rollback are the real ones.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pytest

from counterflow import ConfigError, InputError
from counterflow.ingest import ingest_source
from counterflow.ingest.bitcoin_blocks import double_sha256
from counterflow.ingest.block_files import BlockFileSource
from counterflow.ingest.follow import SignalStop, stored_tip, sync
from counterflow.store import DataDirectory
from reorg_blocks import ALT, MAIN, REORGTEST, read_reorgtest, snapshot, write_blk


class BlockFileNode:
    """A node whose best chain is a list of real blocks; ``switch`` reorganises it."""

    url = "http://127.0.0.1:18443/"

    def __init__(self, blocks: list[bytes], folder: Path) -> None:
        self.blocks = blocks
        self.folder = folder
        self.served: list[tuple[int, int]] = []

    def switch(self, blocks: list[bytes]) -> None:
        self.blocks = blocks

    def tip(self) -> int:
        return len(self.blocks) - 1

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        return [double_sha256(self.blocks[h][:80])[::-1].hex() for h in heights]

    def source(self, first: int, last: int) -> BlockFileSource:
        self.served.append((first, last))
        path = self.folder / f"blk-{len(self.served):05d}.dat"
        return BlockFileSource([write_blk(self.blocks[first : last + 1], path)])


@pytest.fixture(scope="module")
def reorg(shared_data: Path) -> dict[str, bytes]:
    path = shared_data / REORGTEST
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return read_reorgtest(path)


def branch(reorg: dict[str, bytes], names: Sequence[str]) -> list[bytes]:
    return [reorg[n] for n in names]


def fresh(tmp_path: Path, blocks: list[bytes], name: str) -> Path:
    store = tmp_path / name
    source = BlockFileSource([write_blk(blocks, tmp_path / f"{name}.dat")])
    ingest_source("bitcoin", source, data_dir=store)
    return store


def test_sync_in_batches_then_a_reorganisation(reorg: dict[str, bytes], tmp_path: Path) -> None:
    store = tmp_path / "store"
    node = BlockFileNode(branch(reorg, MAIN), tmp_path)
    report = sync(store, "bitcoin", node, confirmations=0, batch_blocks=2)
    assert node.served == [(0, 1), (2, 3), (4, 4)]
    assert (report.blocks, report.batches, report.last_height, report.reorgs) == (5, 3, 4, [])
    assert report.last_hash == node.block_hashes([4])[0]
    assert report.stopped == "caught up" and report.node == node.url
    assert snapshot(store, "bitcoin") == snapshot(fresh(tmp_path, node.blocks, "main"), "bitcoin")

    node.switch(branch(reorg, ALT))
    again = sync(store, "bitcoin", node, confirmations=0, batch_blocks=2)
    assert [(r.fork_height, r.rolled_back) for r in again.reorgs] == [(2, 2)]
    assert node.served[3:] == [(3, 4), (5, 5)]
    assert (again.blocks, again.last_height) == (3, 5)
    assert any("reorganisation" in w and node.url in w for w in again.warnings)
    assert snapshot(store, "bitcoin") == snapshot(fresh(tmp_path, node.blocks, "alt"), "bitcoin")


def test_resume_and_confirmations(reorg: dict[str, bytes], tmp_path: Path) -> None:
    store = tmp_path / "store"
    node = BlockFileNode(branch(reorg, ALT), tmp_path)
    first = sync(store, "bitcoin", node, to_block=1, confirmations=0)
    assert (first.last_height, first.stopped) == (1, "to_block")
    second = sync(store, "bitcoin", node, confirmations=2)
    assert (second.first_height, second.last_height, second.node_tip) == (2, 3, 5)
    third = sync(store, "bitcoin", node, confirmations=2)
    assert (third.blocks, third.batches, third.last_height) == (0, 0, 3)
    assert sync(store, "bitcoin", node, confirmations=0).last_height == 5
    assert snapshot(store, "bitcoin") == snapshot(fresh(tmp_path, node.blocks, "alt"), "bitcoin")


def test_follow_across_a_reorganisation_until_stopped(
    reorg: dict[str, bytes], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    node = BlockFileNode(branch(reorg, MAIN[:3]), tmp_path)
    alt = branch(reorg, ALT)
    polls: list[int | None] = []

    def should_stop() -> bool:
        tip = stored_tip(DataDirectory(store), "bitcoin")
        polls.append(None if tip is None else tip[0])
        if tip is not None and tip[0] == 4 and node.blocks[3] == reorg["3"]:
            node.switch(alt)  # the main branch reached 4; now the fork with more work wins
        elif tip is not None and tip[0] == 2 and len(node.blocks) == 3:
            node.switch(branch(reorg, MAIN))  # two new blocks arrive
        return tip is not None and node.tip() == 5 and tip[1] == node.block_hashes([5])[0]

    report = sync(
        store,
        "bitcoin",
        node,
        follow=True,
        confirmations=0,
        poll_seconds=0,
        should_stop=should_stop,
    )
    assert report.stopped == "stop"
    assert [(r.fork_height, r.rolled_back) for r in report.reorgs] == [(2, 2)]
    assert report.last_height == 5
    assert snapshot(store, "bitcoin") == snapshot(fresh(tmp_path, alt, "alt"), "bitcoin")


def test_follow_stops_on_interrupt(reorg: dict[str, bytes], tmp_path: Path) -> None:
    node = BlockFileNode(branch(reorg, MAIN), tmp_path)
    calls = []

    def interrupt() -> bool:
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return False

    report = sync(
        tmp_path / "store",
        "bitcoin",
        node,
        follow=True,
        confirmations=0,
        poll_seconds=0,
        should_stop=interrupt,
    )
    assert (report.stopped, report.last_height) == ("interrupt", 4)


class CtrlCNode(BlockFileNode):
    """Ctrl-C arrives while the second batch is being read."""

    def source(self, first: int, last: int) -> BlockFileSource:
        if len(self.served) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return super().source(first, last)


def test_ctrl_c_finishes_the_batch_under_way_then_stops(
    reorg: dict[str, bytes], tmp_path: Path
) -> None:
    node = CtrlCNode(branch(reorg, MAIN), tmp_path)
    before = signal.getsignal(signal.SIGINT)
    with SignalStop() as stop:
        report = sync(
            tmp_path / "store",
            "bitcoin",
            node,
            follow=True,
            confirmations=0,
            batch_blocks=2,
            poll_seconds=0,
            should_stop=stop,
        )
    assert (report.stopped, report.batches, report.last_height) == ("interrupt", 2, 3)
    assert signal.getsignal(signal.SIGINT) is before  # the handler in place is put back


def long_query_interrupted_after(seconds: float) -> int:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with duckdb.connect(config={"threads": 1}) as con:  # as long on any machine
            query = "SELECT count(*) FROM range(200000000) WHERE range % 7 = 1"
            row = con.execute(query).fetchone()
    finally:
        timer.cancel()
    assert row is not None
    return int(row[0])


@pytest.fixture
def python_ctrl_c() -> Iterator[None]:
    """Python's own Ctrl-C handler (another test's library may have installed its own)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("python_ctrl_c")
def test_ctrl_c_inside_a_query_is_a_stop_request_not_an_error() -> None:
    # Without the handler, DuckDB turns the KeyboardInterrupt into a RuntimeError.
    with pytest.raises((RuntimeError, KeyboardInterrupt)):
        long_query_interrupted_after(0.1)
    with SignalStop() as stop:
        assert long_query_interrupted_after(0.1) == 28571429
        assert stop() and stop.received == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C interrupts at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)


def test_node_behind_the_store_is_waited_for_not_rolled_back(
    reorg: dict[str, bytes], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    node = BlockFileNode(branch(reorg, MAIN), tmp_path)
    sync(store, "bitcoin", node, confirmations=0)
    node.switch(branch(reorg, MAIN[:2]))
    report = sync(store, "bitcoin", node, confirmations=0)
    assert report.reorgs == [] and report.last_height == 4
    assert "below the stored block 4" in report.warnings[0]


def test_a_node_of_another_chain_is_refused(reorg: dict[str, bytes], tmp_path: Path) -> None:
    store = tmp_path / "store"
    node = BlockFileNode(branch(reorg, MAIN), tmp_path)
    sync(store, "bitcoin", node, confirmations=0)
    # Only hashes are asked for before the refusal: headers that differ from every stored one.
    stranger = BlockFileNode([bytes([n]) * 80 for n in range(6)], tmp_path)
    with pytest.raises(InputError, match=r"agrees with none of the stored bitcoin blocks 0\.\.4"):
        sync(store, "bitcoin", stranger, confirmations=0)
    assert stored_tip(DataDirectory(store), "bitcoin") == (4, node.block_hashes([4])[0])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"follow": True, "to_block": 3}, "cannot be combined with --to-block"),
        ({"from_block": 4, "to_block": 3}, "below --from-block"),
        ({"confirmations": -1}, "confirmations must be 0 or more"),
        ({"batch_blocks": 0}, "batch blocks 1 or more"),
        ({"from_block": -1}, "heights start at 0"),
    ],
)
def test_bad_options(
    reorg: dict[str, bytes], tmp_path: Path, options: dict[str, int], message: str
) -> None:
    node = BlockFileNode(branch(reorg, MAIN), tmp_path)
    with pytest.raises(ConfigError, match=message):
        sync(tmp_path / "store", "bitcoin", node, **options)  # type: ignore[arg-type]

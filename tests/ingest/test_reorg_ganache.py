"""Following a real Ethereum node (ganache) across real reorganisations, and the CLI over it.

``evm_snapshot``/``evm_revert`` give a real fork: the blocks mined after the snapshot are
dropped and new blocks (other transactions, so other hashes) take their heights. The store
that followed the losing branch must end up equal, table by table and id by id, to a store
that only ever saw the winning one, ingested in the same batches.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ganache import Ganache, Token
from test_ethereum_rpc import transfers

from counterflow.chains.registry import get_chain
from counterflow.cli import main
from counterflow.ingest.ethereum_rpc import EthereumNode, EthereumRangeSource
from counterflow.ingest.follow import stored_tip, sync
from counterflow.ingest.jsonrpc import JsonRpcClient
from counterflow.store import DataDirectory
from counterflow.store.reader import StoreReader
from counterflow.store.schema import TransferKind
from reorg_blocks import snapshot

ETH = get_chain("ethereum")

pytestmark = pytest.mark.slow


class RecordingNode(EthereumNode):
    """An :class:`EthereumNode` that remembers the block ranges it served, in order."""

    def __init__(self, client: JsonRpcClient) -> None:
        super().__init__(client, ETH)
        self.served: list[tuple[int, int]] = []

    def source(self, first: int, last: int) -> EthereumRangeSource:
        self.served.append((first, last))
        return super().source(first, last)


@pytest.fixture
def ganache() -> Iterator[Ganache]:
    with Ganache.start() as node:
        yield node


@pytest.fixture
def node(ganache: Ganache) -> Iterator[RecordingNode]:
    with JsonRpcClient(ganache.url) as client:
        yield RecordingNode(client)


def kept_batches(
    served: list[tuple[int, int]], fork: int, later: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The batches a store holds after a rollback to ``fork`` and the ``later`` ingests."""
    return [(f, min(last, fork)) for f, last in served if f <= fork] + later


def fresh_sync(ganache: Ganache, data_dir: Path, batches: list[tuple[int, int]]) -> Path:
    """The node's current chain synced into an empty store, one commit per batch."""
    with JsonRpcClient(ganache.url) as client:
        node = RecordingNode(client)
        for first, last in batches:
            report = sync(
                data_dir, ETH, node, to_block=last, confirmations=0, batch_blocks=last - first + 1
            )
            assert (report.first_height, report.last_height) == (first, last)
    assert node.served == batches
    return data_dir


def moved(data_dir: Path) -> list[tuple[Any, ...]]:
    """Value transfers (fees left out): kind, from, to, amount, transaction, token, block."""
    return [
        (r["kind"], r["src"], r["dst"], int(r["amount"]), r["tx_hash"], r["contract"])
        for r in transfers(data_dir)
        if r["kind"] != TransferKind.FEE
    ]


def stored_hashes(data_dir: Path, table: str, column: str) -> set[str]:
    with StoreReader(DataDirectory(data_dir)) as r:
        return {str(v) for (v,) in r.rows(f"SELECT {column} FROM {r.table('ethereum', table)}")}


def test_sync_across_a_real_reorganisation_equals_a_fresh_sync_of_the_winner(
    ganache: Ganache, node: RecordingNode, tmp_path: Path
) -> None:
    a, b, c, d, e, f, g = (x.lower() for x in ganache.accounts[:7])
    # Blocks 1-4, common to both branches (block 0 is ganache's genesis).
    token = Token.deploy(ganache, a)
    common = [token.deploy_tx, ganache.send(a, b, value=10**18), token.transfer(a, c, 1000)]
    common.append(ganache.send(b, c, value=7))
    fork = ganache.tip()
    assert fork == 4
    snap = ganache.snapshot()
    # Branch A: blocks 5-7; g appears only here.
    branch_a = [
        ganache.send(a, d, value=111),
        token.transfer(a, g, 222),
        ganache.send(c, g, value=333),
    ]
    store = tmp_path / "store"
    first = sync(store, ETH, node, confirmations=0, batch_blocks=3)
    assert node.served == [(0, 2), (3, 5), (6, 7)]
    assert (first.blocks, first.batches, first.last_height, first.reorgs) == (8, 3, 7, [])
    assert first.stopped == "caught up" and first.last_hash == node.block_hashes([7])[0]
    assert {h for *_, h, _ in moved(store)} >= set(branch_a)
    hashes_a = node.block_hashes([5, 6, 7])

    ganache.revert(snap)
    assert ganache.tip() == fork
    # Branch B: blocks 5-9, other amounts and recipients, then an empty block.
    branch_b = [
        token.transfer(a, f, 444),
        ganache.send(a, e, value=555),
        ganache.send(c, d, value=666),
        token.transfer(a, d, 777),
    ]
    ganache.mine(1)
    assert ganache.tip() == 9 and not set(node.block_hashes([5, 6, 7])) & set(hashes_a)

    second = sync(store, ETH, node, confirmations=0, batch_blocks=3)
    assert [(r.fork_height, r.rolled_back, r.old_tip_hash) for r in second.reorgs] == [
        (fork, 3, hashes_a[-1])
    ]
    assert node.served[3:] == [(5, 7), (8, 9)]
    assert (second.first_height, second.blocks, second.last_height) == (5, 5, 9)
    assert any("reorganisation" in w and node.url in w for w in second.warnings)

    # Nothing of branch A is left: no transaction, block, transfer or address of it.
    transactions = stored_hashes(store, "transactions", "tx_hash")
    assert transactions == set(common) | set(branch_b)
    assert not stored_hashes(store, "blocks", "block_hash") & set(hashes_a)
    assert not {h for *_, h, _ in moved(store)} & set(branch_a)
    assert not {amount for *_, amount, _, _ in moved(store)} & {111, 222, 333}
    assert g not in stored_hashes(store, "addresses", "address")
    assert [m for m in moved(store) if m[4] in branch_b] == [
        (TransferKind.TOKEN, a, f, 444, branch_b[0], token.address),
        (TransferKind.NATIVE, a, e, 555, branch_b[1], None),
        (TransferKind.NATIVE, c, d, 666, branch_b[2], None),
        (TransferKind.TOKEN, a, d, 777, branch_b[3], token.address),
    ]

    batches = kept_batches(node.served[:3], fork, node.served[3:])
    assert batches == [(0, 2), (3, 4), (5, 7), (8, 9)]
    fresh = fresh_sync(ganache, tmp_path / "fresh", batches)
    assert snapshot(store, "ethereum") == snapshot(fresh, "ethereum")


def test_a_reorganisation_deeper_than_the_first_search_window(
    ganache: Ganache, node: RecordingNode, tmp_path: Path
) -> None:
    a, b = ganache.accounts[:2]
    ganache.send(a, b, value=1)
    fork = ganache.tip()
    snap = ganache.snapshot()
    ganache.send(a, b, value=2)
    ganache.mine(11)
    store = tmp_path / "store"
    assert sync(store, ETH, node, confirmations=0, batch_blocks=5).last_height == fork + 12
    ganache.revert(snap)
    # The node is now below the store: a node catching up, not yet a reorganisation.
    behind = sync(store, ETH, node, confirmations=0)
    assert behind.reorgs == [] and behind.last_height == fork + 12
    assert f"below the stored block {fork + 12}" in behind.warnings[0]
    ganache.send(a, b, value=3)
    ganache.mine(12)
    report = sync(store, ETH, node, confirmations=0, batch_blocks=5)
    assert [(r.fork_height, r.rolled_back) for r in report.reorgs] == [(fork, 12)]
    assert (report.last_height, report.blocks) == (fork + 13, 13)
    assert [int(m[3]) for m in moved(store)] == [1, 3]
    served = node.served
    assert served[:3] == [(0, 4), (5, 9), (10, 13)] and served[3:] == [(2, 6), (7, 11), (12, 14)]
    fresh = fresh_sync(ganache, tmp_path / "fresh", kept_batches(served[:3], fork, served[3:]))
    assert snapshot(store, "ethereum") == snapshot(fresh, "ethereum")


def test_follow_picks_up_new_blocks_and_a_reorganisation_then_stops(
    ganache: Ganache, node: RecordingNode, tmp_path: Path
) -> None:
    a, b, c, d = (x.lower() for x in ganache.accounts[:4])
    token = Token.deploy(ganache, a)
    ganache.send(a, b, value=10**18)
    store = tmp_path / "store"
    stages: list[str] = []
    snap: list[str] = []

    def caught_up() -> bool:
        tip = stored_tip(DataDirectory(store), "ethereum")
        height = ganache.tip()
        return tip is not None and tip == (height, node.block_hashes([height])[0])

    def should_stop() -> bool:
        if not caught_up():
            return False
        if not stages:  # two new blocks on the node
            stages.append("more")
            snap.append(ganache.snapshot())
            ganache.send(a, c, value=5)
            token.transfer(a, c, 6)
        elif len(stages) == 1:  # a longer branch replaces them
            stages.append("reorg")
            ganache.revert(snap[0])
            token.transfer(a, d, 7)
            ganache.send(b, d, value=8)
            ganache.send(a, b, value=9)
        else:
            return True
        return False

    started = time.monotonic()
    report = sync(
        store,
        ETH,
        node,
        follow=True,
        confirmations=0,
        poll_seconds=0.05,
        should_stop=should_stop,
    )
    assert time.monotonic() - started < 20
    assert stages == ["more", "reorg"] and report.stopped == "stop"
    assert [(r.fork_height, r.rolled_back) for r in report.reorgs] == [(2, 2)]
    assert node.served == [(0, 2), (3, 4), (3, 5)]
    assert (report.last_height, report.node_tip) == (5, 5)
    assert [(m[1], m[2], m[3]) for m in moved(store) if m[3] < 100] == [
        (a, d, 7),
        (b, d, 8),
        (a, b, 9),
    ]
    fresh = fresh_sync(ganache, tmp_path / "fresh", kept_batches(node.served[:2], 2, [(3, 5)]))
    assert snapshot(store, "ethereum") == snapshot(fresh, "ethereum")


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_ingest_from_ganache_then_stats_and_address(
    ganache: Ganache, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = (x.lower() for x in ganache.accounts[:3])
    recipient = ganache.accounts[5].lower()  # receives only
    token = Token.deploy(ganache, a)  # block 1: 2**200 minted to a
    ganache.send(a, recipient, value=10**18 + 1)
    token.transfer(a, recipient, 12345)
    ganache.send(b, c, value=42)
    ganache.send(a, recipient, value=2)
    ganache.mine(1)
    tip = ganache.tip()
    assert tip == 6
    store = str(tmp_path / "data")
    ingest = ["--data-dir", store, "ingest", "ethereum", "--rpc", ganache.url, "--json"]
    report = cli_json(capsys, *ingest, "--confirmations", "1", "--batch-blocks", "2")
    # Fees for 5 transactions, 3 ether payments, the mint and one token transfer.
    assert report["chain"] == "ethereum" and report["node"] == ganache.url
    assert (report["first_height"], report["last_height"], report["node_tip"]) == (0, 5, 6)
    assert (report["blocks"], report["batches"], report["transfers"]) == (6, 3, 10)
    assert report["reorgs"] == [] and report["stopped"] == "caught up"
    assert any("trace" in w for w in report["warnings"])

    again = cli_json(capsys, *ingest, "--confirmations", "0")
    assert (again["first_height"], again["last_height"], again["blocks"]) == (6, 6, 1)
    assert again["transfers"] == 0

    stats = cli_json(capsys, "--data-dir", store, "stats", "--json")
    (chain,) = stats["chains"]
    assert (chain["chain"], chain["transfers"], stats["transfers"]) == ("ethereum", 10, 10)
    # Seven blocks stored; the block range is the one transfers span (0 and 6 are empty).
    assert (chain["blocks"], chain["first_block"], chain["last_block"]) == (7, 1, 5)
    assert (chain["transactions"], chain["assets"]) == (5, 2)
    assert chain["transfers_by_kind"] == {"native": 3, "token": 2, "fee": 5}

    summary = cli_json(capsys, "--data-dir", store, "address", recipient, "--json")
    assert summary["chain"] == "ethereum" and summary["address"] == recipient
    flows = {f["contract"]: f for f in summary["flows"]}
    assert set(flows) == {None, token.address}
    assert flows[None]["received"] == str(10**18 + 3) and flows[None]["transfers_in"] == 2
    assert flows[token.address]["received"] == "12345"
    assert (summary["first_seen"]["block"], summary["last_seen"]["block"]) == (2, 5)
    assert [(p["address"], p["direction"]) for p in summary["counterparties"]] == [(a, "from")]


def wait_for(condition: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_cli_follow_polls_the_node_and_stops_on_ctrl_c(ganache: Ganache, tmp_path: Path) -> None:
    a, b = ganache.accounts[:2]
    ganache.send(a, b, value=1)
    store = tmp_path / "data"
    args = ["--data-dir", str(store), "ingest", "ethereum", "--rpc", ganache.url, "--json"]
    follow = [*args, "--follow", "--confirmations", "0", "--poll-seconds", "0.1"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "counterflow", *follow],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:

        def stored_height() -> int | None:
            tip = stored_tip(DataDirectory(store), "ethereum")
            return None if tip is None else tip[0]

        wait_for(lambda: stored_height() == 1)
        for value in (2, 3, 4):
            ganache.send(a, b, value=value)
            wait_for(lambda: stored_height() == ganache.tip())
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["stopped"] == "interrupt" and report["last_height"] == 4
    assert report["blocks"] == 5 and report["batches"] == 4
    amounts = sorted(int(r["amount"]) for r in transfers(store) if r["kind"] != TransferKind.FEE)
    assert amounts == [1, 2, 3, 4]

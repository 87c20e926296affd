"""Backward tracing across bridge links: hand-computed two-chain stores (through the real ingest)
and the kernel's seed edges on graphs built in memory.

Bitcoin (satoshi; ``BRB`` the bridge's wallet, labelled bridge)::

    c1   coinbase -> BRB 100,000
    c2   coinbase -> W 30,000
    rel  BRB 100,000 -> M 50,000, BRB 50,000     release of ethereum deposit 2 (confidence 0.8)
    pay  W 30,000 + M 50,000 -> S 40,000, M 40,000
    c3   coinbase -> U 20,000
    dep  U 20,000 -> BRB 12,000, U 8,000          deposit, released as ethereum transfer 5
    c4   coinbase -> U 9,000                      after the deposit

Ethereum, one transfer per block (``BR`` the bridge's deposit contract and ``R`` its releaser,
both labelled bridge)::

    0  X -> D  300
    1  Y -> D  100
    2  D -> BR 400     deposit, released as ``rel`` to M (50,000 satoshi)
    3  Z -> D  500     after the deposit
    4  D -> Q  500
    5  R -> P   70     release of bitcoin deposit ``dep`` (12,000 satoshi; confidence 0.9)

Backward from S: ``pay`` gave S 40,000 of its inputs W 30,000 and M 50,000; M's input is the
coin ``rel`` paid it, the release. What the release is attributed crosses at the ledger's rate
(400 wei for 50,000 satoshi) onto the deposit, one hop further, and goes on over D's receipts
before it::

    policy   pay's inputs (W, M)               rel -> M  deposit  X -> D, Y -> D
    poison   30,000, 50,000 (in full)          50,000    400      300, 100 (in full)
    haircut  40,000 of 80,000: 15,000, 25,000  25,000    200      200 of 400: 150, 50
    fifo     W's 30,000, M's first 10,000      10,000    80       D's first 80: X's

Hops: pay -> S 1, the inputs 2, rel -> M 3, the deposit 4, X and Y 5.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bitcoin_exports import p2pkh, txid, utxo_tx
from counterflow.cli import main
from counterflow.graph.index import _layout
from counterflow.graph.policies import BACKWARD, ROLE_BRIDGE, ROLE_SINK, Policy, TraceParams
from counterflow.graph.propagation import backward
from counterflow.graph.trace import TraceResult, trace
from counterflow.ingest import ingest

NAMES = ("X", "Y", "D", "BR", "Z", "Q", "R", "P")
ADDR = {n: "0x" + f"{i + 1:040x}" for i, n in enumerate(NAMES)}
ETH_ROWS = [("X", "D", 300), ("Y", "D", 100), ("D", "BR", 400), ("Z", "D", 500)]
ETH_ROWS += [("D", "Q", 500), ("R", "P", 70)]
BRB, W, M, S, U = (p2pkh(n) for n in ("bridge", "w", "m", "s", "u"))
BTC_TXS = [
    utxo_tx("c1", 1, [], [(BRB, 100_000)]),
    utxo_tx("c2", 2, [], [(W, 30_000)]),
    utxo_tx("rel", 3, [("c1", 0, BRB, 100_000)], [(M, 50_000), (BRB, 50_000)]),
    utxo_tx("pay", 4, [("c2", 0, W, 30_000), ("rel", 0, M, 50_000)], [(S, 40_000), (M, 40_000)]),
    utxo_tx("c3", 5, [], [(U, 20_000)]),
    utxo_tx("dep", 6, [("c3", 0, U, 20_000)], [(BRB, 12_000), (U, 8_000)]),
    utxo_tx("c4", 7, [], [(U, 9_000)]),
]
HEADER = "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n"
LINK_HEADER = (
    "deposit_chain,deposit_tx,deposit_amount,release_chain,release_tx,release_address,"
    "release_amount,release_time,confidence\n"
)


def _hash(i: int) -> str:
    return f"0x{i + 1:064x}"


TO_BITCOIN = f"ethereum,{_hash(2)},400,bitcoin,{txid('rel')},{M},50000,2026-01-01T00:00:00Z,0.8\n"
TO_ETHEREUM = (
    f"bitcoin,{txid('dep')},12000,ethereum,{_hash(5)},{ADDR['P']},70,2026-01-01T00:00:00Z,0.9\n"
)


def _ingest_ethereum(root: Path, store: Path) -> None:
    folder = root / "ethereum"
    folder.mkdir()
    lines = [
        f"{_hash(i)},{100 + i},0,{ADDR[s]},{ADDR[d]},{v},{1_767_000_000 + 60 * i}\n"
        for i, (s, d, v) in enumerate(ETH_ROWS)
    ]
    (folder / "transactions.csv").write_text(HEADER + "".join(lines))
    ingest("ethereum", [folder], data_dir=store)


def _ingest_bitcoin(root: Path, store: Path) -> None:
    folder = root / "bitcoin"
    folder.mkdir()
    (folder / "transactions.json").write_text("".join(json.dumps(t) + "\n" for t in BTC_TXS))
    ingest("bitcoin", [folder], data_dir=store)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bridged")
    _ingest_ethereum(root, root / "store")
    _ingest_bitcoin(root, root / "store")
    return root / "store"


@pytest.fixture(scope="module")
def bitcoin_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bitcoin-only")
    _ingest_bitcoin(root, root / "store")
    return root / "store"


@pytest.fixture(scope="module")
def labels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("labels") / "bridges.yaml"
    tags = [(BRB, "Arc bridge wallet", "BTC"), (ADDR["BR"], "Arc bridge", "ETH")]
    tags.append((ADDR["R"], "Arc bridge releaser", "ETH"))
    path.write_text(
        "title: bridges\ncreator: test\ntags:\n"
        + "".join(
            f'  - {{address: "{a}", label: {label}, category: bridge, currency: {currency}}}\n'
            for a, label, currency in tags
        )
    )
    return path


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "crossings.csv"
    path.write_text(LINK_HEADER + TO_BITCOIN + TO_ETHEREUM)
    return path


def _trace(
    store: Path,
    labels: Path,
    links: Sequence[str | Path],
    *,
    seed: str = S,
    chain: str = "bitcoin",
    policy: str = "haircut",
    max_hops: int = 8,
    min_link_confidence: float = 0.5,
) -> TraceResult:
    params = TraceParams(
        chain=chain,
        seeds=(seed,),
        direction=BACKWARD,
        policy=policy,
        max_hops=max_hops,
        min_fraction=0.0,
        min_link_confidence=min_link_confidence,
    )
    return trace(store, params, labels=[labels], links=tuple(links))


_NAME = {a: n for n, a in ADDR.items()}


def _on_ethereum(result: TraceResult) -> dict[tuple[str, str], tuple[int, str, int, float]]:
    """(source, target) -> (attributed, rule, hop, confidence) of the Ethereum transfers."""
    return {
        (_NAME[t.source or ""], _NAME[t.target or ""]): (t.tainted, t.rule, t.hop, t.confidence)
        for t in result.transfers
        if t.chain == "ethereum"
    }


def _into(result: TraceResult, address: str) -> dict[str, int]:
    """Per transaction, what the trace attributed to the Bitcoin outputs paying ``address``."""
    return {
        t.tx_hash or "": t.tainted
        for t in result.transfers
        if t.chain == "bitcoin" and t.target == address
    }


def _crossing(deposit: int, release: int, confidence: float = 0.8) -> dict[str, object]:
    return {
        "deposit_chain": "ethereum",
        "deposit_tx": _hash(2),
        "tainted_deposit": deposit,
        "release_chain": "bitcoin",
        "release_tx": txid("rel"),
        "release_address": M,
        "tainted_release": release,
        "confidence": confidence,
    }


@pytest.mark.parametrize(
    ("policy", "release", "deposit", "funders"),
    [
        ("poison", 50_000, 400, {("X", "D"): 300, ("Y", "D"): 100}),
        ("haircut", 25_000, 200, {("X", "D"): 150, ("Y", "D"): 50}),
        ("fifo", 10_000, 80, {("X", "D"): 80}),
    ],
)
def test_backward_crosses_to_the_linked_deposit(
    store: Path,
    labels: Path,
    ledger: Path,
    policy: str,
    release: int,
    deposit: int,
    funders: dict[tuple[str, str], int],
) -> None:
    result = _trace(store, labels, [ledger], policy=policy)
    assert _into(result, S) == {txid("pay"): 40_000}
    assert _into(result, M) == {txid("rel"): release}
    expected = {("D", "BR"): (deposit, "bridge", 4, 0.8)}
    expected |= {pair: (amount, policy, 5, 0.8) for pair, amount in funders.items()}
    # Z's 500 reached D after the deposit: it funded D's payment to Q, not the deposit
    assert _on_ethereum(result) == expected
    assert result.crossings == [_crossing(deposit, release)]
    # the deposit came in across the bridge: counted once, as bridged in
    assert result.totals["ETH"]["bridged_in"] == deposit
    assert "bridged_out" not in result.totals["ETH"]
    roles = {(h.chain, h.address): h.role for h in result.holders}
    assert roles[("ethereum", ADDR["BR"])] == "bridge"
    assert roles[("ethereum", ADDR["X"])] == "laundering"
    assert ("ethereum", ADDR["Z"]) not in roles
    # behind the release is the bridge's own history: the trace stops at the bridge wallet
    assert txid("c1") not in _into(result, BRB)


@pytest.mark.parametrize(
    ("policy", "funded"), [("poison", 20_000), ("haircut", 12_000), ("fifo", 12_000)]
)
def test_account_release_crosses_to_a_utxo_deposit(
    store: Path, labels: Path, ledger: Path, policy: str, funded: int
) -> None:
    """P got 70 wei from the releaser R: all of the release, so all of the 12,000 satoshi
    deposit (hop 2, confidence 0.9); ``dep`` spent U's 20,000 coin from ``c3`` (poison: in
    full; haircut and FIFO: the 12,000 it passed on). U's later 9,000 funded nothing."""
    result = _trace(store, labels, [ledger], seed=ADDR["P"], chain="ethereum", policy=policy)
    assert _on_ethereum(result) == {("R", "P"): (70, policy, 1, 1.0)}
    deposits = [t for t in result.transfers if t.chain == "bitcoin" and t.target == BRB]
    assert [(t.tx_hash, t.tainted, t.rule, t.hop, t.confidence) for t in deposits] == [
        (txid("dep"), 12_000, "bridge", 2, 0.9)
    ]
    assert _into(result, U) == {txid("c3"): funded}
    [crossing] = result.crossings
    assert (crossing["deposit_tx"], crossing["tainted_deposit"]) == (txid("dep"), 12_000)
    assert (crossing["release_tx"], crossing["tainted_release"]) == (_hash(5), 70)


def test_min_link_confidence(store: Path, labels: Path, ledger: Path) -> None:
    above = _trace(store, labels, [ledger], min_link_confidence=0.8)
    assert above.crossings == [_crossing(200, 25_000)]
    below = _trace(store, labels, [ledger], min_link_confidence=0.81)
    assert below.crossings == []
    assert _on_ethereum(below) == {}
    assert _into(below, M) == {txid("rel"): 25_000}


def test_deposit_chain_not_stored(bitcoin_only: Path, labels: Path, ledger: Path) -> None:
    result = _trace(bitcoin_only, labels, [ledger])
    # the crossing is reported at the ledger's rate; the trace stays on bitcoin
    assert result.crossings == [_crossing(200, 25_000)]
    assert {t.chain for t in result.transfers} == {"bitcoin"}
    assert sorted(result.data["store"]) == ["bitcoin"]


@pytest.mark.parametrize(
    ("max_hops", "ethereum"),
    [
        # the release is at hop 3: no hop left for the deposit, the crossing is still named
        (3, {}),
        (4, {("D", "BR"): (200, "bridge", 4, 0.8)}),
        (
            5,
            {
                ("D", "BR"): (200, "bridge", 4, 0.8),
                ("X", "D"): (150, "haircut", 5, 0.8),
                ("Y", "D"): (50, "haircut", 5, 0.8),
            },
        ),
    ],
)
def test_hop_budget_is_shared_across_the_crossing(
    store: Path,
    labels: Path,
    ledger: Path,
    max_hops: int,
    ethereum: dict[tuple[str, str], tuple[int, str, int, float]],
) -> None:
    result = _trace(store, labels, [ledger], max_hops=max_hops)
    assert _on_ethereum(result) == ethereum
    assert result.crossings == [_crossing(200, 25_000)]
    assert max(t.hop for t in result.transfers) <= max_hops


def test_a_pair_is_followed_once(store: Path, labels: Path, ledger: Path, tmp_path: Path) -> None:
    """The same crossing in a second ledger, surer: followed once, at the surer confidence."""
    again = tmp_path / "again.csv"
    again.write_text(LINK_HEADER + TO_BITCOIN.replace(",0.8\n", ",0.95\n"))
    result = _trace(store, labels, [ledger, again])
    assert result.crossings == [_crossing(200, 25_000, 0.95)]
    assert _on_ethereum(result)[("X", "D")] == (150, "haircut", 5, 0.95)
    assert sum(1 for t in result.transfers if t.target == ADDR["BR"]) == 1


def test_without_links_backward_stops_at_the_bridge(store: Path, labels: Path) -> None:
    result = _trace(store, labels, [])
    assert result.crossings == [] and _on_ethereum(result) == {}


def _cli(store: Path, labels: Path, ledger: Path, *extra: str) -> list[str]:
    return [
        "--data-dir", str(store), "trace", "--chain", "bitcoin", "--from", S, "--backward",
        "--policy", "haircut", "--min-fraction", "0", "--labels", str(labels),
        "--links", str(ledger), *extra,
    ]  # fmt: skip


def test_cli_backward_with_links(
    store: Path, labels: Path, ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_cli(store, labels, ledger), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["params"]["direction"] == BACKWARD
    assert document["crossings"] == [_crossing(200, 25_000)]
    found = {
        (_NAME[t["source"]], _NAME[t["target"]]): (t["tainted"], t["rule"], t["confidence"])
        for t in document["transfers"]
        if t["chain"] == "ethereum"
    }
    assert found == {
        ("D", "BR"): (200, "bridge", 0.8),
        ("X", "D"): (150, "haircut", 0.8),
        ("Y", "D"): (50, "haircut", 0.8),
    }
    assert sorted(document["data"]["store"]) == ["bitcoin", "ethereum"]


def test_replay_reproduces_the_bundle_byte_for_byte(
    store: Path, labels: Path, ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copied = tmp_path / "crossings.csv"
    shutil.copy(ledger, copied)
    bundle = tmp_path / "bundle.json"
    assert main([*_cli(store, labels, copied), "--evidence", str(bundle), "--json"]) == 0
    first = capsys.readouterr().out
    assert json.loads(first)["crossings"]
    hops = json.loads(bundle.read_text())["hops"]
    assert {h["rule"] for h in hops if h["chain"] == "ethereum"} == {"bridge", "haircut"}
    replay = ["--data-dir", str(store), "trace", "--replay", str(bundle), "--json"]
    assert main(replay) == 0
    assert capsys.readouterr().out == first
    copied.write_text(copied.read_text().replace(",0.8\n", ",0.7\n"))
    assert main(replay) != 0
    assert "differs from the bundle" in capsys.readouterr().err


# --- the kernel's seed edges, on account graphs built in memory --------------------------

A, B, C, E, F, G = range(6)
N = 6


def _kernel(
    edges: Sequence[tuple[int, int, float]],
    policy: Policy,
    seeds: list[int],
    seed_edges: Sequence[tuple[int, float, int]],
    *,
    max_hops: int = 64,
    bridge: tuple[int, ...] = (),
) -> dict[int, tuple[float, int]]:
    """Edge id -> (attributed, hop); seed edges are (edge, value, hop)."""
    n = len(edges)
    columns = {
        "src_id": np.array([e[0] for e in edges], np.int64),
        "dst_id": np.array([e[1] for e in edges], np.int64),
        "tx_id": np.arange(n, dtype=np.int64),
        "kind": np.full(n, 4, np.int8),
        "asset_id": np.zeros(n, np.int16),
        "units": np.zeros(n, np.int64),
        "rem": np.zeros(n, np.int64),
        "block_number": np.arange(n, dtype=np.int64),
        "time": np.arange(n, dtype=np.int64),
        "prev_tx_id": np.full(n, -1, np.int64),
        "prev_vout": np.full(n, -1, np.int64),
        "seq": np.zeros(n, np.int64),
    }
    ix = _layout(columns, False, N, n)
    role = np.zeros(N + 1, np.int8)
    role[N] = ROLE_SINK
    role[list(bridge)] = ROLE_BRIDGE
    out = backward(
        ix["src"],
        ix["dst"],
        np.array([float(e[2]) for e in edges], np.float64),
        ix["asset"],
        ix["link"],
        ix["out_ptr"],
        ix["out_edges"],
        ix["in_ptr"],
        ix["in_edges"],
        role,
        N,
        False,
        int(policy),
        max_hops,
        0.0,
        np.array(seeds, np.int64),
        np.array([s[0] for s in seed_edges], np.int64),
        np.array([s[1] for s in seed_edges], np.float64),
        np.array([s[2] for s in seed_edges], np.int64),
    )
    return {int(e): (float(t), int(h)) for e, t, h in zip(out[0], out[1], out[2], strict=True)}


# 0: F -> A 60   1: A -> C 30   2: B -> C 10   3: C -> G 40 (the deposit into the bridge G)
# 4: E -> C 50 (after the deposit)
DEPOSIT = [(F, A, 60), (A, C, 30), (B, C, 10), (C, G, 40), (E, C, 50)]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # the deposit's 20 of 40 split over C's receipts before it, 30 and 10; A passes its
        # 15 on to F's 60
        (Policy.HAIRCUT, {3: (20, 3), 1: (15, 4), 2: (5, 4), 0: (15, 5)}),
        (Policy.POISON, {3: (20, 3), 1: (30, 4), 2: (10, 4), 0: (60, 5)}),
        # the deposit's first 20 units are C's first 20: A's; A's are F's
        (Policy.FIFO, {3: (20, 3), 1: (20, 4), 0: (20, 5)}),
    ],
)
def test_a_seed_edge_enters_at_its_hop(
    policy: Policy, expected: dict[int, tuple[float, int]]
) -> None:
    assert _kernel(DEPOSIT, policy, [], [(3, 20.0, 3)], bridge=(G,)) == expected


@pytest.mark.parametrize("policy", list(Policy))
def test_a_seed_edge_shares_the_hop_budget(policy: Policy) -> None:
    got = _kernel(DEPOSIT, policy, [], [(3, 20.0, 3)], max_hops=4, bridge=(G,))
    assert sorted(got) == ([1, 2, 3] if policy != Policy.FIFO else [1, 3])
    assert _kernel(DEPOSIT, policy, [], [(3, 20.0, 5)], max_hops=4, bridge=(G,)) == {}


@pytest.mark.parametrize("policy", list(Policy))
def test_seed_holders_and_seed_edges_together(policy: Policy) -> None:
    """A seed holder's receipts enter at hop 1, a seed edge at its own hop, in one run; a
    value above the edge's amount counts as the amount."""
    edges = [(F, A, 60), (A, B, 25), (C, G, 40), (E, C, 40)]
    got = _kernel(edges, policy, [B], [(2, 99.0, 2)], bridge=(G,))
    assert got[1] == (25, 1) and got[2] == (40, 2)
    assert got[0][1] == 2  # F -> A, behind the seed's receipt
    assert 3 not in got  # E paid C after the deposit

"""Tracing rules on hand-built stores (through the real ingest), each number computed by hand:
CoinJoin sub-transactions under haircut, backward tracing per asset, theft transactions as
seeds and the bridge-link confidence threshold (CLI end to end)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bitcoin_exports import bitcoin_store, p2pkh, utxo_tx
from counterflow.cli import main
from counterflow.graph.policies import BACKWARD, TraceParams
from counterflow.graph.trace import TraceResult, trace
from counterflow.ingest import ingest

# --- CoinJoin sub-transactions (docs/tracing.md, "CoinJoins") ---------------------------


HEIST, BOB, CAROL = p2pkh("heist"), p2pkh("bob"), p2pkh("carol")
HEIST_CHANGE, BOB_CHANGE, CAROL_CHANGE = (p2pkh(n) for n in ("hc", "bc", "cc"))
MIXED = [p2pkh(f"mixed-{i}") for i in range(40)]
DENOMINATION = 10_000_000


def _tainted(result: TraceResult) -> dict[str | None, int]:
    """Tainted base units per receiving address (UTXO outputs; inputs have no target)."""
    found: dict[str | None, int] = {}
    for t in result.transfers:
        if t.target is not None:
            found[t.target] = found.get(t.target, 0) + t.tainted
    return found


def _haircut(store: Path) -> TraceResult:
    # no threshold: the test is about the shares themselves, not what is followed
    params = TraceParams(chain="bitcoin", seeds=(HEIST,), policy="haircut", min_fraction=0.0)
    return trace(store, params)


def _docs_round(root: Path, *later: dict[str, object]) -> Path:
    """The round of docs/tracing.md: heist 2.50099209 BTC and Bob 0.86033482 BTC in; 21 × 0.1
    out, the heist's change 0.50090449 and Bob's 0.76033162; fee 0.0000908; then ``later``."""
    outputs = [(MIXED[i], DENOMINATION) for i in range(21)]
    outputs += [(HEIST_CHANGE, 50_090_449), (BOB_CHANGE, 76_033_162)]
    inputs = [("c1", 0, HEIST, 250_099_209), ("c2", 0, BOB, 86_033_482)]
    return bitcoin_store(
        root,
        [
            utxo_tx("c1", 1, [], [(HEIST, 250_099_209)]),
            utxo_tx("c2", 2, [], [(BOB, 86_033_482)]),
            utxo_tx("round", 3, inputs, outputs),
            *later,
        ],
    )


def test_coinjoin_change_carries_only_its_participants_taint(tmp_path: Path) -> None:
    """The docs' example: heist 2.50099209 BTC and Bob 0.86033482 BTC in; 21 × 0.1 out, the
    heist's change 0.50090449 and Bob's 0.76033162; fee 0.0000908."""
    store = _docs_round(tmp_path)
    result = _haircut(store)
    tainted = _tainted(result)
    # the heist's change: its own inputs' taint × 0.50090449 / 2.50099209 of 100% = all of it
    assert tainted[HEIST_CHANGE] == 50_090_449
    # Bob's change matched Bob's clean input (0.86033482 − 0.76033162 − 0.1 = 320 sat ≤ fee)
    assert BOB_CHANGE not in tainted
    # the equal outputs share the pool: 2.0000876 tainted of 2.1000908 (inputs less changes)
    pool = DENOMINATION * 200_008_760 / 210_009_080
    shares = [tainted[MIXED[i]] for i in range(21)]
    assert all(abs(s - pool) <= 1 for s in shares)
    assert {t.rule for t in result.transfers if t.target in MIXED[:21]} == {"coinjoin"}
    # nothing is lost: what left the heist is in the outputs, less the fee's tainted share
    assert 250_099_209 - 9_080 <= tainted[HEIST_CHANGE] + sum(shares) <= 250_099_209


def test_coinjoin_ambiguous_change_falls_back_to_the_pool(tmp_path: Path) -> None:
    """Heist and Carol both bring 2.50099209 BTC and both changes are 0.50090449: each change
    matches both participants, so neither match is used and every output takes the round's
    tainted share (a half), as a plain haircut would."""
    outputs = [(MIXED[i], DENOMINATION) for i in range(40)]
    outputs += [(HEIST_CHANGE, 50_090_449), (CAROL_CHANGE, 50_090_449)]
    store = bitcoin_store(
        tmp_path,
        [
            utxo_tx("c1", 1, [], [(HEIST, 250_099_209)]),
            utxo_tx("c2", 2, [], [(CAROL, 250_099_209)]),
            utxo_tx(
                "round", 3, [("c1", 0, HEIST, 250_099_209), ("c2", 0, CAROL, 250_099_209)], outputs
            ),
        ],
    )
    tainted = _tainted(_haircut(store))
    assert tainted[HEIST_CHANGE] == tainted[CAROL_CHANGE] == 50_090_449 // 2
    assert all(tainted[MIXED[i]] == DENOMINATION // 2 for i in range(40))


def test_coinjoin_outputs_spent_together_are_their_participants(tmp_path: Path) -> None:
    """The docs' round, then the heist spends 20 of the equal outputs in one transaction: the
    heist took 20 (2.50099209 − 0.50090449 − 20 × 0.1 = 876 sat ≤ fee) and no one else did,
    so those 20 are the heist's and carry its taint whole; Bob's one equal output is clean."""
    heists = [("round", i, MIXED[i], DENOMINATION) for i in range(20)]
    store = _docs_round(tmp_path, utxo_tx("merge", 4, heists, [(CAROL, 20 * DENOMINATION - 5_000)]))
    result = _haircut(store)
    tainted = _tainted(result)
    assert tainted[HEIST_CHANGE] == 50_090_449
    assert [tainted[MIXED[i]] for i in range(20)] == [DENOMINATION] * 20
    assert MIXED[20] not in tainted and BOB_CHANGE not in tainted
    assert tainted[CAROL] == 20 * DENOMINATION - 5_000


def test_a_group_settles_a_change_that_matched_two_ways(tmp_path: Path) -> None:
    """The heist's change 0.5 fits the heist (20 equal outputs, 1,000 sat of fee) and Dave
    (10, 3,500 sat, within the 6,500 sat fee Erin's large share makes), so on its own it is
    ambiguous; the heist's 20 equal outputs spent together afterwards leave one pair that took
    20. Dave's own change fits only Dave but Dave fits two changes: he stays in the pool."""
    dave, erin, erin_change, dave_change = (p2pkh(n) for n in ("dave", "erin", "ec", "dc"))
    outputs = [(MIXED[i], DENOMINATION) for i in range(31)]
    outputs += [(HEIST_CHANGE, 50_000_000), (dave_change, 50_003_000), (erin_change, 77_777_777)]
    inputs = [("c1", 0, HEIST, 250_001_000), ("c2", 0, dave, 150_003_500)]
    inputs.append(("c3", 0, erin, 87_782_777))
    heists = [("round", i, MIXED[i], DENOMINATION) for i in range(20)]
    store = bitcoin_store(
        tmp_path,
        [
            utxo_tx("c1", 1, [], [(HEIST, 250_001_000)]),
            utxo_tx("c2", 1, [], [(dave, 150_003_500)]),
            utxo_tx("c3", 1, [], [(erin, 87_782_777)]),
            utxo_tx("round", 2, inputs, outputs),
            utxo_tx("merge", 3, heists, [(CAROL, 20 * DENOMINATION - 5_000)]),
        ],
    )
    tainted = _tainted(_haircut(store))
    assert [tainted[MIXED[i]] for i in range(20)] == [DENOMINATION] * 20
    assert tainted[HEIST_CHANGE] == 50_000_000
    assert not {MIXED[i] for i in range(20, 31)} & tainted.keys()
    assert not {dave_change, erin_change} & tainted.keys()


# --- account stores: backward per asset, theft transactions, link confidence ------------

NAMES = ("V", "A", "B", "C", "D", "X", "Y", "G", "H", "S", "BR", "R", "Z", "Q")
ADDR = {n: "0x" + f"{i + 1:040x}" for i, n in enumerate(NAMES)}
TOKEN = "0x" + "7" * 40
HEADER = "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n"
TOKEN_HEADER = (
    "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"
)


def _hash(i: int) -> str:
    return f"0x{i + 1:064x}"


def _account_store(root: Path, rows: list[tuple[str, str, str, int]]) -> Path:
    """One transfer per block: (asset "ETH" or "USDX", source, target, amount); transaction
    ``i`` (hash ``_hash(i)``) is row ``i``."""
    exports = root / "exports"
    exports.mkdir(parents=True)
    native, token = [], []
    for i, (asset, s, d, v) in enumerate(rows):
        if asset == "ETH":
            native.append(
                f"{_hash(i)},{100 + i},0,{ADDR[s]},{ADDR[d]},{v},{1_767_000_000 + 60 * i}\n"
            )
        else:
            token.append(f"{TOKEN},{ADDR[s]},{ADDR[d]},{v},{_hash(i)},0,{100 + i}\n")
    (exports / "transactions.csv").write_text(HEADER + "".join(native))
    if token:
        (exports / "token_transfers.csv").write_text(TOKEN_HEADER + "".join(token))
    ingest("ethereum", [exports], data_dir=root / "store")
    return root / "store"


# H holds 100 ETH (from X) and 500 USDX (from Y), G 40 ETH (from X) and 300 USDX (from Y);
# H pays the seed S 60 ETH, G pays it 150 USDX
ASSETS = [
    ("ETH", "X", "H", 100),
    ("USDX", "Y", "H", 500),
    ("ETH", "X", "G", 40),
    ("USDX", "Y", "G", 300),
    ("ETH", "H", "S", 60),
    ("USDX", "G", "S", 150),
]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # H's 60 ETH came from its ETH receipts only: all of X's 100; G's 150 USDX from Y's 300
        ("haircut", {("H", "S"): 60, ("G", "S"): 150, ("X", "H"): 60, ("Y", "G"): 150}),
        ("poison", {("H", "S"): 60, ("G", "S"): 150, ("X", "H"): 100, ("Y", "G"): 300}),
        # H's 60 ETH are its first 60 ETH units, X's; G's 150 USDX the first 150 of Y's 300
        ("fifo", {("H", "S"): 60, ("G", "S"): 150, ("X", "H"): 60, ("Y", "G"): 150}),
    ],
)
def test_backward_keeps_assets_apart(
    tmp_path: Path, policy: str, expected: dict[tuple[str, str], int]
) -> None:
    store = _account_store(tmp_path, ASSETS)
    params = TraceParams(
        chain="ethereum",
        seeds=(ADDR["S"],),
        direction=BACKWARD,
        policy=policy,
        max_hops=3,
        min_fraction=0.0,
    )
    result = trace(store, params)
    name = {a: n for n, a in ADDR.items()}
    found = {(name[t.source or ""], name[t.target or ""]): t.tainted for t in result.transfers}
    # Y -> H (USDX) did not fund H's ETH payment, X -> G (ETH) not G's USDX payment
    assert found == expected
    assets = {(name[t.source or ""], name[t.target or ""]): t.asset for t in result.transfers}
    assert assets[("X", "H")] == "ETH" and assets[("Y", "G")] != "ETH"


def test_backward_fifo_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # H also pays D 30 ETH before paying S: S's 60 are then H's ETH units 30..90, X's
    rows = [*ASSETS[:4], ("ETH", "H", "D", 30), *ASSETS[4:]]
    store = _account_store(tmp_path, rows)
    args = ["--data-dir", str(store), "trace", "--chain", "ethereum", "--from", ADDR["S"]]
    assert main([*args, "--backward", "--policy", "fifo", "--min-fraction", "0", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    name = {a: n for n, a in ADDR.items()}
    found = {
        (name[t["source"]], name[t["target"]]): (t["tainted"], t["rule"])
        for t in document["transfers"]
    }
    assert found == {
        ("H", "S"): (60, "fifo"),
        ("G", "S"): (150, "fifo"),
        ("X", "H"): (60, "fifo"),
        ("Y", "G"): (150, "fifo"),
    }
    assert document["params"]["policy"] == "fifo"


# the theft (tx 0) and a later payment the victim makes to a customer (tx 1)
THEFT = [("ETH", "V", "A", 100), ("ETH", "V", "B", 50), ("ETH", "A", "C", 100)]
THEFT += [("ETH", "B", "D", 50)]


def _trace_cli(
    store: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> dict[str, object]:
    args = ["--data-dir", str(store), "trace", "--chain", "ethereum", "--from", ADDR["V"]]
    assert main([*args, "--min-fraction", "0", "--json", *extra]) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def _paths(document: dict[str, object]) -> set[tuple[str, str]]:
    name = {a: n for n, a in ADDR.items()}
    transfers = document["transfers"]
    assert isinstance(transfers, list)
    return {(name[t["source"]], name[t["target"]]) for t in transfers}


def test_from_tx_seeds_only_the_theft(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _account_store(tmp_path, THEFT)
    everything = _trace_cli(store, [], capsys)
    assert _paths(everything) == {("V", "A"), ("V", "B"), ("A", "C"), ("B", "D")}
    theft = _trace_cli(store, ["--from-tx", _hash(0)], capsys)
    assert _paths(theft) == {("V", "A"), ("A", "C")}
    params = theft["params"]
    assert isinstance(params, dict) and params["seed_txs"] == [_hash(0)]
    # a hash without the 0x prefix names the same transaction
    assert _paths(_trace_cli(store, ["--from-tx", _hash(0)[2:]], capsys)) == _paths(theft)
    args = ["--data-dir", str(store), "trace", "--chain", "ethereum", "--from", ADDR["V"]]
    assert main([*args, "--from-tx", _hash(99)]) != 0
    assert "not in the ethereum store" in capsys.readouterr().err


# V -> A 100 (theft), A deposits it into the bridge BR (tx 1); the bridge releases it from R to
# Z (tx 2), who pays Q (tx 3). The link says so with confidence 0.6.
BRIDGED = [("ETH", "V", "A", 100), ("ETH", "A", "BR", 100), ("ETH", "R", "Z", 100)]
BRIDGED += [("ETH", "Z", "Q", 100)]


def test_min_link_confidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _account_store(tmp_path, BRIDGED)
    labels = tmp_path / "labels.yaml"
    labels.write_text(
        "title: bridges\ncreator: test\ncurrency: ETH\ntags:\n"
        f'  - {{address: "{ADDR["BR"]}", label: Arc bridge, category: bridge}}\n'
        f'  - {{address: "{ADDR["R"]}", label: Arc bridge release, category: bridge}}\n'
    )
    links = tmp_path / "crossings.csv"
    links.write_text(
        "deposit_chain,deposit_tx,deposit_amount,release_chain,release_tx,release_address,"
        "release_amount,release_time,confidence\n"
        f"ethereum,{_hash(1)},100,ethereum,{_hash(2)},{ADDR['Z']},100,2025-12-29T09:22:00Z,0.6\n"
    )
    common = ["--labels", str(labels), "--links", str(links)]
    below = _trace_cli(store, [*common, "--min-link-confidence", "0.7"], capsys)
    assert _paths(below) == {("V", "A"), ("A", "BR")}
    assert below["crossings"] == []
    for threshold in ("0.6", "0.55"):
        above = _trace_cli(store, [*common, "--min-link-confidence", threshold], capsys)
        assert _paths(above) == {("V", "A"), ("A", "BR"), ("R", "Z"), ("Z", "Q")}
        crossings = above["crossings"]
        assert isinstance(crossings, list) and len(crossings) == 1
        assert crossings[0]["tainted_release"] == 100 and crossings[0]["confidence"] == 0.6
        transfers = above["transfers"]
        assert isinstance(transfers, list)
        confidence = {t["target"]: t["confidence"] for t in transfers}
        assert confidence[ADDR["A"]] == 1.0 and confidence[ADDR["Q"]] == 0.6


# V pays A 1 ETH (so ether's shift is 3: one unit is 1,000 wei), A pays B 500 wei, less than
# one unit, then C 0.25 ETH
SUB_UNIT = [("ETH", "V", "A", 10**18), ("ETH", "A", "B", 500), ("ETH", "A", "C", 25 * 10**16)]


@pytest.mark.parametrize("policy", ["haircut", "poison", "fifo"])
def test_sub_unit_transfer_is_traced(tmp_path: Path, policy: str) -> None:
    store = _account_store(tmp_path, SUB_UNIT)
    name = {a: n for n, a in ADDR.items()}

    def run(seed: str, direction: str) -> dict[tuple[str, str], int]:
        params = TraceParams(
            chain="ethereum",
            seeds=(ADDR[seed],),
            direction=direction,
            policy=policy,
            min_fraction=0.0,
        )
        result = trace(store, params)
        return {(name[t.source or ""], name[t.target or ""]): t.tainted for t in result.transfers}

    # forward: A holds nothing but V's ether, so both payments are tainted in full, exactly
    assert run("V", "forward") == {("V", "A"): 10**18, ("A", "B"): 500, ("A", "C"): 25 * 10**16}
    # backward from B: its 500 wei came from V's 1 ETH (poison: the whole receipt)
    funded = 10**18 if policy == "poison" else 500
    assert run("B", BACKWARD) == {("A", "B"): 500, ("V", "A"): funded}

"""Exposure across bridge links: hand-computed two-chain stores (through the real ingest).

Ethereum, one transfer per block (amounts in wei; ``BR`` the bridge's deposit contract, ``R``
its releaser, ``M`` a mixer pool)::

    0  X -> W   40 ETH
    1  M -> W   60 ETH         W holds 40 unlabelled + 60 mixer
    2  W -> BR 100 ETH         deposit, linked to release ``rel`` on bitcoin (confidence 0.8)
    3  R -> V    7 ETH         release, linked to deposit ``dep`` on bitcoin (confidence 0.9)
    4  V -> S    7 ETH

Bitcoin (satoshi; ``BRB`` the bridge's wallet, ``EXB`` an exchange, ``MB`` a mixer)::

    c1   coinbase -> BRB 100,000
    rel  BRB 100,000 -> Z 50,000, BRB 50,000     the release of deposit 2
    pay  Z 50,000 -> T 40,000, Z 10,000
    c3   coinbase -> EXB 20,000
    ex   EXB 20,000 -> T 20,000
    cm   coinbase -> MB 70,000
    dep  MB 70,000 -> BRB 70,000                  deposit, released as transfer 3

The ledger gave 100 ETH for 50,000 satoshi: T's 40,000 from the release is 80% of it, so 80 ETH
of the deposit, of which 60% (48 ETH) is mixer value; in T's own asset that is 24,000 satoshi.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import example as hypothesis_example
from hypothesis import strategies as st

from bitcoin_exports import p2pkh, txid, utxo_tx
from conftest import Traced
from counterflow.cli import main
from counterflow.errors import InputError
from counterflow.graph import exposure
from counterflow.graph.exposure import CategoryExposure, DirectionExposure
from counterflow.ingest import ingest

ETH = 10**18
NAMES = ("X", "M", "W", "BR", "R", "V", "S")
ADDR = {n: "0x" + f"{i + 1:040x}" for i, n in enumerate(NAMES)}
ROWS = [("X", "W", 40 * ETH), ("M", "W", 60 * ETH), ("W", "BR", 100 * ETH), ("R", "V", 7 * ETH)]
ROWS += [("V", "S", 7 * ETH)]
BRB, Z, T, EXB, MB = (p2pkh(n) for n in ("bridge", "z", "t", "exchange", "mixer"))
HEADER = "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n"
LINK_HEADER = (
    "deposit_chain,deposit_tx,deposit_amount,release_chain,release_tx,release_address,"
    "release_amount,release_time,confidence\n"
)


def _hash(i: int) -> str:
    return f"0x{i + 1:064x}"


def _link(
    deposit: tuple[str, str, int], release: tuple[str, str, str, int], confidence: float
) -> str:
    d_chain, d_tx, d_amount = deposit
    r_chain, r_tx, r_address, r_amount = release
    return (
        f"{d_chain},{d_tx},{d_amount},{r_chain},{r_tx},{r_address},{r_amount},"
        f"2025-12-29T10:00:00Z,{confidence}\n"
    )


TO_BITCOIN = _link(("ethereum", _hash(2), 100 * ETH), ("bitcoin", txid("rel"), Z, 50_000), 0.8)
TO_ETHEREUM = _link(
    ("bitcoin", txid("dep"), 70_000), ("ethereum", _hash(3), ADDR["V"], 7 * ETH), 0.9
)


def _tag(address: str, label: str, category: str, currency: str) -> str:
    fields = f'address: "{address}", label: {label}, category: {category}, currency: {currency}'
    return f"  - {{{fields}}}\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bridged")
    eth = root / "ethereum"
    eth.mkdir()
    lines = [
        f"{_hash(i)},{100 + i},0,{ADDR[s]},{ADDR[d]},{v},{1_767_000_000 + 60 * i}\n"
        for i, (s, d, v) in enumerate(ROWS)
    ]
    (eth / "transactions.csv").write_text(HEADER + "".join(lines))
    ingest("ethereum", [eth], data_dir=root / "store")
    txs = [
        utxo_tx("c1", 1, [], [(BRB, 100_000)]),
        utxo_tx("rel", 2, [("c1", 0, BRB, 100_000)], [(Z, 50_000), (BRB, 50_000)]),
        utxo_tx("pay", 3, [("rel", 0, Z, 50_000)], [(T, 40_000), (Z, 10_000)]),
        utxo_tx("c3", 4, [], [(EXB, 20_000)]),
        utxo_tx("ex", 5, [("c3", 0, EXB, 20_000)], [(T, 20_000)]),
        utxo_tx("cm", 6, [], [(MB, 70_000)]),
        utxo_tx("dep", 7, [("cm", 0, MB, 70_000)], [(BRB, 70_000)]),
    ]
    btc = root / "bitcoin"
    btc.mkdir()
    (btc / "transactions.json").write_text("".join(json.dumps(t) + "\n" for t in txs))
    ingest("bitcoin", [btc], data_dir=root / "store")
    return root / "store"


@pytest.fixture(scope="module")
def labels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("labels") / "services.yaml"
    path.write_text(
        "title: services\ncreator: test\ntags:\n"
        + _tag(ADDR["M"], "Mixer pool", "mixing_service", "ETH")
        + _tag(ADDR["BR"], "Arc bridge", "bridge", "ETH")
        + _tag(ADDR["R"], "Arc bridge releaser", "bridge", "ETH")
        + _tag(BRB, "Arc bridge wallet", "bridge", "BTC")
        + _tag(EXB, "Lumen Exchange", "exchange", "BTC")
        + _tag(MB, "Coin mixer", "mixing_service", "BTC")
    )
    return path


def _ledger(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "crossings.csv"
    path.write_text(LINK_HEADER + "".join(rows))
    return path


def _amounts(part: DirectionExposure | None) -> dict[str, int]:
    assert part is not None
    return {c.category: c.amount for c in part.categories}


def _category(part: DirectionExposure | None, name: str) -> CategoryExposure:
    assert part is not None
    [found] = [c for c in part.categories if c.category == name]
    return found


def test_without_links_the_release_is_bridge_value(store: Path, labels: Path) -> None:
    report = exposure(store, "bitcoin", T, labels=[labels], max_hops=4)
    assert _amounts(report.received) == {"exchange": 20_000, "bridge": 40_000}
    assert report.received is not None and report.received.crossings == []


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # 40,000 × 60/100 mixer, 40,000 × 40/100 from W's unlabelled 40 ETH
        ("haircut", {"exchange": 20_000, "mixing_service": 24_000, "unlabelled": 16_000}),
        # W's lots: X's 40 first, then M's 60; the deposit takes both
        ("fifo", {"exchange": 20_000, "mixing_service": 24_000, "unlabelled": 16_000}),
        # the whole deposit is mixer-tainted, so the whole release is
        ("poison", {"exchange": 20_000, "mixing_service": 40_000}),
    ],
)
def test_received_across_a_link(
    store: Path, labels: Path, tmp_path: Path, policy: str, expected: dict[str, int]
) -> None:
    links = _ledger(tmp_path, TO_BITCOIN)
    report = exposure(
        store, "bitcoin", T, labels=[labels], links=[links], max_hops=4, policy=policy
    )
    received = report.received
    assert received is not None and received.totals == {"BTC": 60_000}
    assert _amounts(received) == expected
    mixer = _category(received, "mixing_service")
    # release -> Z -> T is 2 hops, M -> W -> deposit 2 more
    assert (mixer.asset, mixer.direct, mixer.min_hop) == ("BTC", 0, 4)
    assert mixer.via_links == expected["mixing_service"]
    [link] = mixer.links
    assert (link.deposit_chain, link.deposit_tx, link.release_tx) == (
        "ethereum",
        _hash(2),
        txid("rel"),
    )
    assert (link.confidence, link.crossings, link.amount) == (0.8, 1, expected["mixing_service"])
    # at the mixer itself: 80 ETH of the deposit reached T, 60% of it mixer value (poison: all)
    assert (link.far_chain, link.far_asset) == ("ethereum", "ETH")
    assert link.far_amount == (100 if policy == "poison" else 48) * ETH
    [contributor] = mixer.contributors
    assert (contributor.chain, contributor.address, contributor.label) == (
        "ethereum",
        ADDR["M"],
        "Mixer pool",
    )
    assert contributor.amount == expected["mixing_service"]
    exchange = _category(received, "exchange")
    assert (exchange.direct, exchange.via_links, exchange.links) == (20_000, 0, [])
    [crossing] = received.crossings
    assert (crossing.status, crossing.depth, crossing.hop, crossing.confidence) == (
        "followed",
        1,
        2,
        0.8,
    )
    assert (crossing.release_asset, crossing.release_amount) == ("BTC", 40_000)
    assert (crossing.deposit_asset, crossing.deposit_amount) == ("ETH", 80 * ETH)
    if policy == "haircut":
        unlabelled = _category(received, "unlabelled")
        assert unlabelled.via_links == 16_000 and unlabelled.links[0].far_amount == 32 * ETH


@pytest.mark.parametrize(
    ("hops", "expected", "status"),
    [
        # the release reaches T in 2 hops: 2 more reach the mixer behind the deposit
        (4, {"mixing_service": 24_000, "unlabelled": 16_000}, "followed"),
        # one hop left: the deposit's payer W is reached, not labelled, not expanded
        (3, {"unlabelled": 40_000}, "followed"),
        # none left: the bridge is the first labelled holder within the limit
        (2, {"bridge": 40_000}, "beyond_hop_limit"),
    ],
)
def test_the_hop_budget_is_shared_across_the_crossing(
    store: Path,
    labels: Path,
    tmp_path: Path,
    hops: int,
    expected: dict[str, int],
    status: str,
) -> None:
    links = _ledger(tmp_path, TO_BITCOIN)
    report = exposure(store, "bitcoin", T, labels=[labels], links=[links], max_hops=hops)
    assert _amounts(report.received) == {"exchange": 20_000, **expected}
    assert report.received is not None
    assert [x.status for x in report.received.crossings] == [status]


def test_a_link_below_the_minimum_confidence_is_not_followed(
    store: Path, labels: Path, tmp_path: Path
) -> None:
    links = _ledger(tmp_path, TO_BITCOIN)
    below = exposure(
        store, "bitcoin", T, labels=[labels], links=[links], max_hops=4, min_link_confidence=0.85
    )
    assert _amounts(below.received) == {"exchange": 20_000, "bridge": 40_000}
    assert below.params["min_link_confidence"] == 0.85
    assert below.received is not None
    [crossing] = below.received.crossings
    assert (crossing.status, crossing.deposit_asset) == ("below_min_confidence", None)
    assert _category(below.received, "bridge").via_links == 0
    at = exposure(
        store, "bitcoin", T, labels=[labels], links=[links], max_hops=4, min_link_confidence=0.8
    )
    assert _amounts(at.received)["mixing_service"] == 24_000


def test_a_deposit_chain_not_in_the_store_leaves_bridge_value(
    store: Path, labels: Path, tmp_path: Path
) -> None:
    tron = _link(("tron", "ab" * 32, 100), ("bitcoin", txid("rel"), Z, 50_000), 1.0)
    report = exposure(store, "bitcoin", T, labels=[labels], links=[_ledger(tmp_path, tron)])
    assert _amounts(report.received) == {"exchange": 20_000, "bridge": 40_000}
    assert report.received is not None
    [crossing] = report.received.crossings
    assert (crossing.status, crossing.deposit_chain, crossing.release_amount) == (
        "chain_not_stored",
        "tron",
        40_000,
    )


def test_a_deposit_not_in_the_store_leaves_bridge_value(
    store: Path, labels: Path, tmp_path: Path
) -> None:
    unknown = _link(("ethereum", "0x" + "ab" * 32, 100), ("bitcoin", txid("rel"), Z, 50_000), 1.0)
    report = exposure(store, "bitcoin", T, labels=[labels], links=[_ledger(tmp_path, unknown)])
    assert _amounts(report.received) == {"exchange": 20_000, "bridge": 40_000}
    assert report.received is not None
    assert [x.status for x in report.received.crossings] == ["deposit_not_found"]


def test_a_ledger_deposit_larger_than_the_transfer_leaves_the_rest_bridge_value(
    store: Path, labels: Path, tmp_path: Path
) -> None:
    # the ledger says 125 ETH went in; the deposit shows 100: a fifth of the release is unknown
    bigger = _link(("ethereum", _hash(2), 125 * ETH), ("bitcoin", txid("rel"), Z, 50_000), 0.8)
    report = exposure(
        store, "bitcoin", T, labels=[labels], links=[_ledger(tmp_path, bigger)], max_hops=4
    )
    assert _amounts(report.received) == {
        "exchange": 20_000,
        "mixing_service": 40_000 * 60 // 125,
        "unlabelled": 40_000 * 40 // 125,
        "bridge": 40_000 * 25 // 125,
    }


def test_received_from_a_bitcoin_deposit_in_ether(
    store: Path, labels: Path, tmp_path: Path
) -> None:
    links = _ledger(tmp_path, TO_ETHEREUM, TO_BITCOIN)
    report = exposure(store, "ethereum", ADDR["S"], labels=[labels], links=[links], max_hops=3)
    received = report.received
    assert received is not None and received.totals == {"ETH": 7 * ETH}
    assert _amounts(received) == {"mixing_service": 7 * ETH}
    mixer = _category(received, "mixing_service")
    # R -> V -> S, then MB paid the deposit itself
    assert (mixer.min_hop, mixer.via_links) == (3, 7 * ETH)
    [link] = mixer.links
    assert (link.far_chain, link.far_asset, link.far_amount, link.confidence) == (
        "bitcoin",
        "BTC",
        70_000,
        0.9,
    )
    assert mixer.contributors[0].address == MB
    near = exposure(store, "ethereum", ADDR["S"], labels=[labels], links=[links], max_hops=2)
    assert _amounts(near.received) == {"bridge": 7 * ETH}


def test_sent_across_a_link(store: Path, labels: Path, tmp_path: Path) -> None:
    # on the far side T is an exchange's deposit address
    case = tmp_path / "case.yaml"
    case.write_text("title: t\ncreator: t\ntags:\n" + _tag(T, "Lumen deposit", "exchange", "BTC"))
    links = _ledger(tmp_path, TO_BITCOIN)
    report = exposure(
        store, "ethereum", ADDR["W"], labels=[labels, case], links=[links], direction="sent"
    )
    sent = report.sent
    assert sent is not None and sent.totals == {"ETH": 100 * ETH}
    # 50,000 satoshi released for the 100 ETH: T's 40,000 is 80 ETH of it; Z keeps 10,000
    assert _amounts(sent) == {"exchange": 80 * ETH, "unlabelled": 20 * ETH}
    exchange = _category(sent, "exchange")
    assert (exchange.asset, exchange.min_hop, exchange.direct) == ("ETH", 3, 0)
    assert exchange.via_links == 80 * ETH
    [link] = exchange.links
    assert (link.far_chain, link.far_asset, link.far_amount, link.confidence) == (
        "bitcoin",
        "BTC",
        40_000,
        0.8,
    )
    [contributor] = exchange.contributors
    assert (contributor.chain, contributor.address, contributor.amount) == ("bitcoin", T, 80 * ETH)
    [crossing] = sent.crossings
    assert (crossing.status, crossing.hop) == ("followed", 1)
    assert (crossing.deposit_asset, crossing.deposit_amount) == ("ETH", 100 * ETH)
    assert (crossing.release_asset, crossing.release_amount) == ("BTC", 50_000)
    # the hop budget: the deposit is hop 1, the release hop 2, T's receipt hop 3
    short = exposure(
        store, "ethereum", ADDR["W"], labels=[labels, case], links=[links], direction="sent",
        max_hops=2,
    )  # fmt: skip
    assert _amounts(short.sent) == {"unlabelled": 100 * ETH}
    none_left = exposure(
        store, "ethereum", ADDR["W"], labels=[labels, case], links=[links], direction="sent",
        max_hops=1,
    )  # fmt: skip
    assert _amounts(none_left.sent) == {"bridge": 100 * ETH}
    assert none_left.sent is not None
    assert [x.status for x in none_left.sent.crossings] == ["beyond_hop_limit"]
    unlinked = exposure(store, "ethereum", ADDR["W"], labels=[labels, case], direction="sent")
    assert _amounts(unlinked.sent) == {"bridge": 100 * ETH}


def test_bad_min_link_confidence(store: Path) -> None:
    with pytest.raises(InputError, match="min link confidence"):
        exposure(store, "bitcoin", T, min_link_confidence=1.5)


def test_cli_follows_links(
    store: Path,
    labels: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the table's columns unwrapped
    links = _ledger(tmp_path, TO_BITCOIN)
    args = ["--data-dir", str(store), "exposure", T, "--chain", "bitcoin", "--hops", "4"]
    args += ["--labels", str(labels), "--links", str(links)]
    assert main([*args, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["format"] == "counterflow-exposure/1"
    assert document["params"]["min_link_confidence"] == 0.5
    assert document["data"]["links"][0]["sha256"]
    assert document["data"]["linked_stores"]["ethereum"]["fingerprint"]
    by = {c["category"]: c for c in document["received"]["categories"]}
    assert {k: v["amount"] for k, v in by.items()} == {
        "exchange": 20_000,
        "mixing_service": 24_000,
        "unlabelled": 16_000,
    }
    mixer = by["mixing_service"]
    assert mixer["via_links"] == 24_000
    assert mixer["links"][0]["confidence"] == 0.8
    assert mixer["links"][0]["far_amount"] == 48 * ETH
    assert mixer["contributors"][0]["chain"] == "ethereum"
    [crossing] = document["received"]["crossings"]
    assert crossing["status"] == "followed" and crossing["deposit_tx"] == _hash(2)
    assert main([*args, "--json", "--min-link-confidence", "0.9"]) == 0
    below = json.loads(capsys.readouterr().out)
    assert {c["category"] for c in below["received"]["categories"]} == {"exchange", "bridge"}
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "across links" in out and "Mixer pool" in out and "(ethereum)" in out
    assert "bridge link ethereum" in out and "(confidence 0.8, hop 2): followed" in out


def test_stolen_ether_cashed_out_on_bitcoin_shows_theft_only_across_links(
    bybit: Traced, tmp_path: Path
) -> None:
    # the simulated heist swaps the stolen ether, bridges it to bitcoin and cashes out there
    heist = json.loads((bybit.folder / "ground_truth.json").read_text())["heists"][0]
    case = tmp_path / "case.yaml"
    case.write_text(
        "title: heist\ncreator: investigator\ntags:\n"
        + _tag(heist["victims"][0]["address"], "Northwind drain", "theft", "ETH")
    )
    labels = [bybit.folder / "labels" / "services.yaml", case]
    links = [bybit.folder / "bridge" / "crossings.csv"]
    deposits = sorted(
        {
            d["address"]
            for d in heist["destinations"]
            if d["chain"] == "bitcoin" and d["kind"] == "exchange"
        }
    )
    assert deposits
    for deposit in deposits[:3]:
        report = exposure(bybit.store, "bitcoin", deposit, labels=labels, links=links, max_hops=10)
        theft = _category(report.received, "theft")
        assert theft.asset == "BTC" and theft.share > 0.03
        # all of it came across the bridge, from the victim on ethereum, per the ledger
        assert theft.via_links == theft.amount
        assert {(x.far_chain, x.far_asset, x.confidence) for x in theft.links} == {
            ("ethereum", "ETH", 1.0)
        }
        assert theft.contributors[0].chain == "ethereum"
        assert theft.contributors[0].label == "Northwind drain"
        unlinked = exposure(bybit.store, "bitcoin", deposit, labels=labels, max_hops=10)
        assert unlinked.received is not None
        assert all(c.category != "theft" for c in unlinked.received.categories)


# --- properties: a link on random transfers ---------------------------------------------------

random_rows = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES), st.integers(1, 10**20)),
    min_size=2,
    max_size=16,
).map(lambda rows: [r for r in rows if r[0] != r[1]])


def _random_store(
    root: Path, rows: list[tuple[str, str, int]], confidence: float, scale: int
) -> tuple[Path, Path, Path]:
    """The store, labels and ledger of the property test below: ``rows`` between fixed
    transfers, every deposit into BR before a payment by R linked to it, released at a rate of
    ``scale``:1 (M a mixer, BR a bridge, X an exchange)."""
    rows = [("M", "W", 11), *rows, ("W", "BR", 5), ("R", "V", 9), ("V", "S", 7), ("S", "X", 3)]
    rows += [("S", "BR", 2), ("R", "W", 4), ("W", "X", 1)]
    deposits = [i for i, (_, d, _) in enumerate(rows) if d == "BR"]
    releases = [i for i, (s, _, _) in enumerate(rows) if s == "R"]
    ledger = "".join(
        _link(
            ("ethereum", _hash(d), rows[d][2]),
            ("ethereum", _hash(r), ADDR[rows[r][1]], rows[r][2] * scale),
            confidence,
        )
        for d, r in zip(deposits, [r for r in releases if r > deposits[0]], strict=False)
    )
    lines = [
        f"{_hash(i)},{100 + i},0,{ADDR[s]},{ADDR[d]},{v},{1_767_000_000 + 60 * i}\n"
        for i, (s, d, v) in enumerate(rows)
    ]
    (root / "transactions.csv").write_text(HEADER + "".join(lines))
    ingest("ethereum", [root], data_dir=root / "store")
    labels = root / "labels.yaml"
    labels.write_text(
        "title: t\ncreator: t\ntags:\n"
        + _tag(ADDR["M"], "Mixer pool", "mixing_service", "ETH")
        + _tag(ADDR["BR"], "Arc bridge", "bridge", "ETH")
        + _tag(ADDR["X"], "Lumen Exchange", "exchange", "ETH")
    )
    return root / "store", labels, _ledger(root, ledger)


#: V pays X 1 before anything has reached it (what it held before the store's first block),
#: then receives 1 from the bridge BR; with the fixed transfers (``_random_store``)::
#:
#:     0 M -> W 11    1 V -> X 1    2 BR -> V 1    3 W -> BR 5 (deposit)    4 R -> V 9 (release)
#:     5 V -> S 7     6 S -> X 3    7 S -> BR 2 (deposit)    8 R -> W 4 (release)    9 W -> X 1
OVERDRAWN = [("V", "X", 1), ("BR", "V", 1)]


@pytest.mark.parametrize(
    ("policy", "confidence", "hops", "status", "sent"),
    [
        # as hypothesis found it: fifo counted BR's 1 and the release's 7 apart, bridge 8 of 7
        ("fifo", 0.3, 2, "below_min_confidence", {"exchange": 3, "bridge": 2}),
        ("haircut", 0.3, 2, "below_min_confidence", {"exchange": 3, "bridge": 2}),
        ("poison", 0.3, 2, "below_min_confidence", {"exchange": 3, "bridge": 2}),
        # sure enough, but the release reaches S at hop 2: none left for the deposit side (S's
        # own deposit, hop 1, crosses: its release pays W, who pays X only at hop 3)
        ("fifo", 0.7, 2, "beyond_hop_limit", {"exchange": 3, "unlabelled": 2}),
    ],
)
def test_a_release_whose_link_is_not_followed_is_counted_once(
    tmp_path: Path,
    policy: str,
    confidence: float,
    hops: int,
    status: str,
    sent: dict[str, int],
) -> None:
    # R pays a linked release (4), so R is an origin, bridge, and the link not followed leaves
    # the release bridge value in full. V's 7 to S: BR's 1 first, then 6 of R's 9 (fifo); all
    # of what V held after its payment to X is bridge value (haircut, poison). Bridge 7 of 7.
    store, labels, ledger = _random_store(tmp_path, OVERDRAWN, confidence, 1)
    report = exposure(
        store, "ethereum", ADDR["S"], labels=[labels], policy=policy, links=[ledger],
        max_hops=hops, direction="both",
    )  # fmt: skip
    received = report.received
    assert received is not None and received.totals == {"ETH": 7}
    assert _amounts(received) == {"bridge": 7}
    bridge = _category(received, "bridge")
    assert (bridge.direct, bridge.indirect, bridge.min_hop, bridge.via_links) == (0, 7, 2, 0)
    [crossing] = received.crossings
    # of V's 7 to S the release supplied 6 (fifo: after BR's 1; haircut: 9 x 7 / 10, V's
    # payment to X before any receipt not counted against them), poison all 7
    reached = 7 if policy == "poison" else 6
    assert (crossing.status, crossing.hop, crossing.release_amount) == (status, 2, reached)
    assert report.sent is not None and report.sent.totals == {"ETH": 5}
    assert _amounts(report.sent) == sent


def test_a_followed_release_and_a_bridge_reach_one_receipt_without_counting_it_twice(
    tmp_path: Path,
) -> None:
    # the link followed, with hops for the deposit side: R's release carries what its deposit
    # (W -> BR 5) carried, all M's 11, mixer value two hops behind it. V's 7 to S under FIFO:
    # BR's 1 (bridge, hop 2), then 6 of the release's 9 (mixer across the link, hop 2 + 2)
    store, labels, ledger = _random_store(tmp_path, OVERDRAWN, 0.7, 1)
    report = exposure(
        store, "ethereum", ADDR["S"], labels=[labels], policy="fifo", links=[ledger], max_hops=4
    )
    assert _amounts(report.received) == {"bridge": 1, "mixing_service": 6}
    mixer = _category(report.received, "mixing_service")
    assert (mixer.via_links, mixer.min_hop, [x.amount for x in mixer.links]) == (6, 4, [6])
    assert report.received is not None
    assert [(x.status, x.release_amount) for x in report.received.crossings] == [("followed", 6)]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# the fixed transfers alone: both links followed, received and sent (150 examples run clean)
@hypothesis_example(rows=[], policy="haircut", hops=4, confidence=0.7, scale=2)
# found by hypothesis: two runs counting V's balance apart (an overdrawn holder)
@hypothesis_example(rows=OVERDRAWN, policy="fifo", hops=2, confidence=0.3, scale=1)
# amounts beyond 2**53 wei, where float error put categories over the total: received ...
@hypothesis_example(
    rows=[
        ("S", "V", 33171345472420531210), ("V", "X", 20877643035899919230), ("V", "X", 10),
        ("R", "W", 4), ("M", "BR", 63331439084734834621), ("X", "W", 77505222168789303360),
        ("BR", "R", 14), ("R", "V", 16794262109871773124), ("BR", "W", 99729391070206554455),
        ("X", "BR", 19), ("BR", "S", 2), ("V", "X", 15), ("W", "S", 47679138187448141370),
    ],
    policy="haircut", hops=4, confidence=0.3, scale=3,
)  # fmt: skip
# ... and sent (W passes all of S's value to the mixer)
@hypothesis_example(
    rows=[
        ("S", "W", 79668600741174887336), ("W", "M", 93767431610379576610), ("M", "S", 12),
        ("M", "V", 7), ("R", "V", 73243056311520903823),
    ],
    policy="haircut", hops=4, confidence=1.0, scale=1,
)  # fmt: skip
@given(
    random_rows,
    st.sampled_from(["haircut", "fifo", "poison"]),
    st.integers(2, 5),
    st.sampled_from([0.3, 0.7, 1.0]),
    st.integers(1, 3),
)
def test_categories_stay_within_totals_across_a_link(
    rows: list[tuple[str, str, int]], policy: str, hops: int, confidence: float, scale: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store, labels, ledger = _random_store(Path(tmp), rows, confidence, scale)
        report = exposure(
            store, "ethereum", ADDR["S"], labels=[labels], policy=policy, links=[ledger],
            max_hops=hops, direction="both",
        )  # fmt: skip
    for part in (report.received, report.sent):
        assert part is not None
        for asset, total in part.totals.items():
            amounts = [c.amount for c in part.categories if c.asset == asset]
            assert all(0 < a <= total for a in amounts)
            if policy == "poison":
                assert sum(amounts) >= total
            else:
                # rounded down per transfer, category and crossing, the rest unlabelled
                assert sum(amounts) == total
        for c in part.categories:
            assert c.direct + c.indirect == c.amount
            assert 0 <= c.via_links <= c.amount
            assert all(x.confidence == confidence for x in c.links)
            if policy != "poison":
                assert sum(x.amount for x in c.links) == c.via_links
        for x in part.crossings:
            assert x.status != "followed" or x.path_confidence >= 0.5

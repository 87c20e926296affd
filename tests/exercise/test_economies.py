"""The compiled economies keep the chains' rules, whatever the seed."""

from __future__ import annotations

import numpy as np
import pytest

from counterflow.exercise import bitcoin_economy as btc
from counterflow.exercise import ethereum_economy as eth
from counterflow.exercise.sampling import pareto_weights, seed_compiled_rng

USERS = 3_000
EXCHANGES = np.array([4.0, 2.0, 1.0, 1.0])


def bitcoin(seed: int, blocks: int = 150) -> tuple[btc.BitcoinState, btc.BitcoinChunk, np.ndarray]:
    rng = np.random.default_rng(seed)
    seed_compiled_rng(seed)
    state = btc.new_bitcoin_state(
        rng,
        users=USERS,
        merchants=30,
        exchanges=len(EXCHANGES),
        miners=4,
        address_capacity=50_000,
        exchange_weights=EXCHANGES,
        user_activity=pareto_weights(rng, USERS, 1.2),
        user_popularity=pareto_weights(rng, USERS, 1.1),
        params=btc.default_params(),
    )
    buffers = btc.BitcoinBuffers.allocate(1 << 20)
    numbers = 800_000 + np.arange(blocks, dtype=np.int64)
    budgets = rng.integers(200, 3_000, blocks)
    crossing = np.zeros(0, btc.CROSSING)
    assert (
        btc.simulate(state, buffers, numbers, budgets, btc.empty_injections(), crossing) == blocks
    )
    return state, btc.take(state, buffers), budgets


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bitcoin_transactions_balance_and_spend_each_output_once(seed: int) -> None:
    _, chunk, _ = bitcoin(seed)
    txs, inputs, outputs = chunk.txs, chunk.inputs, chunk.outputs
    order = np.lexsort((txs["index"], txs["block"]))
    created: dict[tuple[int, int], tuple[int, int, bool]] = {}
    spent: set[tuple[int, int]] = set()
    fees: dict[int, int] = {}
    coinbase_value: dict[int, int] = {}
    for t in order:
        x = txs[t]
        ins = inputs[x["in_start"] : x["in_start"] + x["in_n"]]
        outs = outputs[x["out_start"] : x["out_start"] + x["out_n"]]
        assert len(outs) >= 1 and (outs["value"] > 0).all()
        if x["coinbase"]:
            coinbase_value[int(x["block"])] = int(outs["value"].sum())
        else:
            assert len(ins) >= 1
            assert int(ins["value"].sum()) == int(outs["value"].sum()) + int(x["fee"])
            assert x["fee"] >= 0
            fees[int(x["block"])] = fees.get(int(x["block"]), 0) + int(x["fee"])
        for i in ins:
            outpoint = (int(i["tx"]), int(i["vout"]))
            assert outpoint not in spent
            spent.add(outpoint)
            if i["tx"] < btc.PREHISTORY_TX_BASE:
                value, block, coinbase = created[outpoint]
                assert value == i["value"]
                assert not coinbase or x["block"] - block >= btc.COINBASE_MATURITY
        for vout, o in enumerate(outs):
            created[(int(x["number"]), vout)] = (
                int(o["value"]),
                int(x["block"]),
                bool(x["coinbase"]),
            )
    for block, value in coinbase_value.items():
        assert value == btc.SUBSIDY + fees.get(block, 0)


def test_bitcoin_wallets_balance_is_their_coins() -> None:
    state, _, _ = bitcoin(7)
    w = state.wallets
    for k in range(len(w)):
        slots = state.bag[w[k]["bag_start"] : w[k]["bag_start"] + w[k]["bag_n"]]
        assert int(state.utxos["value"][slots].sum()) == int(w[k]["balance"])


def ethereum(
    seed: int, budgets: np.ndarray
) -> tuple[eth.EthereumState, eth.EthereumChunk, np.ndarray]:
    rng = np.random.default_rng(seed)
    seed_compiled_rng(seed)
    state = eth.new_ethereum_state(
        rng,
        users=USERS,
        exchanges=len(EXCHANGES),
        relayers=3,
        account_capacity=20_000,
        exchange_weights=EXCHANGES,
        user_activity=pareto_weights(rng, USERS, 1.2),
        user_popularity=pareto_weights(rng, USERS, 1.1),
        params=eth.default_params(),
    )
    before = state.balances[: state.counters[eth.C_ACCOUNT]].sum(axis=0).copy()
    buffers = eth.EthereumBuffers.allocate(1 << 20)
    numbers = 20_000_000 + np.arange(len(budgets), dtype=np.int64)
    done = eth.simulate(
        state, buffers, numbers, budgets, eth.empty_injections(), np.zeros(0, eth.CROSSING)
    )
    assert done == len(budgets)
    return state, eth.take(state, buffers), before


@pytest.mark.parametrize("seed", [1, 2])
def test_ethereum_balances_never_go_negative_and_only_gas_is_burned(seed: int) -> None:
    state, chunk, before = ethereum(seed, np.random.default_rng(seed).integers(0, 80, 2_000))
    after = state.balances[: state.counters[eth.C_ACCOUNT]]
    assert (after >= 0).all()
    burned = int((chunk.txs["gas_used"] * chunk.txs["price"]).sum())
    assert int(before[eth.ETH]) - int(after[:, eth.ETH].sum()) == burned
    assert (after[:, eth.USD].sum(), after[:, eth.LST].sum()) == (before[eth.USD], before[eth.LST])
    # Failed transactions move nothing but pay gas.
    failed = chunk.txs[chunk.txs["status"] == 0]
    assert len(failed) > 0 and (failed["sub_n"] == 0).all()
    # Nonces count each sender's transactions.
    for sender in np.unique(chunk.txs["sender"])[:50]:
        nonces = chunk.txs["nonce"][chunk.txs["sender"] == sender]
        assert list(nonces) == list(range(nonces[0], nonces[0] + len(nonces)))


@pytest.mark.parametrize("chain", ["bitcoin", "ethereum"])
def test_blocks_carry_their_budgets(chain: str) -> None:
    """Each block holds about what the schedule gave it: no block swallows its neighbours'."""
    if chain == "bitcoin":
        _, chunk, budgets = bitcoin(5)
        first = 800_000
    else:
        budgets = np.random.default_rng(5).integers(0, 400, 600)
        _, chunk, _ = ethereum(5, budgets)
        first = 20_000_000
    per_block = np.bincount(chunk.txs["block"] - first, minlength=len(budgets))
    # A transaction carries one transfer or more, so a block never holds many more
    # transactions than its budget (what one block overshoots, the next gives back).
    assert (per_block <= budgets + 50).all()
    assert np.corrcoef(per_block, budgets)[0, 1] > 0.8

"""The simulated Bitcoin-like economy: wallets spending a real UTXO set, block by block.

Every output exists before it is spent and is spent at most once; every transaction's inputs
cover its outputs plus a fee that the block's coinbase collects. The actors and their habits
are the ones clustering and tracing heuristics were built on:

- users hold a few UTXOs, pay each other, pay merchants and deposit at exchanges; each has a
  habit of reusing or rotating addresses and of sending change to a fresh address;
- exchanges give each customer a deposit address, sweep deposits into a hot wallet in
  many-input consolidations, and pay withdrawals in batches;
- miners collect coinbases (spendable after 100 blocks) and pay pool members in batches;
- CoinJoin rounds mix equal-value outputs of many users;
- a bridge takes deposits here and releases what was deposited on the other chain.

Activity is heavy-tailed: how often a wallet spends and how often it is paid follow Pareto
weights, amounts are log-normal fractions of balances, and batch sizes are Zipf-like.

The loop is compiled (numba) because the issue's scale (tens of millions of transfers) makes
per-transfer Python too slow; the state is plain numpy record arrays that Python can read
between chunks (the heist agent does, to place its transactions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from counterflow.exercise.sampling import pareto, pick, zipf_count

# Wallet kinds.
USER, MERCHANT, EXCHANGE_HOT, EXCHANGE_DEPOSITS, MINER, BRIDGE, OTC = range(7)

#: Transaction numbers of the heist's own transactions, and of outputs that existed before
#: the simulated window opened; both live above the background's dense range.
HEIST_TX_BASE = 1 << 40
PREHISTORY_TX_BASE = 1 << 41
COINBASE_MATURITY = 100
DUST = 546
SUBSIDY = 312_500_000  # 3.125 BTC, the subsidy since the 2024 halving

UTXO = np.dtype(
    [
        ("tx", np.int64),
        ("value", np.int64),
        ("address", np.int64),
        ("block", np.int64),
        ("vout", np.int32),
        ("coinbase", np.bool_),
    ]
)
WALLET = np.dtype(
    [
        ("kind", np.int8),
        ("service", np.int32),  # exchange index for exchange wallets, else -1
        ("address", np.int64),  # current receiving address
        ("address_kind", np.int8),
        ("reuse", np.float64),  # chance of paying into / keeping change at a used address
        ("balance", np.int64),
        ("bag_start", np.int64),
        ("bag_cap", np.int32),
        ("bag_n", np.int32),
    ]
)
TX = np.dtype(
    [
        ("number", np.int64),
        ("block", np.int64),
        ("index", np.int32),
        ("in_start", np.int64),
        ("in_n", np.int32),
        ("out_start", np.int64),
        ("out_n", np.int32),
        ("fee", np.int64),
        ("coinbase", np.bool_),
    ]
)
INPUT = np.dtype(
    [
        ("tx", np.int64),
        ("vout", np.int32),
        ("address", np.int64),
        ("kind", np.int8),
        ("value", np.int64),
    ]
)
OUTPUT = np.dtype([("address", np.int64), ("kind", np.int8), ("value", np.int64)])
#: A bridge deposit seen here, to be released on the other chain (user, amount in satoshi);
#: as a release owed here, ``address`` (when not -1) is paid instead of the user's wallet.
CROSSING = np.dtype(
    [
        ("user", np.int64),
        ("amount", np.int64),
        ("block", np.int64),
        ("address", np.int64),
        # for the bridge's ledger: the deposit's tx number (on whichever chain it was made)
        # and amount there; as a release owed here, the tx that paid it and the payee
        ("deposit", np.int64),
        ("deposited", np.int64),
        ("release", np.int64),
        ("payee", np.int64),
    ]
)

# Indexes into the counters array.
C_TX, C_IN, C_OUT, C_ADDRESS, C_FREE, C_TXNO, C_CROSS, C_TRANSFERS, C_DEBT = range(9)
# Indexes into the parameters array.
(
    P_PAYMENT,
    P_DEPOSIT,
    P_SWEEP,
    P_WITHDRAW,
    P_PAYOUT,
    P_COINJOIN,
    P_BRIDGE,
    P_FEE_MU,
    P_FEE_SIGMA,
    P_AMOUNT_MU,
    P_AMOUNT_SIGMA,
    N_PARAMS,
) = range(12)


@dataclass
class BitcoinState:
    """Everything the economy remembers between chunks."""

    wallets: np.ndarray
    utxos: np.ndarray
    bag: np.ndarray
    free: np.ndarray
    address_kind: np.ndarray
    address_owner: np.ndarray
    deposit_address: np.ndarray  # [user, exchange] -> address or -1
    spend_cdf: np.ndarray  # cumulative spending weight per wallet
    receive_cdf: np.ndarray  # cumulative weight of being paid, users and merchants
    exchange_cdf: np.ndarray
    exchange_hot: np.ndarray
    exchange_pool: np.ndarray
    miners: np.ndarray
    bridge: int
    params: np.ndarray
    counters: np.ndarray


@dataclass
class BitcoinChunk:
    """Transactions of a run of blocks, in block order, with their inputs and outputs."""

    txs: np.ndarray
    inputs: np.ndarray
    outputs: np.ndarray
    crossings: np.ndarray


@njit(cache=True)
def _new_address(
    wallets: np.ndarray,
    w: int,
    address_kind: np.ndarray,
    address_owner: np.ndarray,
    counters: np.ndarray,
) -> int:
    a = counters[C_ADDRESS]
    counters[C_ADDRESS] += 1
    address_kind[a] = wallets[w].address_kind
    address_owner[a] = w
    return a


@njit(cache=True)
def _receiving_address(
    wallets: np.ndarray,
    w: int,
    address_kind: np.ndarray,
    address_owner: np.ndarray,
    counters: np.ndarray,
) -> int:
    """The address ``w`` gives out now; afterwards it may rotate to a fresh one."""
    a = wallets[w].address
    if np.random.random() >= wallets[w].reuse:
        wallets[w].address = _new_address(wallets, w, address_kind, address_owner, counters)
    return a


@njit(cache=True)
def _add_utxo(
    state_utxos: np.ndarray,
    free: np.ndarray,
    bag: np.ndarray,
    wallets: np.ndarray,
    w: int,
    tx: int,
    vout: int,
    address: int,
    value: int,
    block: int,
    coinbase: bool,
    counters: np.ndarray,
) -> None:
    """Give the output to ``w`` to spend later.

    A wallet whose bag is full (an OTC desk that only receives, say) leaves the output
    unspent: it stays on chain, it just never moves again in the scenario.
    """
    if wallets[w].bag_n >= wallets[w].bag_cap or counters[C_FREE] == 0:
        return
    slot = free[counters[C_FREE] - 1]
    counters[C_FREE] -= 1
    u = state_utxos[slot]
    u.tx = tx
    u.vout = vout
    u.address = address
    u.value = value
    u.block = block
    u.coinbase = coinbase
    position = wallets[w].bag_start + wallets[w].bag_n
    bag[position] = slot
    wallets[w].bag_n += 1
    wallets[w].balance += value


@njit(cache=True)
def _bag_full(wallets: np.ndarray, w: int, room: int) -> bool:
    return wallets[w].bag_n + room > wallets[w].bag_cap


@njit(cache=True)
def _fee(params: np.ndarray, n_in: int, n_out: int) -> int:
    rate = np.exp(params[P_FEE_MU] + params[P_FEE_SIGMA] * np.random.standard_normal())
    return np.int64(max(1.0, rate) * (11 + 68 * n_in + 31 * n_out))


@njit(cache=True)
def _take_inputs(
    utxos: np.ndarray,
    free: np.ndarray,
    bag: np.ndarray,
    wallets: np.ndarray,
    w: int,
    need: int,
    block: int,
    max_inputs: int,
    inputs: np.ndarray,
    counters: np.ndarray,
    address_kind: np.ndarray,
    allow_short: bool = False,
) -> int:
    """Move UTXOs of ``w`` into the input buffer until they cover ``need``; return the total.

    Coins are taken from a random point in the wallet's bag onward, which mixes old and new
    coins the way wallets' coin selection does. Immature coinbase outputs are left alone.
    Returns -1 (and takes nothing) when the wallet cannot cover ``need``, unless
    ``allow_short``, which takes what it found (a sweep takes "up to so many coins").
    """
    start = wallets[w].bag_start
    n = wallets[w].bag_n
    if n == 0:
        return -1
    first = np.random.randint(0, n)
    total = np.int64(0)
    chosen = 0
    picked = np.empty(max_inputs, np.int64)
    for step in range(n):
        position = (first + step) % n
        slot = bag[start + position]
        u = utxos[slot]
        if u.coinbase and block - u.block < COINBASE_MATURITY:
            continue
        picked[chosen] = position
        chosen += 1
        total += u.value
        if total >= need or chosen == max_inputs:
            break
    if chosen == 0 or (total < need and not allow_short):
        return -1
    # Remove the chosen positions from the bag, highest first so positions stay valid.
    order = np.sort(picked[:chosen])[::-1]
    base = counters[C_IN]
    for k in range(chosen):
        position = order[k]
        slot = bag[start + position]
        u = utxos[slot]
        i = inputs[base + k]
        i.tx = u.tx
        i.vout = u.vout
        i.address = u.address
        i.kind = address_kind[u.address]
        i.value = u.value
        wallets[w].balance -= u.value
        last = start + wallets[w].bag_n - 1
        bag[start + position] = bag[last]
        wallets[w].bag_n -= 1
        free[counters[C_FREE]] = slot
        counters[C_FREE] += 1
    counters[C_IN] += chosen
    return total


@njit(cache=True)
def _emit_output(
    outputs: np.ndarray, counters: np.ndarray, address: int, kind: int, value: int
) -> None:
    o = outputs[counters[C_OUT]]
    o.address = address
    o.kind = kind
    o.value = value
    counters[C_OUT] += 1


@njit(cache=True)
def _open_tx(txs: np.ndarray, counters: np.ndarray, block: int, index: int) -> int:
    t = counters[C_TX]
    txs[t].number = counters[C_TXNO]
    counters[C_TXNO] += 1
    txs[t].block = block
    txs[t].index = index
    txs[t].in_start = counters[C_IN]
    txs[t].out_start = counters[C_OUT]
    txs[t].coinbase = False
    txs[t].fee = 0
    return t


@njit(cache=True)
def _close_tx(txs: np.ndarray, t: int, counters: np.ndarray, fee: int) -> None:
    txs[t].in_n = counters[C_IN] - txs[t].in_start
    txs[t].out_n = counters[C_OUT] - txs[t].out_start
    txs[t].fee = fee
    counters[C_TX] += 1
    counters[C_TRANSFERS] += txs[t].in_n + txs[t].out_n


@njit(cache=True)
def _abandon_tx(counters: np.ndarray, txs: np.ndarray, t: int) -> None:
    counters[C_TXNO] -= 1
    counters[C_IN] = txs[t].in_start
    counters[C_OUT] = txs[t].out_start


@njit(cache=True)
def _credit_outputs(
    txs: np.ndarray,
    t: int,
    outputs: np.ndarray,
    utxos: np.ndarray,
    free: np.ndarray,
    bag: np.ndarray,
    wallets: np.ndarray,
    address_owner: np.ndarray,
    block: int,
    counters: np.ndarray,
) -> None:
    """Give each output of ``t`` to the wallet that owns its address (heist addresses: none)."""
    for k in range(txs[t].out_n):
        o = outputs[txs[t].out_start + k]
        owner = address_owner[o.address]
        if owner >= 0:
            _add_utxo(
                utxos,
                free,
                bag,
                wallets,
                owner,
                txs[t].number,
                k,
                o.address,
                o.value,
                block,
                txs[t].coinbase,
                counters,
            )


@njit(cache=True)
def _spend(
    s_utxos: np.ndarray,
    s_free: np.ndarray,
    s_bag: np.ndarray,
    s_wallets: np.ndarray,
    s_kind: np.ndarray,
    s_owner: np.ndarray,
    counters: np.ndarray,
    params: np.ndarray,
    txs: np.ndarray,
    inputs: np.ndarray,
    outputs: np.ndarray,
    block: int,
    index: int,
    w: int,
    payees: np.ndarray,
    amounts: np.ndarray,
    n_pay: int,
    max_inputs: int,
    exact: bool = False,
) -> int:
    """One transaction of ``w`` paying ``amounts`` to addresses ``payees``, change to ``w``.

    With ``exact``, a single payee sometimes gets the change too (see below).

    Returns the transaction slot, or -1 when ``w`` cannot pay (nothing is changed then).
    """
    total_pay = np.int64(0)
    for k in range(n_pay):
        total_pay += amounts[k]
    t = _open_tx(txs, counters, block, index)
    estimate = _fee(params, 2, n_pay + 1)
    got = _take_inputs(
        s_utxos,
        s_free,
        s_bag,
        s_wallets,
        w,
        total_pay + estimate,
        block,
        max_inputs,
        inputs,
        counters,
        s_kind,
    )
    if got < 0:
        _abandon_tx(counters, txs, t)
        return -1
    n_in = counters[C_IN] - txs[t].in_start
    fee = _fee(params, n_in, n_pay + 1)
    if fee > got - total_pay:
        fee = got - total_pay
    for k in range(n_pay):
        _emit_output(outputs, counters, payees[k], s_kind[payees[k]], amounts[k])
    change = got - total_pay - fee
    if exact and n_pay == 1 and np.random.random() < 0.25:
        # "Send everything selected": the payee gets the change too (no change output), the
        # way wallets spend exact coins or empty themselves.
        amounts[0] += change
        outputs[counters[C_OUT] - 1].value = amounts[0]
        change = 0
    if change > DUST:
        if np.random.random() < s_wallets[w].reuse:
            change_address = inputs[txs[t].in_start].address
        else:
            change_address = _new_address(s_wallets, w, s_kind, s_owner, counters)
        _emit_output(outputs, counters, change_address, s_kind[change_address], change)
    else:
        fee += change
    _close_tx(txs, t, counters, fee)
    _credit_outputs(txs, t, outputs, s_utxos, s_free, s_bag, s_wallets, s_owner, block, counters)
    return t


@njit(cache=True, nogil=True)
def run_blocks(
    wallets: np.ndarray,
    utxos: np.ndarray,
    bag: np.ndarray,
    free: np.ndarray,
    address_kind: np.ndarray,
    address_owner: np.ndarray,
    deposit_address: np.ndarray,
    spend_cdf: np.ndarray,
    receive_cdf: np.ndarray,
    exchange_cdf: np.ndarray,
    exchange_hot: np.ndarray,
    exchange_pool: np.ndarray,
    miners: np.ndarray,
    bridge: int,
    params: np.ndarray,
    counters: np.ndarray,
    block_numbers: np.ndarray,
    block_budgets: np.ndarray,
    inj_txs: np.ndarray,
    inj_inputs: np.ndarray,
    inj_outputs: np.ndarray,
    inj_extra: np.ndarray,
    releases: np.ndarray,
    txs: np.ndarray,
    inputs: np.ndarray,
    outputs: np.ndarray,
    crossings: np.ndarray,
    io_room: int,
) -> int:
    """Simulate ``block_numbers`` in order; stop early when the buffers have < ``io_room`` left.

    ``inj_txs`` (with their inputs/outputs) are placed first in their block, after the
    coinbase; ``inj_extra[k] > 0`` makes injected transaction k a CoinJoin round that that many
    background users join. ``releases`` are bridge payouts (user, amount, block) owed here.
    Returns how many blocks were completed.
    """
    payees = np.empty(512, np.int64)
    amounts = np.empty(512, np.int64)
    n_users = deposit_address.shape[0]
    inj_next = 0
    rel_next = 0
    for b in range(len(block_numbers)):
        block = block_numbers[b]
        if (
            len(txs) - counters[C_TX] < io_room // 4
            or len(inputs) - counters[C_IN] < io_room
            or len(outputs) - counters[C_OUT] < io_room
        ):
            return b
        fees = np.int64(0)
        index = 1
        # Transfers made beyond the plan so far are taken off this block's budget, so the
        # scenario's total lands on what was asked for however lumpy single transactions are.
        produced_before = counters[C_TRANSFERS]
        wanted = block_budgets[b] - counters[C_DEBT]
        coinbase_slot = _open_tx(txs, counters, block, 0)
        txs[coinbase_slot].coinbase = True
        counters[C_TX] += 1  # reserved; filled in at the end of the block
        # Injected transactions first.
        while inj_next < len(inj_txs) and inj_txs[inj_next].block == block:
            src = inj_txs[inj_next]
            t = counters[C_TX]
            txs[t].number = src.number
            txs[t].block = block
            txs[t].index = index
            txs[t].coinbase = False
            txs[t].in_start = counters[C_IN]
            txs[t].out_start = counters[C_OUT]
            for k in range(src.in_n):
                inputs[counters[C_IN]] = inj_inputs[src.in_start + k]
                counters[C_IN] += 1
            for k in range(src.out_n):
                outputs[counters[C_OUT]] = inj_outputs[src.out_start + k]
                counters[C_OUT] += 1
            fee = src.fee
            extra = inj_extra[inj_next]
            if extra > 0:
                denomination = inj_outputs[src.out_start].value
                joined = 0
                for _ in range(extra * 4):
                    if joined == extra:
                        break
                    u = pick(spend_cdf)
                    if wallets[u].kind != USER:
                        continue
                    share = _fee(params, 1, 2)
                    got = _take_inputs(
                        utxos,
                        free,
                        bag,
                        wallets,
                        u,
                        denomination + share,
                        block,
                        4,
                        inputs,
                        counters,
                        address_kind,
                    )
                    if got < 0:
                        continue
                    mixed = _new_address(wallets, u, address_kind, address_owner, counters)
                    _emit_output(outputs, counters, mixed, address_kind[mixed], denomination)
                    change = got - denomination - share
                    if change > DUST:
                        back = _new_address(wallets, u, address_kind, address_owner, counters)
                        _emit_output(outputs, counters, back, address_kind[back], change)
                    else:
                        share += change
                    fee += share
                    joined += 1
            txs[t].in_n = counters[C_IN] - txs[t].in_start
            txs[t].out_n = counters[C_OUT] - txs[t].out_start
            txs[t].fee = fee
            counters[C_TX] += 1
            counters[C_TRANSFERS] += txs[t].in_n + txs[t].out_n
            _credit_outputs(
                txs, t, outputs, utxos, free, bag, wallets, address_owner, block, counters
            )
            fees += fee
            index += 1
            inj_next += 1
        # Bridge releases owed to users.
        while rel_next < len(releases) and releases[rel_next].block <= block:
            if releases[rel_next].address >= 0:
                payees[0] = releases[rel_next].address
            else:
                user = releases[rel_next].user
                payees[0] = _receiving_address(wallets, user, address_kind, address_owner, counters)
            amounts[0] = releases[rel_next].amount
            paid = releases[rel_next]
            t = _spend(
                utxos,
                free,
                bag,
                wallets,
                address_kind,
                address_owner,
                counters,
                params,
                txs,
                inputs,
                outputs,
                block,
                index,
                bridge,
                payees,
                amounts,
                1,
                64,
            )
            rel_next += 1
            if t >= 0:
                paid.release = txs[t].number
                paid.payee = payees[0]
                fees += txs[t].fee
                index += 1
        attempts = 0
        while counters[C_TRANSFERS] - produced_before < wanted and attempts < 4 * wanted + 16:
            attempts += 1
            r = np.random.random()
            t = -1
            if r < params[P_PAYMENT]:
                w = pick(spend_cdf)
                if wallets[w].kind != USER and wallets[w].kind != MERCHANT:
                    continue
                n_pay = 1
                if np.random.random() < 0.08:
                    n_pay = zipf_count(2, 20, 1.5)
                ok = True
                for k in range(n_pay):
                    payee = pick(receive_cdf)
                    if payee == w or _bag_full(wallets, payee, 4):
                        ok = False
                        break
                    payees[k] = _receiving_address(
                        wallets, payee, address_kind, address_owner, counters
                    )
                    fraction = np.exp(
                        params[P_AMOUNT_MU] + params[P_AMOUNT_SIGMA] * np.random.standard_normal()
                    )
                    amounts[k] = np.int64(min(0.95, fraction) * wallets[w].balance / n_pay)
                    if amounts[k] <= DUST:
                        ok = False
                        break
                if ok:
                    t = _spend(
                        utxos,
                        free,
                        bag,
                        wallets,
                        address_kind,
                        address_owner,
                        counters,
                        params,
                        txs,
                        inputs,
                        outputs,
                        block,
                        index,
                        w,
                        payees,
                        amounts,
                        n_pay,
                        16,
                        True,
                    )
            elif r < params[P_DEPOSIT]:
                w = pick(spend_cdf)
                if wallets[w].kind != USER and wallets[w].kind != MERCHANT:
                    continue
                e = pick(exchange_cdf)
                if w < n_users:
                    a = deposit_address[w, e]
                    if a < 0:
                        a = _new_address(
                            wallets, exchange_pool[e], address_kind, address_owner, counters
                        )
                        deposit_address[w, e] = a
                else:
                    a = _receiving_address(
                        wallets, exchange_hot[e], address_kind, address_owner, counters
                    )
                fraction = np.exp(
                    params[P_AMOUNT_MU] + 0.5 + params[P_AMOUNT_SIGMA] * np.random.standard_normal()
                )
                payees[0] = a
                amounts[0] = np.int64(min(1.0, fraction) * wallets[w].balance * 0.97)
                if amounts[0] > DUST and not _bag_full(wallets, exchange_pool[e], 64):
                    t = _spend(
                        utxos,
                        free,
                        bag,
                        wallets,
                        address_kind,
                        address_owner,
                        counters,
                        params,
                        txs,
                        inputs,
                        outputs,
                        block,
                        index,
                        w,
                        payees,
                        amounts,
                        1,
                        16,
                    )
            elif r < params[P_SWEEP]:
                e = pick(exchange_cdf)
                pool = exchange_pool[e]
                n = wallets[pool].bag_n
                if n < 2:
                    continue
                take = min(n, zipf_count(5, 200, 1.2))
                t = _open_tx(txs, counters, block, index)
                got = _take_inputs(
                    utxos,
                    free,
                    bag,
                    wallets,
                    pool,
                    wallets[pool].balance + 1,
                    block,
                    take,
                    inputs,
                    counters,
                    address_kind,
                    True,
                )
                if got < 0:
                    _abandon_tx(counters, txs, t)
                    continue
                n_in = counters[C_IN] - txs[t].in_start
                fee = _fee(params, n_in, 1)
                if got - fee <= DUST:
                    # Not worth sweeping yet: the coins go back where they were.
                    for k in range(txs[t].in_start, counters[C_IN]):
                        i = inputs[k]
                        _add_utxo(
                            utxos,
                            free,
                            bag,
                            wallets,
                            pool,
                            i.tx,
                            i.vout,
                            i.address,
                            i.value,
                            block,
                            False,
                            counters,
                        )
                    _abandon_tx(counters, txs, t)
                    continue
                hot = exchange_hot[e]
                _emit_output(
                    outputs,
                    counters,
                    wallets[hot].address,
                    address_kind[wallets[hot].address],
                    got - fee,
                )
                _close_tx(txs, t, counters, fee)
                _credit_outputs(
                    txs, t, outputs, utxos, free, bag, wallets, address_owner, block, counters
                )
            elif r < params[P_WITHDRAW] or r < params[P_PAYOUT]:
                if r < params[P_WITHDRAW]:
                    w = exchange_hot[pick(exchange_cdf)]
                else:
                    w = miners[np.random.randint(0, len(miners))]
                n_pay = zipf_count(1, 200, 1.1)
                budget = wallets[w].balance // 4
                ok = budget > DUST * n_pay
                for k in range(n_pay):
                    if not ok:
                        break
                    payee = pick(receive_cdf)
                    if wallets[payee].kind != USER or _bag_full(wallets, payee, 4):
                        ok = False
                        break
                    payees[k] = _receiving_address(
                        wallets, payee, address_kind, address_owner, counters
                    )
                    # Sized by the customer (heavy-tailed), within what the batch can carry.
                    amounts[k] = DUST + 1 + np.int64(min(budget / n_pay, pareto(50_000.0, 1.1)))
                if ok:
                    t = _spend(
                        utxos,
                        free,
                        bag,
                        wallets,
                        address_kind,
                        address_owner,
                        counters,
                        params,
                        txs,
                        inputs,
                        outputs,
                        block,
                        index,
                        w,
                        payees,
                        amounts,
                        n_pay,
                        64,
                    )
            elif r < params[P_COINJOIN]:
                denomination = np.int64(10 ** np.random.randint(5, 8))  # 0.001 to 0.1 BTC
                size = zipf_count(5, 60, 2.0)
                t = _open_tx(txs, counters, block, index)
                joined = 0
                fee = np.int64(0)
                for _ in range(size * 3):
                    if joined == size:
                        break
                    u = pick(spend_cdf)
                    if wallets[u].kind != USER or _bag_full(wallets, u, 4):
                        continue
                    share = _fee(params, 1, 2)
                    got = _take_inputs(
                        utxos,
                        free,
                        bag,
                        wallets,
                        u,
                        denomination + share,
                        block,
                        4,
                        inputs,
                        counters,
                        address_kind,
                    )
                    if got < 0:
                        continue
                    mixed = _new_address(wallets, u, address_kind, address_owner, counters)
                    _emit_output(outputs, counters, mixed, address_kind[mixed], denomination)
                    change = got - denomination - share
                    if change > DUST:
                        back = _new_address(wallets, u, address_kind, address_owner, counters)
                        _emit_output(outputs, counters, back, address_kind[back], change)
                    else:
                        share += change
                    fee += share
                    joined += 1
                if joined == 0:
                    _abandon_tx(counters, txs, t)
                    continue
                _close_tx(txs, t, counters, fee)
                _credit_outputs(
                    txs, t, outputs, utxos, free, bag, wallets, address_owner, block, counters
                )
            elif r < params[P_BRIDGE]:
                w = pick(spend_cdf)
                if wallets[w].kind != USER or w >= n_users:
                    continue
                fraction = np.exp(
                    params[P_AMOUNT_MU] + params[P_AMOUNT_SIGMA] * np.random.standard_normal()
                )
                payees[0] = wallets[bridge].address
                amounts[0] = np.int64(min(0.9, fraction) * wallets[w].balance)
                if amounts[0] <= 100_000 or _bag_full(wallets, bridge, 8):
                    continue
                t = _spend(
                    utxos,
                    free,
                    bag,
                    wallets,
                    address_kind,
                    address_owner,
                    counters,
                    params,
                    txs,
                    inputs,
                    outputs,
                    block,
                    index,
                    w,
                    payees,
                    amounts,
                    1,
                    16,
                )
                if t >= 0 and counters[C_CROSS] < len(crossings):
                    c = crossings[counters[C_CROSS]]
                    c.user = w
                    c.amount = amounts[0]
                    c.block = block
                    c.address = -1
                    c.deposit = txs[t].number
                    c.deposited = amounts[0]
                    counters[C_CROSS] += 1
            if t >= 0:
                fees += txs[t].fee
                index += 1
        # The coinbase: subsidy plus every fee of the block, to one miner.
        miner = miners[np.random.randint(0, len(miners))]
        txs[coinbase_slot].out_start = counters[C_OUT]
        _emit_output(
            outputs,
            counters,
            wallets[miner].address,
            address_kind[wallets[miner].address],
            SUBSIDY + fees,
        )
        txs[coinbase_slot].in_start = counters[C_IN]
        txs[coinbase_slot].in_n = 0
        txs[coinbase_slot].out_n = 1
        counters[C_TRANSFERS] += 2  # the mint and the output
        _credit_outputs(
            txs, coinbase_slot, outputs, utxos, free, bag, wallets, address_owner, block, counters
        )
        counters[C_DEBT] += counters[C_TRANSFERS] - produced_before - block_budgets[b]
    return len(block_numbers)


_BAG_CAPACITY = {
    USER: 32,
    MERCHANT: 512,
    EXCHANGE_HOT: 8192,
    EXCHANGE_DEPOSITS: 65536,
    MINER: 4096,
    BRIDGE: 4096,
    OTC: 1024,
}
_ADDRESS_KIND_SHARES = np.array([0.62, 0.18, 0.12, 0.08])  # P2WPKH, P2TR, P2PKH, P2SH


def new_bitcoin_state(
    rng: np.random.Generator,
    *,
    users: int,
    merchants: int,
    exchanges: int,
    miners: int,
    address_capacity: int,
    exchange_weights: np.ndarray,
    user_activity: np.ndarray,
    user_popularity: np.ndarray,
    params: np.ndarray,
) -> BitcoinState:
    """Wallets and the UTXO set as the simulated window opens.

    Wallet ids: users first (so a user's id is the same person on the other chain), then
    merchants, one hot wallet and one deposit pool per exchange, the miners, the bridge and
    the OTC desk. Opening balances are outputs of transactions from before the window.
    """
    kinds = (
        [USER] * users
        + [MERCHANT] * merchants
        + [EXCHANGE_HOT, EXCHANGE_DEPOSITS] * exchanges
        + [MINER] * miners
        + [BRIDGE, OTC]
    )
    n = len(kinds)
    wallets = np.zeros(n, WALLET)
    wallets["kind"] = kinds
    wallets["service"] = -1
    for e in range(exchanges):
        wallets["service"][users + merchants + 2 * e : users + merchants + 2 * e + 2] = e
    wallets["bag_cap"] = [_BAG_CAPACITY[k] for k in kinds]
    wallets["bag_start"] = np.concatenate(([0], np.cumsum(wallets["bag_cap"][:-1])))
    is_user = wallets["kind"] == USER
    wallets["address_kind"] = np.where(is_user, rng.choice(4, size=n, p=_ADDRESS_KIND_SHARES), 0)
    # Habits: most users rotate addresses; a minority reuse one; services reuse their hot
    # addresses (exchanges publish them), deposit pools never give out the same address twice.
    wallets["reuse"] = np.where(is_user, np.clip(rng.beta(0.6, 1.6, n), 0.0, 0.98), 1.0)
    wallets["reuse"][wallets["kind"] == MERCHANT] = 0.3
    wallets["reuse"][wallets["kind"] == EXCHANGE_DEPOSITS] = 0.0
    slots = int(wallets["bag_cap"].sum())
    utxo_capacity = min(slots, users * 40 + 2_000_000)
    utxos = np.zeros(utxo_capacity, UTXO)
    free = np.arange(utxo_capacity, dtype=np.int64)[::-1].copy()
    counters = np.zeros(9, np.int64)
    counters[C_FREE] = utxo_capacity
    address_kind = np.zeros(address_capacity, np.int8)
    address_owner = np.full(address_capacity, -1, np.int32)
    bag = np.zeros(slots, np.int64)
    # Each wallet's first address is its own id: addresses 0..n-1.
    wallets["address"] = np.arange(n)
    address_kind[:n] = wallets["address_kind"]
    address_owner[:n] = np.arange(n)
    counters[C_ADDRESS] = n
    offset = users + merchants
    exchange_hot = np.arange(offset, offset + 2 * exchanges, 2, dtype=np.int64)
    exchange_pool = exchange_hot + 1
    miner_ids = np.arange(offset + 2 * exchanges, offset + 2 * exchanges + miners, dtype=np.int64)
    bridge = int(offset + 2 * exchanges + miners)
    # Opening balances (satoshi), heavy-tailed, and the services' float: outputs of one
    # transaction per wallet from before the window.
    coins_per_kind = np.zeros(7, np.int64)
    for kind, count in ((USER, 2), (MERCHANT, 4), (EXCHANGE_HOT, 40), (MINER, 8), (BRIDGE, 20)):
        coins_per_kind[kind] = count
    coins_per_kind[OTC] = 10
    per_wallet = coins_per_kind[wallets["kind"]]
    owner = np.repeat(np.arange(n, dtype=np.int64), per_wallet)
    vout = np.arange(len(owner)) - np.repeat(np.cumsum(per_wallet) - per_wallet, per_wallet)
    values = _opening_values(rng, wallets["kind"][owner])
    _fund_wallets(
        utxos, free, bag, wallets, counters, owner, PREHISTORY_TX_BASE + owner,
        vout.astype(np.int64), values,
    )  # fmt: skip
    spend = np.zeros(n)
    spend[:users] = user_activity
    spend[users : users + merchants] = np.median(user_activity) * 20
    receive = np.zeros(n)
    receive[:users] = user_popularity
    receive[users : users + merchants] = np.median(user_popularity) * 50
    return BitcoinState(
        wallets=wallets,
        utxos=utxos,
        bag=bag,
        free=free,
        address_kind=address_kind,
        address_owner=address_owner,
        deposit_address=np.full((users, exchanges), -1, np.int64),
        spend_cdf=np.cumsum(spend),
        receive_cdf=np.cumsum(receive),
        exchange_cdf=np.cumsum(exchange_weights),
        exchange_hot=exchange_hot,
        exchange_pool=exchange_pool,
        miners=miner_ids,
        bridge=bridge,
        params=params,
        counters=counters,
    )


def fund(state: BitcoinState, wallet: int, values: np.ndarray) -> None:
    """Give ``wallet`` coins from before the window (one prehistory transaction)."""
    number = PREHISTORY_TX_BASE + (1 << 30) + wallet
    address = int(state.wallets[wallet]["address"])
    for vout, value in enumerate(values):
        if value > DUST:
            _add_utxo(
                state.utxos,
                state.free,
                state.bag,
                state.wallets,
                wallet,
                number,
                vout,
                address,
                int(value),
                0,
                False,
                state.counters,
            )


def _opening_values(rng: np.random.Generator, kinds: np.ndarray) -> np.ndarray:
    """Opening coins (satoshi) for wallets of ``kinds``: Pareto for users, ranges for services."""
    values = np.zeros(len(kinds), np.int64)
    users = kinds == USER
    values[users] = np.minimum(5e10, 1e6 * (1 - rng.random(int(users.sum()))) ** (-1 / 1.1))
    ranges = {
        MERCHANT: (10**6, 10**8),
        EXCHANGE_HOT: (10**9, 5 * 10**10),
        MINER: (10**8, 10**9),
        BRIDGE: (10**9, 5 * 10**9),
        OTC: (10**9, 5 * 10**9),
    }
    for kind, (low, high) in ranges.items():
        chosen = kinds == kind
        values[chosen] = rng.integers(low, high, int(chosen.sum()))
    return values


@njit(cache=True)
def _fund_wallets(
    utxos: np.ndarray,
    free: np.ndarray,
    bag: np.ndarray,
    wallets: np.ndarray,
    counters: np.ndarray,
    owners: np.ndarray,
    txs: np.ndarray,
    vouts: np.ndarray,
    values: np.ndarray,
) -> None:
    for k in range(len(owners)):
        if values[k] > DUST:
            w = owners[k]
            _add_utxo(
                utxos, free, bag, wallets, w, txs[k], vouts[k], wallets[w].address, values[k], 0,
                False, counters,
            )  # fmt: skip


def default_params() -> np.ndarray:
    """Cumulative shares of transaction types, and the fee and amount distributions."""
    params = np.zeros(N_PARAMS)
    shares = [0.50, 0.16, 0.08, 0.10, 0.04, 0.015, 0.01]
    params[P_PAYMENT : P_BRIDGE + 1] = np.cumsum(shares)
    params[P_FEE_MU] = np.log(6.0)  # sat/vB
    params[P_FEE_SIGMA] = 0.7
    params[P_AMOUNT_MU] = np.log(0.15)  # share of the spender's balance
    params[P_AMOUNT_SIGMA] = 1.0
    return params


def empty_injections() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, TX), np.zeros(0, INPUT), np.zeros(0, OUTPUT), np.zeros(0, np.int64)


@dataclass
class BitcoinBuffers:
    """Where the compiled loop appends transactions until the scenario writes them out."""

    txs: np.ndarray
    inputs: np.ndarray
    outputs: np.ndarray
    crossings: np.ndarray

    @classmethod
    def allocate(cls, capacity: int) -> BitcoinBuffers:
        return cls(
            np.zeros(capacity // 2, TX),
            np.zeros(capacity, INPUT),
            np.zeros(capacity, OUTPUT),
            np.zeros(max(64, capacity // 64), CROSSING),
        )


def simulate(
    state: BitcoinState,
    buffers: BitcoinBuffers,
    block_numbers: np.ndarray,
    block_budgets: np.ndarray,
    injections: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    releases: np.ndarray,
) -> int:
    """Append ``block_numbers`` to the buffers; return how many blocks fit.

    A block is only started when the buffers have room for twice its budget, so a caller that
    gets fewer blocks back than it asked for writes the buffers out (:func:`take`) and calls
    again with the rest.
    """
    room = int(block_budgets.max(initial=0)) * 2 + 50_000
    if len(buffers.inputs) < 2 * room:
        raise ValueError("buffers too small for the largest block; allocate more")
    # Every new address is paid by an output, so the output buffer bounds how many appear.
    _ensure_address_room(state, len(buffers.outputs))
    inj_txs, inj_inputs, inj_outputs, inj_extra = injections
    return int(
        run_blocks(
            state.wallets,
            state.utxos,
            state.bag,
            state.free,
            state.address_kind,
            state.address_owner,
            state.deposit_address,
            state.spend_cdf,
            state.receive_cdf,
            state.exchange_cdf,
            state.exchange_hot,
            state.exchange_pool,
            state.miners,
            state.bridge,
            state.params,
            state.counters,
            block_numbers,
            block_budgets,
            inj_txs,
            inj_inputs,
            inj_outputs,
            inj_extra,
            releases,
            buffers.txs,
            buffers.inputs,
            buffers.outputs,
            buffers.crossings,
            room,
        )
    )


def take(state: BitcoinState, buffers: BitcoinBuffers) -> BitcoinChunk:
    """What the buffers hold (views, valid until the next :func:`simulate`); empties them."""
    c = state.counters
    chunk = BitcoinChunk(
        txs=buffers.txs[: c[C_TX]],
        inputs=buffers.inputs[: c[C_IN]],
        outputs=buffers.outputs[: c[C_OUT]],
        crossings=buffers.crossings[: c[C_CROSS]],
    )
    c[[C_TX, C_IN, C_OUT, C_CROSS]] = 0
    return chunk


def buffered_io(state: BitcoinState) -> int:
    return int(state.counters[C_IN] + state.counters[C_OUT])


def new_address(state: BitcoinState, kind: int, owner: int = -1) -> int:
    """An address outside any background wallet's habits (the heist's, a deposit address)."""
    _ensure_address_room(state, 1)
    a = int(state.counters[C_ADDRESS])
    state.counters[C_ADDRESS] += 1
    state.address_kind[a] = kind
    state.address_owner[a] = owner
    return a


def _ensure_address_room(state: BitcoinState, room: int) -> None:
    used = int(state.counters[C_ADDRESS])
    if used + room <= len(state.address_kind):
        return
    size = max(2 * len(state.address_kind), used + room)
    kind = np.zeros(size, np.int8)
    kind[:used] = state.address_kind[:used]
    owner = np.full(size, -1, np.int32)
    owner[:used] = state.address_owner[:used]
    state.address_kind, state.address_owner = kind, owner

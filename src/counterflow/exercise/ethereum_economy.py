"""The simulated Ethereum-like economy: accounts, two ERC-20 tokens and the contracts around them.

Balances are exact integers and never go negative: a transaction is only made when its sender
can pay value and gas. The actors:

- users with one or more accounts send ETH and tokens to each other, swap on a DEX, deposit at
  exchanges, bridge to the UTXO chain and use a Tornado-style mixer (fixed denominations,
  withdrawals by a relayer to a fresh account after a delay);
- exchanges give each customer a deposit account and sweep it into their hot wallet, topping up
  gas first when only tokens are to be swept (the pattern deposit-address clustering relies on),
  and pay withdrawals from the hot wallet;
- the bridge contract takes deposits and releases, through an operator's call, what was
  deposited on the other chain;
- about 1.5% of transactions fail: they pay gas and move nothing.

Units: ETH and the liquid-staking token are held in units of 10^6 wei (so an int64 holds 9.2
million ETH); the stablecoin has 6 decimals and is held in its base unit. Written values are
scaled back to wei exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from counterflow.exercise.sampling import lognormal, pareto, pick, zipf_count

# Account kinds.
USER, EXCHANGE_HOT, DEPOSIT, TOKEN, DEX, BRIDGE, BRIDGE_OPERATOR, MIXER, RELAYER, OTC, HEIST = (
    range(11)
)
BUILDER = 11  # block builders: the fee recipients named in blocks
# Assets: index into an account's balances.
ETH, USD, LST = 0, 1, 2
#: Decimal digits to append to a held amount to get the base unit on chain.
SCALE_DIGITS = (6, 0, 6)
ETHER = 10**12  # one ETH in held units
HEIST_TX_BASE = 1 << 40
# Calls (they decide the input selector written and the gas used).
CALL_TRANSFER, CALL_TOKEN, CALL_SWAP_IN, CALL_SWAP_OUT, CALL_MIX_IN, CALL_MIX_OUT = range(6)
CALL_BRIDGE_IN, CALL_BRIDGE_OUT, CALL_EXEC = 6, 7, 8
GAS_USED = np.array([21_000, 52_000, 120_000, 140_000, 980_000, 360_000, 60_000, 90_000, 110_000])
GAS_LIMIT = np.array(
    [21_000, 65_000, 200_000, 200_000, 1_200_000, 500_000, 80_000, 150_000, 250_000]
)
SELECTORS = (
    "0x",
    "0xa9059cbb",  # transfer(address,uint256)
    "0x7ff36ab5",  # swapExactETHForTokens
    "0x18cbafe5",  # swapExactTokensForETH
    "0xb214faa5",  # deposit(bytes32)
    "0x21a0adb6",  # withdraw(...)
    "0xd0e30db0",  # deposit()
    "0x9c9c2ad2",  # release(...)
    "0x6a761202",  # execTransaction(...) of a multisig wallet
)
#: Mixer pool denominations, in held units (0.1, 1, 10 and 100 ETH).
MIXER_DENOMINATIONS = np.array([ETHER // 10, ETHER, 10 * ETHER, 100 * ETHER], np.int64)
SUB_TOKEN, SUB_INTERNAL = 0, 1

ACCOUNT = np.dtype(
    [
        ("kind", np.int8),
        ("service", np.int32),
        ("owner", np.int64),  # the user (same id as on the UTXO chain) or -1 for services
        ("nonce", np.int64),
    ]
)
TX = np.dtype(
    [
        ("number", np.int64),
        ("block", np.int64),
        ("index", np.int32),
        ("sender", np.int64),
        ("to", np.int64),
        ("value", np.int64),
        ("gas_used", np.int64),
        ("gas_limit", np.int64),
        ("price", np.int64),  # per gas, in 10^6 wei
        ("status", np.int8),
        ("call", np.int8),
        ("nonce", np.int64),
        ("sub_start", np.int64),
        ("sub_n", np.int32),
    ]
)
#: A token event or an internal call of a transaction.
SUB = np.dtype(
    [
        ("kind", np.int8),
        ("asset", np.int8),
        ("source", np.int64),
        ("target", np.int64),
        ("amount", np.int64),
    ]
)
#: ``deposit``/``deposited``: the deposit's tx number and amount on its own chain, for the
#: bridge's ledger; ``release``/``payee``: the tx that paid a release owed here, and to whom.
CROSSING = np.dtype(
    [
        ("user", np.int64),
        ("amount", np.int64),
        ("block", np.int64),
        ("deposit", np.int64),
        ("deposited", np.int64),
        ("release", np.int64),
        ("payee", np.int64),
    ]
)
NOTE = np.dtype([("user", np.int64), ("block", np.int64)])

C_TX, C_SUB, C_ACCOUNT, C_TXNO, C_CROSS, C_TRANSFERS, C_QHEAD, C_QTAIL = range(8)
C_NOTES = 8  # 4 pools x (head, tail) from here
C_DEBT = C_NOTES + 8
N_COUNTERS = C_DEBT + 1
(
    P_NATIVE,
    P_TOKEN,
    P_DEPOSIT,
    P_SWEEP,
    P_WITHDRAW,
    P_SWAP,
    P_MIX_IN,
    P_MIX_OUT,
    P_BRIDGE,
    P_FAIL,
    P_GAS_MU,
    P_GAS_SIGMA,
    P_AMOUNT_MU,
    P_AMOUNT_SIGMA,
    P_USD_PER_ETH,
    N_PARAMS,
) = range(16)


@dataclass
class EthereumState:
    accounts: np.ndarray
    balances: np.ndarray  # [account, asset]
    user_account: np.ndarray  # user -> main account
    deposit_account: np.ndarray  # [user, exchange] -> account or -1
    sweep_queue: np.ndarray  # deposit accounts waiting to be swept (ring)
    sweep_since: np.ndarray
    notes: np.ndarray  # [pool, ring] mixer notes waiting for withdrawal
    spend_cdf: np.ndarray
    receive_cdf: np.ndarray
    exchange_cdf: np.ndarray
    exchange_hot: np.ndarray
    contracts: np.ndarray  # USD token, LST token, DEX, bridge, operator, OTC, 4 mixer pools
    relayers: np.ndarray
    builders: np.ndarray
    params: np.ndarray
    counters: np.ndarray


@dataclass
class EthereumChunk:
    txs: np.ndarray
    subs: np.ndarray
    crossings: np.ndarray


# Offsets into ``contracts``.
K_USD, K_LST, K_DEX, K_BRIDGE, K_OPERATOR, K_OTC, K_MIXERS = range(7)


@njit(cache=True)
def _new_account(
    accounts: np.ndarray, counters: np.ndarray, kind: int, service: int, owner: int
) -> int:
    a = counters[C_ACCOUNT]
    counters[C_ACCOUNT] += 1
    accounts[a].kind = kind
    accounts[a].service = service
    accounts[a].owner = owner
    accounts[a].nonce = 0
    return a


@njit(cache=True)
def _gas_price(params: np.ndarray) -> int:
    return np.int64(max(10.0, lognormal(params[P_GAS_MU], params[P_GAS_SIGMA])))


@njit(cache=True)
def _open(
    txs: np.ndarray,
    subs: np.ndarray,
    accounts: np.ndarray,
    balances: np.ndarray,
    counters: np.ndarray,
    params: np.ndarray,
    block: int,
    index: int,
    sender: int,
    to: int,
    value: int,
    call: int,
) -> int:
    """Start a transaction if ``sender`` can pay ``value`` plus gas; -1 if it cannot."""
    price = _gas_price(params)
    fee = GAS_USED[call] * price
    if balances[sender, ETH] < value + fee:
        return -1
    t = counters[C_TX]
    counters[C_TX] += 1
    x = txs[t]
    x.number = counters[C_TXNO]
    counters[C_TXNO] += 1
    x.block = block
    x.index = index
    x.sender = sender
    x.to = to
    x.value = value
    x.gas_used = GAS_USED[call]
    x.gas_limit = GAS_LIMIT[call]
    x.price = price
    x.call = call
    x.nonce = accounts[sender].nonce
    accounts[sender].nonce += 1
    x.sub_start = counters[C_SUB]
    x.sub_n = 0
    x.status = 1
    balances[sender, ETH] -= fee
    counters[C_TRANSFERS] += 1  # the fee
    if np.random.random() < params[P_FAIL] and call != CALL_BRIDGE_OUT and call != CALL_MIX_OUT:
        x.status = 0
        x.gas_used = x.gas_limit if call != CALL_TRANSFER else GAS_USED[call]
        extra = (x.gas_used - GAS_USED[call]) * price
        if balances[sender, ETH] >= extra:
            balances[sender, ETH] -= extra
        else:
            x.gas_used = GAS_USED[call]
        return t
    if value > 0:
        balances[sender, ETH] -= value
        balances[to, ETH] += value
        counters[C_TRANSFERS] += 1
    return t


@njit(cache=True)
def _sub(
    txs: np.ndarray,
    t: int,
    subs: np.ndarray,
    balances: np.ndarray,
    counters: np.ndarray,
    kind: int,
    asset: int,
    source: int,
    target: int,
    amount: int,
) -> None:
    s = subs[counters[C_SUB]]
    counters[C_SUB] += 1
    s.kind = kind
    s.asset = asset
    s.source = source
    s.target = target
    s.amount = amount
    txs[t].sub_n += 1
    balances[source, asset] -= amount
    balances[target, asset] += amount
    if kind == SUB_TOKEN or amount > 0:
        counters[C_TRANSFERS] += 1


@njit(cache=True)
def _amount(params: np.ndarray, balance: int, cap: float) -> int:
    fraction = lognormal(params[P_AMOUNT_MU], params[P_AMOUNT_SIGMA])
    return np.int64(min(cap, fraction) * balance)


@njit(cache=True)
def _deposit_account(
    accounts: np.ndarray,
    counters: np.ndarray,
    deposit_account: np.ndarray,
    exchange_hot: np.ndarray,
    user: int,
    e: int,
) -> int:
    a = deposit_account[user, e]
    if a < 0:
        a = _new_account(accounts, counters, DEPOSIT, e, -1)
        deposit_account[user, e] = a
    return a


@njit(cache=True)
def _queue_sweep(
    sweep_queue: np.ndarray, sweep_since: np.ndarray, counters: np.ndarray, account: int, block: int
) -> None:
    n = len(sweep_queue)
    if counters[C_QTAIL] - counters[C_QHEAD] < n:
        sweep_queue[counters[C_QTAIL] % n] = account
        sweep_since[counters[C_QTAIL] % n] = block
        counters[C_QTAIL] += 1


@njit(cache=True, nogil=True)
def run_blocks(
    accounts: np.ndarray,
    balances: np.ndarray,
    user_account: np.ndarray,
    deposit_account: np.ndarray,
    sweep_queue: np.ndarray,
    sweep_since: np.ndarray,
    notes: np.ndarray,
    spend_cdf: np.ndarray,
    receive_cdf: np.ndarray,
    exchange_cdf: np.ndarray,
    exchange_hot: np.ndarray,
    contracts: np.ndarray,
    relayers: np.ndarray,
    params: np.ndarray,
    counters: np.ndarray,
    block_numbers: np.ndarray,
    block_budgets: np.ndarray,
    inj_txs: np.ndarray,
    inj_subs: np.ndarray,
    releases: np.ndarray,
    txs: np.ndarray,
    subs: np.ndarray,
    crossings: np.ndarray,
    room: int,
) -> int:
    """Simulate ``block_numbers``; stop early when fewer than ``room`` slots are left.

    Injected transactions (the heist's, fully specified) open their block; ``releases`` are
    bridge payouts (user, amount, block) owed here. Returns how many blocks were completed.
    """
    n_users = len(user_account)
    inj_next = 0
    rel_next = 0
    usd_token = contracts[K_USD]
    dex = contracts[K_DEX]
    bridge = contracts[K_BRIDGE]
    operator = contracts[K_OPERATOR]
    for b in range(len(block_numbers)):
        block = block_numbers[b]
        if len(txs) - counters[C_TX] < room or len(subs) - counters[C_SUB] < room:
            return b
        index = 0
        produced_before = counters[C_TRANSFERS]
        wanted = block_budgets[b] - counters[C_DEBT]  # see the Bitcoin loop
        while inj_next < len(inj_txs) and inj_txs[inj_next].block == block:
            src = inj_txs[inj_next]
            t = counters[C_TX]
            counters[C_TX] += 1
            txs[t] = src
            txs[t].index = index
            txs[t].nonce = accounts[src.sender].nonce
            accounts[src.sender].nonce += 1
            txs[t].sub_start = counters[C_SUB]
            txs[t].sub_n = 0
            balances[src.sender, ETH] -= src.gas_used * src.price
            counters[C_TRANSFERS] += 1
            if src.status == 1:
                if src.value > 0:
                    balances[src.sender, ETH] -= src.value
                    balances[src.to, ETH] += src.value
                    counters[C_TRANSFERS] += 1
                for k in range(src.sub_n):
                    s = inj_subs[src.sub_start + k]
                    _sub(
                        txs,
                        t,
                        subs,
                        balances,
                        counters,
                        s.kind,
                        s.asset,
                        s.source,
                        s.target,
                        s.amount,
                    )
                    if accounts[s.target].kind == DEPOSIT:
                        _queue_sweep(sweep_queue, sweep_since, counters, s.target, block)
                if accounts[src.to].kind == DEPOSIT:
                    _queue_sweep(sweep_queue, sweep_since, counters, src.to, block)
            index += 1
            inj_next += 1
        while rel_next < len(releases) and releases[rel_next].block <= block:
            user = user_account[releases[rel_next].user]
            amount = releases[rel_next].amount
            paid = releases[rel_next]
            rel_next += 1
            if balances[bridge, ETH] < amount:
                continue
            t = _open(
                txs,
                subs,
                accounts,
                balances,
                counters,
                params,
                block,
                index,
                operator,
                bridge,
                0,
                CALL_BRIDGE_OUT,
            )
            if t >= 0:
                _sub(txs, t, subs, balances, counters, SUB_INTERNAL, ETH, bridge, user, amount)
                paid.release = txs[t].number
                paid.payee = user
                index += 1
        attempts = 0
        while counters[C_TRANSFERS] - produced_before < wanted and attempts < 4 * wanted + 16:
            attempts += 1
            r = np.random.random()
            t = -1
            if r < params[P_NATIVE]:
                u = pick(spend_cdf)
                v = pick(receive_cdf)
                if u == v:
                    continue
                sender = user_account[u]
                value = _amount(params, balances[sender, ETH], 0.9)
                if value > 0:
                    t = _open(
                        txs,
                        subs,
                        accounts,
                        balances,
                        counters,
                        params,
                        block,
                        index,
                        sender,
                        user_account[v],
                        value,
                        CALL_TRANSFER,
                    )
            elif r < params[P_TOKEN]:
                u = pick(spend_cdf)
                v = pick(receive_cdf)
                asset = USD if np.random.random() < 0.8 else LST
                sender = user_account[u]
                amount = _amount(params, balances[sender, asset], 1.0)
                if u != v and amount > 0:
                    t = _open(
                        txs,
                        subs,
                        accounts,
                        balances,
                        counters,
                        params,
                        block,
                        index,
                        sender,
                        contracts[K_USD + asset - USD],
                        0,
                        CALL_TOKEN,
                    )
                    if t >= 0 and txs[t].status == 1:
                        _sub(
                            txs,
                            t,
                            subs,
                            balances,
                            counters,
                            SUB_TOKEN,
                            asset,
                            sender,
                            user_account[v],
                            amount,
                        )
            elif r < params[P_DEPOSIT]:
                u = pick(spend_cdf)
                e = pick(exchange_cdf)
                sender = user_account[u]
                target = _deposit_account(accounts, counters, deposit_account, exchange_hot, u, e)
                asset = ETH if np.random.random() < 0.6 else USD
                if asset == ETH:
                    value = _amount(params, balances[sender, ETH], 0.95)
                    if value > 0:
                        t = _open(
                            txs,
                            subs,
                            accounts,
                            balances,
                            counters,
                            params,
                            block,
                            index,
                            sender,
                            target,
                            value,
                            CALL_TRANSFER,
                        )
                else:
                    amount = _amount(params, balances[sender, USD], 1.0)
                    if amount > 0:
                        t = _open(
                            txs,
                            subs,
                            accounts,
                            balances,
                            counters,
                            params,
                            block,
                            index,
                            sender,
                            usd_token,
                            0,
                            CALL_TOKEN,
                        )
                        if t >= 0 and txs[t].status == 1:
                            _sub(
                                txs,
                                t,
                                subs,
                                balances,
                                counters,
                                SUB_TOKEN,
                                USD,
                                sender,
                                target,
                                amount,
                            )
                if t >= 0 and txs[t].status == 1:
                    _queue_sweep(sweep_queue, sweep_since, counters, target, block)
            elif r < params[P_SWEEP]:
                n = len(sweep_queue)
                if counters[C_QHEAD] == counters[C_QTAIL]:
                    continue
                position = counters[C_QHEAD] % n
                if block - sweep_since[position] < 10:
                    continue
                account = sweep_queue[position]
                counters[C_QHEAD] += 1
                hot = exchange_hot[accounts[account].service]
                for asset in (USD, LST):
                    amount = balances[account, asset]
                    if amount <= 0:
                        continue
                    need = GAS_USED[CALL_TOKEN] * (_gas_price(params) * 3)
                    if balances[account, ETH] < need:
                        top = _open(
                            txs,
                            subs,
                            accounts,
                            balances,
                            counters,
                            params,
                            block,
                            index,
                            hot,
                            account,
                            need,
                            CALL_TRANSFER,
                        )
                        if top < 0:
                            break
                        index += 1
                        if txs[top].status == 0:
                            break
                    t = _open(
                        txs,
                        subs,
                        accounts,
                        balances,
                        counters,
                        params,
                        block,
                        index,
                        account,
                        contracts[K_USD + asset - USD],
                        0,
                        CALL_TOKEN,
                    )
                    if t >= 0:
                        if txs[t].status == 1:
                            _sub(
                                txs,
                                t,
                                subs,
                                balances,
                                counters,
                                SUB_TOKEN,
                                asset,
                                account,
                                hot,
                                amount,
                            )
                        index += 1
                    t = -1
                price = _gas_price(params)
                value = balances[account, ETH] - GAS_USED[CALL_TRANSFER] * price * 2
                if value > 0:
                    t = _open(
                        txs,
                        subs,
                        accounts,
                        balances,
                        counters,
                        params,
                        block,
                        index,
                        account,
                        hot,
                        value,
                        CALL_TRANSFER,
                    )
            elif r < params[P_WITHDRAW]:
                e = pick(exchange_cdf)
                hot = exchange_hot[e]
                u = pick(receive_cdf)
                asset = ETH if np.random.random() < 0.6 else USD
                # Withdrawals are sized by the customer, not by the exchange's float.
                if asset == ETH:
                    value = np.int64(min(balances[hot, ETH] * 0.02, pareto(ETHER / 50, 1.1)))
                    if value > 0:
                        t = _open(
                            txs,
                            subs,
                            accounts,
                            balances,
                            counters,
                            params,
                            block,
                            index,
                            hot,
                            user_account[u],
                            value,
                            CALL_TRANSFER,
                        )
                else:
                    amount = np.int64(min(balances[hot, USD] * 0.02, pareto(50e6, 1.1)))
                    if amount > 0:
                        t = _open(
                            txs,
                            subs,
                            accounts,
                            balances,
                            counters,
                            params,
                            block,
                            index,
                            hot,
                            usd_token,
                            0,
                            CALL_TOKEN,
                        )
                        if t >= 0 and txs[t].status == 1:
                            _sub(
                                txs,
                                t,
                                subs,
                                balances,
                                counters,
                                SUB_TOKEN,
                                USD,
                                hot,
                                user_account[u],
                                amount,
                            )
            elif r < params[P_SWAP]:
                u = pick(spend_cdf)
                sender = user_account[u]
                asset = USD if np.random.random() < 0.7 else LST
                rate = params[P_USD_PER_ETH] / 1e6 if asset == USD else 0.998
                rate *= 1.0 + 0.004 * np.random.standard_normal()
                if np.random.random() < 0.5:  # ETH in, token out
                    value = _amount(params, balances[sender, ETH], 0.9)
                    out = np.int64(value * rate * 0.997)
                    if value > 0 and out > 0 and balances[dex, asset] >= out:
                        t = _open(
                            txs,
                            subs,
                            accounts,
                            balances,
                            counters,
                            params,
                            block,
                            index,
                            sender,
                            dex,
                            value,
                            CALL_SWAP_IN,
                        )
                        if t >= 0 and txs[t].status == 1:
                            _sub(
                                txs, t, subs, balances, counters, SUB_TOKEN, asset, dex, sender, out
                            )
                else:  # token in, ETH out (paid by an internal call)
                    amount = _amount(params, balances[sender, asset], 1.0)
                    out = np.int64(amount / rate * 0.997)
                    if amount > 0 and out > 0 and balances[dex, ETH] >= out:
                        t = _open(
                            txs,
                            subs,
                            accounts,
                            balances,
                            counters,
                            params,
                            block,
                            index,
                            sender,
                            dex,
                            0,
                            CALL_SWAP_OUT,
                        )
                        if t >= 0 and txs[t].status == 1:
                            _sub(
                                txs,
                                t,
                                subs,
                                balances,
                                counters,
                                SUB_TOKEN,
                                asset,
                                sender,
                                dex,
                                amount,
                            )
                            _sub(
                                txs,
                                t,
                                subs,
                                balances,
                                counters,
                                SUB_INTERNAL,
                                ETH,
                                dex,
                                sender,
                                out,
                            )
            elif r < params[P_MIX_IN]:
                u = pick(spend_cdf)
                sender = user_account[u]
                pool = zipf_count(1, 4, 1.0) - 1
                denomination = MIXER_DENOMINATIONS[pool]
                head = C_NOTES + 2 * pool
                if counters[head + 1] - counters[head] >= notes.shape[1]:
                    continue
                t = _open(
                    txs,
                    subs,
                    accounts,
                    balances,
                    counters,
                    params,
                    block,
                    index,
                    sender,
                    contracts[K_MIXERS + pool],
                    denomination,
                    CALL_MIX_IN,
                )
                if t >= 0 and txs[t].status == 1:
                    slot = counters[head + 1] % notes.shape[1]
                    notes[pool, slot].user = u
                    notes[pool, slot].block = block
                    counters[head + 1] += 1
            elif r < params[P_MIX_OUT]:
                pool = np.random.randint(0, 4)
                head = C_NOTES + 2 * pool
                if counters[head] == counters[head + 1]:
                    continue
                slot = counters[head] % notes.shape[1]
                if block - notes[pool, slot].block < 300:  # about an hour in the pool at least
                    continue
                relayer = relayers[np.random.randint(0, len(relayers))]
                mixer = contracts[K_MIXERS + pool]
                denomination = MIXER_DENOMINATIONS[pool]
                fee = denomination // 200
                t = _open(
                    txs,
                    subs,
                    accounts,
                    balances,
                    counters,
                    params,
                    block,
                    index,
                    relayer,
                    mixer,
                    0,
                    CALL_MIX_OUT,
                )
                if t >= 0:
                    counters[head] += 1
                    fresh = _new_account(accounts, counters, USER, -1, notes[pool, slot].user)
                    _sub(
                        txs,
                        t,
                        subs,
                        balances,
                        counters,
                        SUB_INTERNAL,
                        ETH,
                        mixer,
                        fresh,
                        denomination - fee,
                    )
                    _sub(txs, t, subs, balances, counters, SUB_INTERNAL, ETH, mixer, relayer, fee)
            elif r < params[P_BRIDGE]:
                u = pick(spend_cdf)
                if u >= n_users:
                    continue
                sender = user_account[u]
                value = _amount(params, balances[sender, ETH], 0.9)
                if value > ETHER // 100 and counters[C_CROSS] < len(crossings):
                    t = _open(
                        txs,
                        subs,
                        accounts,
                        balances,
                        counters,
                        params,
                        block,
                        index,
                        sender,
                        bridge,
                        value,
                        CALL_BRIDGE_IN,
                    )
                    if t >= 0 and txs[t].status == 1:
                        c = crossings[counters[C_CROSS]]
                        counters[C_CROSS] += 1
                        c.user = u
                        c.amount = value
                        c.block = block
                        c.deposit = txs[t].number
                        c.deposited = value
            if t >= 0:
                index += 1
        counters[C_DEBT] += counters[C_TRANSFERS] - produced_before - block_budgets[b]
    return len(block_numbers)


def default_params() -> np.ndarray:
    params = np.zeros(N_PARAMS)
    shares = [0.30, 0.20, 0.14, 0.09, 0.12, 0.09, 0.02, 0.02, 0.01]
    params[P_NATIVE : P_BRIDGE + 1] = np.cumsum(shares)
    params[P_FAIL] = 0.015
    params[P_GAS_MU] = np.log(3_000.0)  # 3 gwei, in 10^6 wei per gas
    params[P_GAS_SIGMA] = 0.6
    params[P_AMOUNT_MU] = np.log(0.12)
    params[P_AMOUNT_SIGMA] = 1.0
    params[P_USD_PER_ETH] = 3_000.0
    return params


def new_ethereum_state(
    rng: np.random.Generator,
    *,
    users: int,
    exchanges: int,
    relayers: int,
    account_capacity: int,
    exchange_weights: np.ndarray,
    user_activity: np.ndarray,
    user_popularity: np.ndarray,
    params: np.ndarray,
) -> EthereumState:
    """Accounts and balances as the window opens.

    Account ids: users first (user ``u`` is account ``u``), then exchange hot wallets, the two
    tokens, the DEX, the bridge and its operator, the OTC desk, the four mixer pools and the
    relayers. Later accounts (deposit accounts, fresh mixer recipients, the heist's) are
    appended as they appear.
    """
    accounts = np.zeros(account_capacity, ACCOUNT)
    balances = np.zeros((account_capacity, 3), np.int64)
    counters = np.zeros(N_COUNTERS, np.int64)
    accounts["owner"] = -1
    accounts["service"] = -1

    def add(kind: int, service: int = -1, owner: int = -1) -> int:
        return int(_new_account(accounts, counters, kind, service, owner))

    user_ids = np.arange(users, dtype=np.int64)  # user u's main account is account u
    accounts["kind"][:users] = USER
    accounts["owner"][:users] = user_ids
    counters[C_ACCOUNT] = users
    hot = np.array([add(EXCHANGE_HOT, e) for e in range(exchanges)], np.int64)
    contracts = np.array(
        [add(TOKEN), add(TOKEN), add(DEX), add(BRIDGE), add(BRIDGE_OPERATOR), add(OTC)]
        + [add(MIXER, pool) for pool in range(len(MIXER_DENOMINATIONS))],
        np.int64,
    )
    relayer_ids = np.array([add(RELAYER) for _ in range(relayers)], np.int64)
    builders = np.array([add(BUILDER, k) for k in range(5)], np.int64)
    heavy = (1.0 - rng.random(users)) ** (-1 / 1.1)
    balances[user_ids, ETH] = np.minimum(heavy * ETHER // 20, 5_000 * ETHER).astype(np.int64)
    balances[user_ids, USD] = np.minimum(
        (1.0 - rng.random(users)) ** (-1 / 1.2) * 200_000_000, 10**13
    ).astype(np.int64)
    balances[user_ids, LST] = np.where(rng.random(users) < 0.2, balances[user_ids, ETH], 0)
    balances[hot, ETH] = 50_000 * ETHER
    balances[hot, USD] = 100_000_000 * 10**6
    balances[hot, LST] = 5_000 * ETHER
    balances[contracts[K_DEX]] = (500_000 * ETHER, 2_000_000_000 * 10**6, 300_000 * ETHER)
    balances[contracts[K_BRIDGE], ETH] = 100_000 * ETHER
    balances[contracts[K_OPERATOR], ETH] = 500 * ETHER
    balances[contracts[K_OTC]] = (20_000 * ETHER, 200_000_000 * 10**6, 0)
    balances[relayer_ids, ETH] = 200 * ETHER
    return EthereumState(
        accounts=accounts,
        balances=balances,
        user_account=user_ids,
        deposit_account=np.full((users, exchanges), -1, np.int64),
        sweep_queue=np.zeros(1 << 16, np.int64),
        sweep_since=np.zeros(1 << 16, np.int64),
        notes=np.zeros((len(MIXER_DENOMINATIONS), 1 << 14), NOTE),
        spend_cdf=np.cumsum(user_activity),
        receive_cdf=np.cumsum(user_popularity),
        exchange_cdf=np.cumsum(exchange_weights),
        exchange_hot=hot,
        contracts=contracts,
        relayers=relayer_ids,
        builders=builders,
        params=params,
        counters=counters,
    )


def new_account(state: EthereumState, kind: int, service: int = -1, owner: int = -1) -> int:
    """Add an account (the heist agent's, say) between chunks."""
    _grow(state, 1)
    return int(_new_account(state.accounts, state.counters, kind, service, owner))


def _grow(state: EthereumState, room: int) -> None:
    used = int(state.counters[C_ACCOUNT])
    if used + room <= len(state.accounts):
        return
    size = max(2 * len(state.accounts), used + room)
    accounts = np.zeros(size, ACCOUNT)
    accounts[:used] = state.accounts[:used]
    balances = np.zeros((size, 3), np.int64)
    balances[:used] = state.balances[:used]
    state.accounts, state.balances = accounts, balances


def empty_injections() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, TX), np.zeros(0, SUB)


@dataclass
class EthereumBuffers:
    txs: np.ndarray
    subs: np.ndarray
    crossings: np.ndarray

    @classmethod
    def allocate(cls, capacity: int) -> EthereumBuffers:
        return cls(
            np.zeros(capacity, TX),
            np.zeros(capacity, SUB),
            np.zeros(max(64, capacity // 64), CROSSING),
        )


def simulate(
    state: EthereumState,
    buffers: EthereumBuffers,
    block_numbers: np.ndarray,
    block_budgets: np.ndarray,
    injections: tuple[np.ndarray, np.ndarray],
    releases: np.ndarray,
) -> int:
    """Append ``block_numbers`` to the buffers; return how many blocks fit (see bitcoin's)."""
    room = int(block_budgets.max(initial=0)) * 2 + 4_096
    if len(buffers.txs) < 2 * room:
        raise ValueError("buffers too small for the largest block; allocate more")
    _grow(state, len(buffers.txs))  # a transaction opens at most one account
    inj_txs, inj_subs = injections
    return int(
        run_blocks(
            state.accounts,
            state.balances,
            state.user_account,
            state.deposit_account,
            state.sweep_queue,
            state.sweep_since,
            state.notes,
            state.spend_cdf,
            state.receive_cdf,
            state.exchange_cdf,
            state.exchange_hot,
            state.contracts,
            state.relayers,
            state.params,
            state.counters,
            block_numbers,
            block_budgets,
            inj_txs,
            inj_subs,
            releases,
            buffers.txs,
            buffers.subs,
            buffers.crossings,
            room,
        )
    )


def take(state: EthereumState, buffers: EthereumBuffers) -> EthereumChunk:
    c = state.counters
    chunk = EthereumChunk(
        txs=buffers.txs[: c[C_TX]],
        subs=buffers.subs[: c[C_SUB]],
        crossings=buffers.crossings[: c[C_CROSS]],
    )
    c[[C_TX, C_SUB, C_CROSS]] = 0
    return chunk


def buffered(state: EthereumState) -> int:
    return int(state.counters[C_TX] + state.counters[C_SUB])

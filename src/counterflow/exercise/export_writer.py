"""Write simulated chains as blockchain-etl exports: Bitcoin JSON lines and Ethereum CSV.

The output is what bitcoin-etl and ethereum-etl write (field names, value encodings, the
enriched BigQuery shape of transactions with their receipt and input fields), so a scenario
goes through exactly the ingest path a real export does. Fields no Counterflow job reads and
that are bulky to fake (script assembly, logs blooms, state roots) are left out; every field
that carries value, identity, order or time is written.

Text is assembled by compiled code straight into byte buffers: at tens of millions of
transfers, formatting is most of the work.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from counterflow.exercise import bitcoin_economy as btc
from counterflow.exercise import ethereum_economy as eth
from counterflow.exercise.identifiers import (
    MAX_BITCOIN_ADDRESS,
    SCRATCH,
    SCRIPT_TYPES,
    write_bitcoin_address,
    write_identifier_hex,
    write_script_hex,
)

#: One row of a structured array, as compiled code sees it.
Record = Any


class TextArena:
    """A byte buffer reused across writes, so each chunk does not fault in fresh pages."""

    def __init__(self) -> None:
        self._buf = np.empty(0, np.uint8)

    def get(self, size: int) -> np.ndarray:
        if len(self._buf) < size:
            self._buf = np.empty(int(size * 1.25) + 4096, np.uint8)
        return self._buf


BITCOIN_BLOCK_ZEROS = 19  # leading zero hex digits of a simulated Bitcoin block hash

ETHEREUM_TRANSACTION_COLUMNS = (
    "hash,nonce,transaction_index,from_address,to_address,value,gas,gas_price,input,"
    "receipt_cumulative_gas_used,receipt_gas_used,receipt_contract_address,receipt_status,"
    "block_timestamp,block_number,block_hash,max_fee_per_gas,max_priority_fee_per_gas,"
    "transaction_type,receipt_effective_gas_price"
)
ETHEREUM_BLOCK_COLUMNS = (
    "number,hash,parent_hash,miner,size,gas_limit,gas_used,timestamp,transaction_count,"
    "base_fee_per_gas"
)
ETHEREUM_TOKEN_TRANSFER_COLUMNS = (
    "token_address,from_address,to_address,value,transaction_hash,log_index,block_timestamp,"
    "block_number,block_hash"
)
ETHEREUM_TRACE_COLUMNS = (
    "block_number,transaction_hash,transaction_index,from_address,to_address,value,input,"
    "trace_type,call_type,gas,gas_used,subtraces,trace_address,error,status,block_timestamp,"
    "block_hash,trace_id"
)
BITCOIN_BLOCK_LINE = 420
BITCOIN_TX_LINE = 420
BITCOIN_INPUT = 250
BITCOIN_OUTPUT = 260
ETHEREUM_TX_LINE = 520
ETHEREUM_SUB_LINE = 460
ETHEREUM_BLOCK_LINE = 420

_TYPE_NAMES = np.frombuffer(
    b"".join(name.encode().ljust(24, b" ") for name in SCRIPT_TYPES), np.uint8
).reshape(len(SCRIPT_TYPES), 24)
_TYPE_LENGTHS = np.array([len(name) for name in SCRIPT_TYPES], np.int64)
_SELECTORS = np.frombuffer(
    b"".join(s.encode().ljust(10, b" ") for s in eth.SELECTORS), np.uint8
).reshape(len(eth.SELECTORS), 10)
_SELECTOR_LENGTHS = np.array([len(s) for s in eth.SELECTORS], np.int64)


_POW10 = np.array([10**k for k in range(19)], np.int64)
_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).copy()
# Literal text, as bytes the compiled writers copy.
_TRUE = np.frombuffer(b"true", np.uint8).copy()
_FALSE = np.frombuffer(b"false", np.uint8).copy()
_T0 = np.frombuffer(b'{"hash": "', np.uint8).copy()
_T1 = np.frombuffer(b'", "size": ', np.uint8).copy()
_T2 = np.frombuffer(b', "virtual_size": ', np.uint8).copy()
_T3 = np.frombuffer(b', "version": 2, "lock_time": 0, "block_number": ', np.uint8).copy()
_T4 = np.frombuffer(b', "block_hash": "', np.uint8).copy()
_T5 = np.frombuffer(b'", "block_timestamp": ', np.uint8).copy()
_T6 = np.frombuffer(b', "is_coinbase": ', np.uint8).copy()
_T7 = np.frombuffer(b', "index": ', np.uint8).copy()
_T8 = np.frombuffer(b', "inputs": [', np.uint8).copy()
_T9 = np.frombuffer(b", ", np.uint8).copy()
_T10 = np.frombuffer(b'{"index": ', np.uint8).copy()
_T11 = np.frombuffer(b', "spent_transaction_hash": "', np.uint8).copy()
_T12 = np.frombuffer(b'", "spent_output_index": ', np.uint8).copy()
_T13 = np.frombuffer(b', "sequence": 4294967293, "type": "', np.uint8).copy()
_T14 = np.frombuffer(b'", "addresses": ["', np.uint8).copy()
_T15 = np.frombuffer(b'"], "value": ', np.uint8).copy()
_T16 = np.frombuffer(b"}", np.uint8).copy()
_T17 = np.frombuffer(b'], "outputs": [', np.uint8).copy()
_T18 = np.frombuffer(b', "script_hex": "', np.uint8).copy()
_T19 = np.frombuffer(b'", "required_signatures": 1, "type": "', np.uint8).copy()
_T20 = np.frombuffer(b'], "input_count": ', np.uint8).copy()
_T21 = np.frombuffer(b', "output_count": ', np.uint8).copy()
_T22 = np.frombuffer(b', "input_value": ', np.uint8).copy()
_T23 = np.frombuffer(b', "output_value": ', np.uint8).copy()
_T24 = np.frombuffer(b', "fee": ', np.uint8).copy()
_T25 = np.frombuffer(b"}\n", np.uint8).copy()
_T26 = np.frombuffer(b'", "number": ', np.uint8).copy()
_T27 = np.frombuffer(b', "version": 536870912, "timestamp": ', np.uint8).copy()
_T28 = np.frombuffer(b', "previous_block_hash": "', np.uint8).copy()
_T29 = np.frombuffer(b'", "bits": "17034219", "transaction_count": ', np.uint8).copy()
_T30 = np.frombuffer(b"0x", np.uint8).copy()
_T31 = np.frombuffer(b",", np.uint8).copy()
_T32 = np.frombuffer(b",,", np.uint8).copy()
_T33 = np.frombuffer(b",2,", np.uint8).copy()
_T34 = np.frombuffer(b"\n", np.uint8).copy()
_T35 = np.frombuffer(b",call,call,", np.uint8).copy()
_T36 = np.frombuffer(b",call_", np.uint8).copy()
_T37 = np.frombuffer(b"_", np.uint8).copy()
_T38 = np.frombuffer(b",60000000,", np.uint8).copy()


@njit(cache=True, inline="always")
def _put(buf: np.ndarray, pos: int, text: np.ndarray) -> int:
    for k in range(len(text)):
        buf[pos + k] = text[k]
    return pos + len(text)


@njit(cache=True)
def _int(buf: np.ndarray, pos: int, value: int) -> int:
    """Decimal text of ``value``, written in place, two digits per division."""
    if value < 0:
        buf[pos] = 45  # "-"
        pos += 1
        value = -value
    digits = 1
    while digits < 19 and value >= _POW10[digits]:
        digits += 1
    k = pos + digits
    while value >= 100:
        rest = value // 100
        pair = 2 * (value - rest * 100)
        buf[k - 1] = _PAIRS[pair + 1]
        buf[k - 2] = _PAIRS[pair]
        k -= 2
        value = rest
    if value >= 10:
        buf[k - 1] = _PAIRS[2 * value + 1]
        buf[k - 2] = _PAIRS[2 * value]
    else:
        buf[k - 1] = 48 + value
    return pos + digits


@njit(cache=True)
def _scaled(buf: np.ndarray, pos: int, value: int, zeros: int) -> int:
    """``value * 10**zeros`` as text, exactly (the held unit back to the base unit)."""
    pos = _int(buf, pos, value)
    if value != 0:
        for _ in range(zeros):
            buf[pos] = 48
            pos += 1
    return pos


@njit(cache=True)
def _block_hash(buf: np.ndarray, pos: int, key: int, number: int) -> int:
    """A Bitcoin-looking block hash: leading zeros, then the identifier's hex, cut to 64."""
    for _ in range(BITCOIN_BLOCK_ZEROS):
        buf[pos] = 48
        pos += 1
    # The identifier's last digits spill past the hash and are overwritten by what follows
    # (every buffer is sized with room to spare).
    write_identifier_hex(buf, pos, key, number, 32)
    return pos + 64 - BITCOIN_BLOCK_ZEROS


@njit(cache=True, nogil=True)
def _write_bitcoin(
    txs: np.ndarray,
    inputs: np.ndarray,
    outputs: np.ndarray,
    first_block: int,
    block_times: np.ndarray,
    tx_key: int,
    block_key: int,
    address_key: int,
    buf: np.ndarray,
) -> int:
    pos = 0
    scratch = np.empty(SCRATCH, np.uint8)
    for t in range(len(txs)):
        x = txs[t]
        n_in = x.in_n
        n_out = x.out_n
        in_value = np.int64(0)
        for k in range(n_in):
            in_value += inputs[x.in_start + k].value
        out_value = np.int64(0)
        for k in range(n_out):
            out_value += outputs[x.out_start + k].value
        vsize = 11 + 68 * n_in + 31 * n_out
        pos = _put(buf, pos, _T0)
        pos = write_identifier_hex(buf, pos, tx_key, x.number, 32)
        pos = _put(buf, pos, _T1)
        pos = _int(buf, pos, vsize + 27 * n_in)
        pos = _put(buf, pos, _T2)
        pos = _int(buf, pos, vsize)
        pos = _put(buf, pos, _T3)
        pos = _int(buf, pos, x.block)
        pos = _put(buf, pos, _T4)
        pos = _block_hash(buf, pos, block_key, x.block)
        pos = _put(buf, pos, _T5)
        pos = _int(buf, pos, block_times[x.block - first_block])
        pos = _put(buf, pos, _T6)
        pos = _put(buf, pos, _TRUE if x.coinbase else _FALSE)
        pos = _put(buf, pos, _T7)
        pos = _int(buf, pos, x.index)
        pos = _put(buf, pos, _T8)
        for k in range(n_in):
            i = inputs[x.in_start + k]
            if k:
                pos = _put(buf, pos, _T9)
            pos = _put(buf, pos, _T10)
            pos = _int(buf, pos, k)
            pos = _put(buf, pos, _T11)
            pos = write_identifier_hex(buf, pos, tx_key, i.tx, 32)
            pos = _put(buf, pos, _T12)
            pos = _int(buf, pos, i.vout)
            pos = _put(buf, pos, _T13)
            for c in range(_TYPE_LENGTHS[i.kind]):
                buf[pos] = _TYPE_NAMES[i.kind, c]
                pos += 1
            pos = _put(buf, pos, _T14)
            pos = write_bitcoin_address(buf, pos, address_key, i.address, i.kind, scratch)
            pos = _put(buf, pos, _T15)
            pos = _int(buf, pos, i.value)
            pos = _put(buf, pos, _T16)
        pos = _put(buf, pos, _T17)
        for k in range(n_out):
            o = outputs[x.out_start + k]
            if k:
                pos = _put(buf, pos, _T9)
            pos = _put(buf, pos, _T10)
            pos = _int(buf, pos, k)
            pos = _put(buf, pos, _T18)
            pos = write_script_hex(buf, pos, address_key, o.address, o.kind)
            pos = _put(buf, pos, _T19)
            for c in range(_TYPE_LENGTHS[o.kind]):
                buf[pos] = _TYPE_NAMES[o.kind, c]
                pos += 1
            pos = _put(buf, pos, _T14)
            pos = write_bitcoin_address(buf, pos, address_key, o.address, o.kind, scratch)
            pos = _put(buf, pos, _T15)
            pos = _int(buf, pos, o.value)
            pos = _put(buf, pos, _T16)
        pos = _put(buf, pos, _T20)
        pos = _int(buf, pos, n_in)
        pos = _put(buf, pos, _T21)
        pos = _int(buf, pos, n_out)
        pos = _put(buf, pos, _T22)
        pos = _int(buf, pos, in_value)
        pos = _put(buf, pos, _T23)
        pos = _int(buf, pos, out_value)
        pos = _put(buf, pos, _T24)
        pos = _int(buf, pos, 0 if x.coinbase else x.fee)
        pos = _put(buf, pos, _T25)
    return pos


@njit(cache=True, nogil=True)
def _write_bitcoin_blocks(
    numbers: np.ndarray,
    times: np.ndarray,
    tx_counts: np.ndarray,
    block_key: int,
    buf: np.ndarray,
) -> int:
    pos = 0
    for b in range(len(numbers)):
        pos = _put(buf, pos, _T0)
        pos = _block_hash(buf, pos, block_key, numbers[b])
        pos = _put(buf, pos, _T26)
        pos = _int(buf, pos, numbers[b])
        pos = _put(buf, pos, _T27)
        pos = _int(buf, pos, times[b])
        pos = _put(buf, pos, _T28)
        pos = _block_hash(buf, pos, block_key, numbers[b] - 1)
        pos = _put(buf, pos, _T29)
        pos = _int(buf, pos, tx_counts[b])
        pos = _put(buf, pos, _T25)
    return pos


def bitcoin_transactions_text(
    chunk: btc.BitcoinChunk,
    first_block: int,
    block_times: np.ndarray,
    keys: tuple[int, int, int],
    arena: TextArena | None = None,
) -> memoryview:
    """JSON lines of ``chunk``'s transactions; ``keys`` are (tx, block, address) keys.

    The text lives in ``arena`` (reused between calls) until the next call with it.
    """
    tx_key, block_key, address_key = keys
    size = (
        len(chunk.txs) * BITCOIN_TX_LINE
        + len(chunk.inputs) * BITCOIN_INPUT
        + len(chunk.outputs) * BITCOIN_OUTPUT
    )
    buf = (arena or TextArena()).get(size)
    end = _write_bitcoin(
        chunk.txs,
        chunk.inputs,
        chunk.outputs,
        first_block,
        block_times,
        np.uint64(tx_key),
        np.uint64(block_key),
        np.uint64(address_key),
        buf,
    )
    return memoryview(buf[:end])


def bitcoin_blocks_text(
    numbers: np.ndarray, times: np.ndarray, tx_counts: np.ndarray, block_key: int
) -> bytes:
    buf = np.empty(len(numbers) * BITCOIN_BLOCK_LINE, np.uint8)
    end = _write_bitcoin_blocks(numbers, times, tx_counts, np.uint64(block_key), buf)
    return buf[:end].tobytes()


@njit(cache=True)
def _eth_address(buf: np.ndarray, pos: int, key: int, account: int) -> int:
    pos = _put(buf, pos, _T30)
    return write_identifier_hex(buf, pos, key, account, 20)


@njit(cache=True, nogil=True)
def _write_ethereum(
    txs: np.ndarray,
    subs: np.ndarray,
    first_block: int,
    block_times: np.ndarray,
    contracts: np.ndarray,
    tx_key: int,
    block_key: int,
    address_key: int,
    tx_buf: np.ndarray,
    token_buf: np.ndarray,
    trace_buf: np.ndarray,
    positions: np.ndarray,
) -> None:
    """Write transactions, token transfers and traces; ``positions`` returns the three ends."""
    tp = 0
    kp = 0
    rp = 0
    cumulative = np.int64(0)
    log_index = 0
    last_block = -1
    for t in range(len(txs)):
        x = txs[t]
        if x.block != last_block:
            cumulative = 0
            log_index = 0
            last_block = x.block
        cumulative += x.gas_used
        ts = block_times[x.block - first_block]
        tp = write_identifier_hex_0x(tx_buf, tp, tx_key, x.number)
        tp = _put(tx_buf, tp, _T31)
        tp = _int(tx_buf, tp, x.nonce)
        tp = _put(tx_buf, tp, _T31)
        tp = _int(tx_buf, tp, x.index)
        tp = _put(tx_buf, tp, _T31)
        tp = _eth_address(tx_buf, tp, address_key, x.sender)
        tp = _put(tx_buf, tp, _T31)
        tp = _eth_address(tx_buf, tp, address_key, x.to)
        tp = _put(tx_buf, tp, _T31)
        tp = _scaled(tx_buf, tp, x.value, 6)
        tp = _put(tx_buf, tp, _T31)
        tp = _int(tx_buf, tp, x.gas_limit)
        tp = _put(tx_buf, tp, _T31)
        tp = _scaled(tx_buf, tp, x.price, 6)
        tp = _put(tx_buf, tp, _T31)
        for c in range(_SELECTOR_LENGTHS[x.call]):
            tx_buf[tp] = _SELECTORS[x.call, c]
            tp += 1
        tp = _put(tx_buf, tp, _T31)
        tp = _int(tx_buf, tp, cumulative)
        tp = _put(tx_buf, tp, _T31)
        tp = _int(tx_buf, tp, x.gas_used)
        tp = _put(tx_buf, tp, _T32)
        tp = _int(tx_buf, tp, x.status)
        tp = _put(tx_buf, tp, _T31)
        tp = _int(tx_buf, tp, ts)
        tp = _put(tx_buf, tp, _T31)
        tp = _int(tx_buf, tp, x.block)
        tp = _put(tx_buf, tp, _T31)
        tp = write_identifier_hex_0x(tx_buf, tp, block_key, x.block)
        tp = _put(tx_buf, tp, _T31)
        tp = _scaled(tx_buf, tp, 2 * x.price, 6)
        tp = _put(tx_buf, tp, _T31)
        tp = _scaled(tx_buf, tp, max(1, x.price // 10), 6)
        tp = _put(tx_buf, tp, _T33)
        tp = _scaled(tx_buf, tp, x.price, 6)
        tp = _put(tx_buf, tp, _T34)
        internal = 0
        for k in range(x.sub_n):
            if subs[x.sub_start + k].kind == eth.SUB_INTERNAL:
                internal += 1
        if internal:
            rp = _trace(
                trace_buf,
                rp,
                x,
                -1,
                x.sender,
                x.to,
                x.value,
                internal,
                ts,
                tx_key,
                block_key,
                address_key,
            )
        child = 0
        for k in range(x.sub_n):
            s = subs[x.sub_start + k]
            if s.kind == eth.SUB_TOKEN:
                kp = _eth_address(
                    token_buf, kp, address_key, contracts[eth.K_USD + s.asset - eth.USD]
                )
                kp = _put(token_buf, kp, _T31)
                kp = _eth_address(token_buf, kp, address_key, s.source)
                kp = _put(token_buf, kp, _T31)
                kp = _eth_address(token_buf, kp, address_key, s.target)
                kp = _put(token_buf, kp, _T31)
                kp = _scaled(token_buf, kp, s.amount, 6 if s.asset == eth.LST else 0)
                kp = _put(token_buf, kp, _T31)
                kp = write_identifier_hex_0x(token_buf, kp, tx_key, x.number)
                kp = _put(token_buf, kp, _T31)
                kp = _int(token_buf, kp, log_index)
                log_index += 1
                kp = _put(token_buf, kp, _T31)
                kp = _int(token_buf, kp, ts)
                kp = _put(token_buf, kp, _T31)
                kp = _int(token_buf, kp, x.block)
                kp = _put(token_buf, kp, _T31)
                kp = write_identifier_hex_0x(token_buf, kp, block_key, x.block)
                kp = _put(token_buf, kp, _T34)
            else:
                rp = _trace(
                    trace_buf,
                    rp,
                    x,
                    child,
                    s.source,
                    s.target,
                    s.amount,
                    0,
                    ts,
                    tx_key,
                    block_key,
                    address_key,
                )
                child += 1
    positions[0] = tp
    positions[1] = kp
    positions[2] = rp


@njit(cache=True)
def write_identifier_hex_0x(buf: np.ndarray, pos: int, key: int, number: int) -> int:
    pos = _put(buf, pos, _T30)
    return write_identifier_hex(buf, pos, key, number, 32)


@njit(cache=True)
def _trace(
    buf: np.ndarray,
    pos: int,
    x: Record,
    child: int,
    source: int,
    target: int,
    value: int,
    subtraces: int,
    ts: int,
    tx_key: int,
    block_key: int,
    address_key: int,
) -> int:
    pos = _int(buf, pos, x.block)
    pos = _put(buf, pos, _T31)
    pos = write_identifier_hex_0x(buf, pos, tx_key, x.number)
    pos = _put(buf, pos, _T31)
    pos = _int(buf, pos, x.index)
    pos = _put(buf, pos, _T31)
    pos = _eth_address(buf, pos, address_key, source)
    pos = _put(buf, pos, _T31)
    pos = _eth_address(buf, pos, address_key, target)
    pos = _put(buf, pos, _T31)
    pos = _scaled(buf, pos, value, 6)
    pos = _put(buf, pos, _T31)
    if child < 0:
        for c in range(_SELECTOR_LENGTHS[x.call]):
            buf[pos] = _SELECTORS[x.call, c]
            pos += 1
    else:
        pos = _put(buf, pos, _T30)
    pos = _put(buf, pos, _T35)
    pos = _int(buf, pos, x.gas_limit if child < 0 else 2300)
    pos = _put(buf, pos, _T31)
    pos = _int(buf, pos, x.gas_used if child < 0 else 0)
    pos = _put(buf, pos, _T31)
    pos = _int(buf, pos, subtraces)
    pos = _put(buf, pos, _T31)
    if child >= 0:
        pos = _int(buf, pos, child)
    pos = _put(buf, pos, _T32)
    pos = _int(buf, pos, x.status)
    pos = _put(buf, pos, _T31)
    pos = _int(buf, pos, ts)
    pos = _put(buf, pos, _T31)
    pos = write_identifier_hex_0x(buf, pos, block_key, x.block)
    pos = _put(buf, pos, _T36)
    pos = write_identifier_hex_0x(buf, pos, tx_key, x.number)
    if child >= 0:
        pos = _put(buf, pos, _T37)
        pos = _int(buf, pos, child)
    pos = _put(buf, pos, _T34)
    return pos


def ethereum_text(
    chunk: eth.EthereumChunk,
    first_block: int,
    block_times: np.ndarray,
    contracts: np.ndarray,
    keys: tuple[int, int, int],
    arenas: tuple[TextArena, TextArena, TextArena] | None = None,
) -> tuple[memoryview, memoryview, memoryview]:
    """CSV rows (no header) of transactions, token transfers and traces of ``chunk``."""
    tx_key, block_key, address_key = keys
    tx_arena, token_arena, trace_arena = arenas or (TextArena(), TextArena(), TextArena())
    tx_buf = tx_arena.get(len(chunk.txs) * ETHEREUM_TX_LINE)
    token_buf = token_arena.get(len(chunk.subs) * ETHEREUM_SUB_LINE)
    trace_buf = trace_arena.get((len(chunk.subs) + len(chunk.txs)) * ETHEREUM_SUB_LINE)
    positions = np.zeros(3, np.int64)
    _write_ethereum(
        chunk.txs,
        chunk.subs,
        first_block,
        block_times,
        contracts,
        np.uint64(tx_key),
        np.uint64(block_key),
        np.uint64(address_key),
        tx_buf,
        token_buf,
        trace_buf,
        positions,
    )
    return (
        memoryview(tx_buf[: positions[0]]),
        memoryview(token_buf[: positions[1]]),
        memoryview(trace_buf[: positions[2]]),
    )


@njit(cache=True, nogil=True)
def _write_ethereum_blocks(
    numbers: np.ndarray,
    times: np.ndarray,
    tx_counts: np.ndarray,
    gas_used: np.ndarray,
    base_fees: np.ndarray,
    miners: np.ndarray,
    block_key: int,
    address_key: int,
    buf: np.ndarray,
) -> int:
    pos = 0
    for b in range(len(numbers)):
        pos = _int(buf, pos, numbers[b])
        pos = _put(buf, pos, _T31)
        pos = write_identifier_hex_0x(buf, pos, block_key, numbers[b])
        pos = _put(buf, pos, _T31)
        pos = write_identifier_hex_0x(buf, pos, block_key, numbers[b] - 1)
        pos = _put(buf, pos, _T31)
        pos = _eth_address(buf, pos, address_key, miners[b])
        pos = _put(buf, pos, _T31)
        pos = _int(buf, pos, 600 + 110 * tx_counts[b])
        pos = _put(buf, pos, _T38)
        pos = _int(buf, pos, gas_used[b])
        pos = _put(buf, pos, _T31)
        pos = _int(buf, pos, times[b])
        pos = _put(buf, pos, _T31)
        pos = _int(buf, pos, tx_counts[b])
        pos = _put(buf, pos, _T31)
        pos = _scaled(buf, pos, base_fees[b], 6)
        pos = _put(buf, pos, _T34)
    return pos


def ethereum_blocks_text(
    numbers: np.ndarray,
    times: np.ndarray,
    tx_counts: np.ndarray,
    gas_used: np.ndarray,
    base_fees: np.ndarray,
    miners: np.ndarray,
    keys: tuple[int, int],
) -> bytes:
    block_key, address_key = keys
    buf = np.empty(len(numbers) * ETHEREUM_BLOCK_LINE, np.uint8)
    end = _write_ethereum_blocks(
        numbers,
        times,
        tx_counts,
        gas_used,
        base_fees,
        miners,
        np.uint64(block_key),
        np.uint64(address_key),
        buf,
    )
    return buf[:end].tobytes()


@njit(cache=True, nogil=True)
def _bitcoin_address_column(
    key: int,
    kinds: np.ndarray,
    buf: np.ndarray,
    offsets: np.ndarray,
) -> None:
    pos = 0
    scratch = np.empty(SCRATCH, np.uint8)
    for a in range(len(kinds)):
        offsets[a] = pos
        pos = write_bitcoin_address(buf, pos, key, a, kinds[a], scratch)
    offsets[len(kinds)] = pos


@njit(cache=True, nogil=True)
def _ethereum_address_column(key: int, count: int, buf: np.ndarray, offsets: np.ndarray) -> None:
    pos = 0
    for a in range(count):
        offsets[a] = pos
        pos = _eth_address(buf, pos, key, a)
    offsets[count] = pos


def bitcoin_address_column(address_key: int, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Text of addresses 0..len(kinds)-1 as (UTF-8 bytes, int32 offsets), Arrow's layout."""
    buf = np.empty(len(kinds) * MAX_BITCOIN_ADDRESS, np.uint8)
    offsets = np.zeros(len(kinds) + 1, np.int64)
    _bitcoin_address_column(np.uint64(address_key), kinds, buf, offsets)
    return buf[: offsets[-1]], offsets.astype(np.int32)


def ethereum_address_column(address_key: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    buf = np.empty(count * 42, np.uint8)
    offsets = np.zeros(count + 1, np.int64)
    _ethereum_address_column(np.uint64(address_key), count, buf, offsets)
    return buf, offsets.astype(np.int32)

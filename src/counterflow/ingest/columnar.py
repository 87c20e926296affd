"""The columnar ingest path: account exports to store rows with Arrow buffers and numpy.

The SQL path (:mod:`.account`, :mod:`.pipeline`) spends most of its time on text: regular
expressions over every field, and joins and aggregations keyed by 42-character addresses and
66-character hashes. This path computes the same rows from the same relations, for the exports
it handles, with compiled kernels (:mod:`.columnar_kernels`):

- each field is checked on the bytes of the Arrow column, exactly as the SQL check would, and
  addresses and hashes are parsed into fixed-width integer keys on the way;
- keys are dictionary-encoded with a hash table, so "is this address new", "its first block"
  and "its id" are array operations over dense codes;
- ids are assigned in the SQL path's order (addresses by first block then address, transactions
  by block, position then hash, assets by first block then contract), which is the order of the
  lowercase texts since keys compare as the texts do.

Anything the kernels cannot prove to be stored exactly as the SQL path stores it raises
:class:`Handover`, before anything is written, and the run goes to the SQL path, which then
reports or quarantines rows as it always does.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from counterflow.ingest import columnar_kernels as k
from counterflow.ingest.exports import (
    COLUMNAR_TOKEN_TRANSFER_COLUMNS,
    COLUMNAR_TRANSACTION_COLUMNS,
)
from counterflow.store.schema import BLOCK_LEVEL_TX_INDEX, TOKEN_SEQ_BASE, TransferKind

_NO_CODE = -1
_BIG = np.iinfo(np.int64).max


class Handover(Exception):  # noqa: N818 - a decision, not an error: the SQL path takes over
    """The columnar path cannot prove it stores what the SQL path would; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Column = tuple[np.ndarray, bool, np.ndarray, np.ndarray, int]


def _column(array: pa.Array) -> Column:
    """The buffers of a string column chunk, as the kernels take them.

    Every array is made read-only: the kernels are compiled once per combination of argument
    types, and a writable buffer here and a read-only one there would compile them anew.
    """
    if array.type != pa.string():
        array = array.cast(pa.string())
    validity, offsets, data = array.buffers()
    return (
        _readonly(validity, np.uint8),
        validity is not None,
        _readonly(offsets, np.int32)[array.offset : array.offset + len(array) + 1],
        _readonly(data, np.uint8),
        array.offset,
    )


def _readonly(buffer: pa.Buffer | None, dtype: type[np.generic]) -> np.ndarray:
    view = np.frombuffer(buffer, dtype=dtype) if buffer is not None else np.empty(0, dtype)
    view.flags.writeable = False
    return view


#: Rows per record batch read from DuckDB: small enough that a batch's text columns are
#: reused memory by the time the next one comes, large enough to keep the kernels busy.
BATCH_ROWS = 1 << 18

_THREADS = max(1, min(4, os.cpu_count() or 1))

#: An output array's shape after the row dimension, and its type.
Layout = dict[str, tuple[tuple[int, ...], type[np.generic]]]


@dataclass
class _Scanned:
    """A scan's outputs (``rows`` rows), the wide amounts' texts and each batch's extras."""

    outputs: dict[str, np.ndarray]
    rows: int
    wide_rows: np.ndarray  # rows whose amount has over 38 digits, ascending
    wide_texts: pa.Array  # their ltrim(value, '0'), in the same order
    extras: list[pa.Table]


def _stream(
    what: str,
    batches: Iterable[pa.RecordBatch],
    names: tuple[str, ...],
    kernel: Callable[..., tuple[int, int]],
    layout: Layout,
    capacity: int,
    extra: Callable[[pa.RecordBatch, dict[str, np.ndarray], int], pa.Table | None],
) -> _Scanned:
    """Run a scan kernel over record batches as they are read, spread over the cores.

    Outputs are allocated for ``capacity`` rows (pages never written cost nothing) and grow
    when more come. The kernels release the GIL and write disjoint rows, so threads suffice;
    at most a few batches are in flight, so the text columns of the ones done are freed and
    their memory reused. A failing row hands over.
    """
    outputs = {name: np.empty((capacity, *tail), dtype) for name, (tail, dtype) in layout.items()}
    base = 0
    pending: deque[Future[_BatchResult]] = deque()
    done: list[_BatchResult] = []

    def run(batch: pa.RecordBatch, start: int, arrays: dict[str, np.ndarray]) -> _BatchResult:
        cols = [_column(batch.column(name)) for name in names]
        row, code = kernel(batch.num_rows, start, *cols, *arrays.values())
        if row >= 0:
            return _BatchResult(start + row, code, _NO_ROWS, _NO_TEXTS, None)
        wide = np.flatnonzero(arrays["val_sig"][start : start + batch.num_rows] > 38)
        texts = _NO_TEXTS
        if len(wide):
            taken = batch.column("value").take(pa.array(wide, pa.int64()))
            texts = pc.utf8_ltrim(taken, characters="0")
        return _BatchResult(-1, 0, wide + start, texts, extra(batch, arrays, start))

    def settle(limit: int) -> None:
        while len(pending) > limit:
            result = pending.popleft().result()
            if result.failed_row >= 0:
                raise _fail(what, result.failed_row, result.code)
            done.append(result)

    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        try:
            for batch in batches:
                count = batch.num_rows
                if base + count > capacity:
                    settle(0)
                    capacity = max(2 * capacity, base + count)
                    outputs = {name: _grown(a, base, capacity) for name, a in outputs.items()}
                pending.append(pool.submit(run, batch, base, outputs))
                base += count
                settle(_THREADS + 1)
            settle(0)
        finally:
            for future in pending:
                future.cancel()
    return _Scanned(
        outputs={name: a[:base] for name, a in outputs.items()},
        rows=base,
        wide_rows=np.concatenate([_NO_ROWS, *(r.wide_rows for r in done)]),
        wide_texts=pa.concat_arrays([_NO_TEXTS, *(r.wide_texts for r in done)]),
        extras=[r.extra for r in done if r.extra is not None],
    )


@dataclass(frozen=True)
class _BatchResult:
    """What scanning one record batch gave: a failing row (or -1), the rows with amounts over
    38 digits and their texts, and the batch's extra table."""

    failed_row: int
    code: int
    wide_rows: np.ndarray
    wide_texts: pa.Array
    extra: pa.Table | None


_NO_ROWS = np.empty(0, np.int64)
_NO_TEXTS = pa.array([], pa.string())


def _grown(array: np.ndarray, rows: int, capacity: int) -> np.ndarray:
    bigger = np.empty((capacity, *array.shape[1:]), array.dtype)
    bigger[:rows] = array[:rows]
    return bigger


def _fail(what: str, row: int, code: int) -> Handover:
    return Handover(f"{what} row {row + 1}: {k.FAILURES.get(code, 'unsupported value')}")


_TX_LAYOUT: Layout = {
    "hash_w": ((4,), np.uint64),
    "block": ((), np.int64),
    "tx_index": ((), np.int32),
    "from_w": ((3,), np.uint64),
    "dst_w": ((3,), np.uint64),
    "has_dst": ((), np.bool_),
    "val_lo": ((), np.uint64),
    "val_hi": ((), np.uint64),
    "val_sig": ((), np.int32),
    "status": ((), np.int8),
    "gas": ((), np.int64),
    "price": ((), np.int64),
    "ts": ((), np.int64),
    "block_row": ((), np.bool_),
}
_TOKEN_LAYOUT: Layout = {
    "token_w": ((3,), np.uint64),
    "from_w": ((3,), np.uint64),
    "to_w": ((3,), np.uint64),
    "val_lo": ((), np.uint64),
    "val_hi": ((), np.uint64),
    "val_sig": ((), np.int32),
    "hash_w": ((4,), np.uint64),
    "log_index": ((), np.int64),
    "block": ((), np.int64),
    "ts": ((), np.int64),
}
_BLOCK_COLUMNS = ["block_number", "block_hash", "block_timestamp"]


@dataclass
class TransactionRows:
    """Parsed rows of the transactions export; negative numbers stand for NULL."""

    hash_w: np.ndarray
    block: np.ndarray
    tx_index: np.ndarray
    from_w: np.ndarray
    dst_w: np.ndarray
    has_dst: np.ndarray
    val_lo: np.ndarray
    val_hi: np.ndarray
    val_sig: np.ndarray
    status: np.ndarray
    gas: np.ndarray
    price: np.ndarray
    ts: np.ndarray
    block_row: np.ndarray
    wide_rows: np.ndarray  # rows whose value has over 38 digits
    wide_texts: pa.Array  # their values as stored (leading zeros trimmed)
    blocks: pa.Table  # block_number, block_hash, block_timestamp of the block_row rows

    @classmethod
    def scan(cls, batches: Iterable[pa.RecordBatch], capacity: int) -> TransactionRows:
        """Check and parse the transactions export's record batches as they are read."""

        def block_rows(
            batch: pa.RecordBatch, arrays: dict[str, np.ndarray], start: int
        ) -> pa.Table:
            keep = arrays["block_row"][start : start + batch.num_rows]
            return pa.Table.from_batches([batch.select(_BLOCK_COLUMNS)]).filter(pa.array(keep))

        scanned = _stream(
            "transactions",
            batches,
            COLUMNAR_TRANSACTION_COLUMNS,
            k.scan_transactions,
            _TX_LAYOUT,
            capacity,
            block_rows,
        )
        empty = pa.table({c: pa.array([], pa.string()) for c in _BLOCK_COLUMNS})
        return cls(
            **scanned.outputs,
            wide_rows=scanned.wide_rows,
            wide_texts=scanned.wide_texts,
            blocks=pa.concat_tables([empty, *scanned.extras]),
        )

    @classmethod
    def empty(cls) -> TransactionRows:
        return cls.scan([], 0)


@dataclass
class TokenTransferRows:
    """Parsed rows of the token_transfers export; negative numbers stand for NULL."""

    token_w: np.ndarray
    from_w: np.ndarray
    to_w: np.ndarray
    val_lo: np.ndarray
    val_hi: np.ndarray
    val_sig: np.ndarray
    hash_w: np.ndarray
    log_index: np.ndarray
    block: np.ndarray
    ts: np.ndarray
    wide_rows: np.ndarray
    wide_texts: pa.Array

    @classmethod
    def scan(cls, batches: Iterable[pa.RecordBatch], capacity: int) -> TokenTransferRows:
        """Check and parse the token_transfers export's record batches as they are read."""
        scanned = _stream(
            "token_transfers",
            batches,
            COLUMNAR_TOKEN_TRANSFER_COLUMNS,
            k.scan_token_transfers,
            _TOKEN_LAYOUT,
            capacity,
            lambda _batch, _arrays, _start: None,
        )
        return cls(**scanned.outputs, wide_rows=scanned.wide_rows, wide_texts=scanned.wide_texts)

    @classmethod
    def empty(cls) -> TokenTransferRows:
        return cls.scan([], 0)


@dataclass
class WithdrawalLegs:
    """Withdrawal legs as the SQL path's ``withdrawal_legs`` view computes them (few rows)."""

    block: np.ndarray
    ts: np.ndarray
    seq: np.ndarray
    dst_w: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def from_view(cls, table: pa.Table) -> WithdrawalLegs:
        """From (block_number, block_ts, seq, dst, amount_text, reason) rows of the view."""
        n = table.num_rows
        if n and table.column("reason").null_count != n:
            raise Handover("a withdrawal fails its check")
        dst_w = np.zeros((n, 3), np.uint64)
        ok = np.zeros(n, np.bool_)
        for start, chunk in _chunk_starts(table.column("dst")):
            col = _column(chunk)
            part_ok = np.zeros(len(chunk), np.bool_)
            part_w = np.zeros((len(chunk), 3), np.uint64)
            k.parse_canonical(col, len(chunk), 20, part_w, part_ok)
            dst_w[start : start + len(chunk)] = part_w
            ok[start : start + len(chunk)] = part_ok
        if not ok.all():
            raise Handover("a withdrawal address is not lowercase hex")
        amounts = table.column("amount_text").to_pylist()
        if any(a is None or not a.isdigit() or len(a.lstrip("0")) > 38 for a in amounts):
            raise Handover("a withdrawal amount is not a DECIMAL(38,0)")
        values = [int(a) for a in amounts]
        lo = np.array([v & (2**64 - 1) for v in values], dtype=np.uint64)
        hi = np.array([v >> 64 for v in values], dtype=np.uint64)
        block = table.column("block_number").to_numpy(zero_copy_only=False)
        ts = table.column("block_ts").fill_null(-1).to_numpy(zero_copy_only=False)
        seq = table.column("seq").to_numpy(zero_copy_only=False)
        return cls(block.astype(np.int64), ts.astype(np.int64), seq.astype(np.int32), dst_w, lo, hi)

    @classmethod
    def empty(cls) -> WithdrawalLegs:
        return cls(
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0, np.int32),
            np.zeros((0, 3), np.uint64),
            np.empty(0, np.uint64),
            np.empty(0, np.uint64),
        )


def _chunk_starts(column: pa.ChunkedArray) -> list[tuple[int, pa.Array]]:
    starts: list[tuple[int, pa.Array]] = []
    start = 0
    for chunk in column.chunks:
        starts.append((start, chunk))
        start += len(chunk)
    return starts


@dataclass
class StoreState:
    """What the batch is checked against: the committed dictionaries, coverage and times."""

    addresses: pa.Table  # address, address_id
    transactions: pa.Table  # tx_hash, tx_id, tx_index
    assets: pa.Table  # contract, asset_id
    coverage: dict[str, np.ndarray]  # source -> sorted block numbers already stored
    block_times: tuple[np.ndarray, np.ndarray]  # sorted block numbers, their times (-1: none)
    next_address: int
    next_tx: int
    next_asset: int


@dataclass
class Batch:
    """The store rows of one run and what the report and warnings need.

    The three large tables are made on demand (:meth:`transfers`, :meth:`addresses`,
    :meth:`transactions`), each once, so that a writer can make one while it writes another.
    """

    new_assets: pa.Table
    new_coverage: pa.Table
    read: int
    skipped: int
    stored: int
    new_address_count: int
    new_transaction_count: int
    lost_creations: int
    make_addresses: Callable[[], pa.Table]
    make_transactions: Callable[[], pa.Table]
    make_transfers: Callable[[], tuple[pa.Table, int, int]]
    #: Stored transfers without a time and without a position, known once they are made.
    no_time: int = 0
    unknown_order: int = 0

    def transfers(self) -> pa.Table:
        table, self.no_time, self.unknown_order = self.make_transfers()
        return table

    def addresses(self) -> pa.Table:
        return self.make_addresses()

    def transactions(self) -> pa.Table:
        return self.make_transactions()


class _Dictionary:
    """Distinct keys of one batch, coded in order of first appearance, with their store ids."""

    def __init__(self, width: int, expected: int = 0) -> None:
        size = 1024
        while 10 * expected > 7 * size:  # the table grows past 70% full
            size *= 2
        self._slots = np.zeros((size, width + 1), dtype=np.uint64)
        self._distinct = np.zeros((max(512, expected), width), dtype=np.uint64)
        self.size = 0
        self.store_id = np.empty(0, np.int64)

    def add(self, keys: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        """Codes of ``keys`` rows (-1 where ``present`` is false), adding the new ones."""
        codes, self._slots, self._distinct, self.size = k.encode(
            keys, _ALL if present is None else present, self._slots, self._distinct, self.size
        )
        return codes  # type: ignore[no-any-return]

    @property
    def keys(self) -> np.ndarray:
        return self._distinct[: self.size]

    def match_store(self, texts: pa.ChunkedArray, nbytes: int) -> np.ndarray:
        """The code of each stored text (-1 when not in this batch)."""
        found: list[np.ndarray] = [np.empty(0, np.int64)]
        for chunk in texts.chunks:
            words = np.zeros((len(chunk), self._distinct.shape[1]), np.uint64)
            ok = np.zeros(len(chunk), np.bool_)
            k.parse_canonical(_column(chunk), len(chunk), nbytes, words, ok)
            found.append(k.lookup(self._slots, words, ok))
        return np.concatenate(found)

    def adopt_store_ids(self, texts: pa.ChunkedArray, ids: pa.ChunkedArray, nbytes: int) -> None:
        """Give the keys the store holds already their stored ids; the others keep -1."""
        self.store_id = np.full(self.size, _NO_CODE, dtype=np.int64)
        codes = self.match_store(texts, nbytes)
        hit = codes >= 0
        if hit.any():
            self.store_id[codes[hit]] = ids.to_numpy()[hit]


_ALL = np.empty(0, np.bool_)


def _texts(keys: np.ndarray, nbytes: int) -> pa.Array:
    """``0x`` + lowercase hex of key rows, as an Arrow string array."""
    width = 2 + 2 * nbytes
    data = k.hex_texts(np.ascontiguousarray(keys), nbytes)
    large = len(data) >= 2**31  # past what 32-bit offsets address
    offsets = np.arange(0, (len(keys) + 1) * width, width, dtype=np.int64 if large else np.int32)
    return pa.Array.from_buffers(
        pa.large_string() if large else pa.string(),
        len(keys),
        [None, pa.py_buffer(offsets), pa.py_buffer(data)],
    )


def _order(primary: list[np.ndarray], keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` (codes) ordered by the non-negative ``primary`` keys (one value per row), then
    by their key words in ``keys`` (the text).

    The primary keys and the leading bits of the first word are packed into one integer where
    they fit, so a single sort does most of the work; rows equal on it (rare) are then put in
    full order among themselves. Only the first word is gathered for all rows.
    """
    n = len(rows)
    if n < 2:
        return rows.astype(np.int64)
    width = keys.shape[1]
    lows = [int(p.min()) for p in primary]
    bits = [max(1, int(p.max()) - low).bit_length() for p, low in zip(primary, lows, strict=True)]
    spare = 64 - sum(bits)
    if spare < 8:
        words = [keys[rows, w] for w in reversed(range(width))]
        return rows[np.lexsort([*words, *primary[::-1]])].astype(np.int64)
    packed = np.zeros(n, np.uint64)
    for p, low, size in zip(primary, lows, bits, strict=True):
        packed = (packed << np.uint64(size)) | (p - low).astype(np.uint64)
    packed = (packed << np.uint64(spare)) | (keys[rows, 0] >> np.uint64(64 - spare))
    order = np.argsort(packed)  # rows tied on the packed key are fully ordered below
    ordered = packed[order]
    same = ordered[1:] == ordered[:-1]
    if same.any():
        tied = np.zeros(n, dtype=np.bool_)
        tied[1:] |= same
        tied[:-1] |= same
        positions = np.flatnonzero(tied)
        sub = order[positions]
        words = [keys[rows[sub], w] for w in reversed(range(width))]
        order[positions] = sub[np.lexsort([*words, *(p[sub] for p in reversed(primary))])]
    return rows[order].astype(np.int64)


def _fill_times(ts: np.ndarray, block: np.ndarray, times: tuple[np.ndarray, np.ndarray]) -> None:
    """Fill missing times (negative) from the blocks export and the store, as the SQL does."""
    missing = np.flatnonzero(ts < 0)
    numbers, values = times
    if not len(missing) or not len(numbers):
        return
    wanted = block[missing]
    at = np.minimum(np.searchsorted(numbers, wanted), len(numbers) - 1)
    hit = numbers[at] == wanted
    ts[missing[hit]] = values[at[hit]]


def _new_rows(blocks: np.ndarray, stored: np.ndarray, new_blocks: np.ndarray) -> np.ndarray:
    """Which rows belong to blocks the store does not cover yet (all, for an empty store)."""
    if not len(stored):
        return np.ones(len(blocks), dtype=np.bool_)
    return np.isin(blocks, new_blocks)


def _validity(valid: np.ndarray) -> pa.Buffer | None:
    return None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))


def _column_of(values: np.ndarray, valid: np.ndarray, type_: pa.DataType) -> pa.Array:
    """An Arrow column over ``values`` (no copy) with NULL where ``valid`` is false."""
    return pa.Array.from_buffers(
        type_,
        len(values),
        [_validity(valid), pa.py_buffer(values)],
        null_count=int(len(valid) - np.count_nonzero(valid)),
    )


#: Epoch seconds DuckDB's to_timestamp() accepts with room to spare (the year 5138).
_MAX_EPOCH = 10**11


def build(
    txs: TransactionRows | None,
    tokens: TokenTransferRows | None,
    withdrawals: WithdrawalLegs,
    blocks_coverage: np.ndarray,
    store: StoreState,
    *,
    check_token_keys: bool,
) -> Batch:
    """Every store row of the batch, as the SQL path computes it from the same exports.

    ``blocks_coverage`` is the block numbers of the blocks export; ``check_token_keys`` asks
    for token transfer keys to be unique (several token files were read: the SQL path would
    drop repeats, which this path does not do, so a repeat hands over).
    """
    txs = txs or TransactionRows.empty()
    tokens = tokens or TokenTransferRows.empty()
    n_tx, n_tok, n_wd = len(txs.block), len(tokens.block), len(withdrawals.block)
    _fill_times(txs.ts, txs.block, store.block_times)
    _fill_times(tokens.ts, tokens.block, store.block_times)
    for ts in (txs.ts, tokens.ts, withdrawals.ts):
        if len(ts) and int(ts.max()) > _MAX_EPOCH:
            raise Handover("a block timestamp is out of the range of a timestamp")

    # The two dictionaries are independent: each is built on its own core.
    with ThreadPoolExecutor(max_workers=2) as pool:
        tx_side = pool.submit(_transactions_dictionary, txs, tokens, store, check_token_keys)
        address_side = pool.submit(_address_dictionaries, txs, tokens, withdrawals, store)
        tx_dict, tok_tx, position = tx_side.result()
        addresses, assets, codes = address_side.result()
    tx_from, tx_dst, tok_from, tok_to, wd_dst, tok_asset = codes

    # -- idempotence: (export, block) pairs the store covers already are skipped --
    batch_blocks = {
        "transactions": np.unique(txs.block),
        "token_transfers": np.unique(tokens.block),
        "blocks": np.unique(blocks_coverage),
    }
    covered = {s: store.coverage.get(s, np.empty(0, np.int64)) for s in batch_blocks}
    new_blocks = {s: b[~np.isin(b, covered[s])] for s, b in batch_blocks.items()}
    tx_new = _new_rows(txs.block, covered["transactions"], new_blocks["transactions"])
    tok_new = _new_rows(tokens.block, covered["token_transfers"], new_blocks["token_transfers"])
    wd_new = _new_rows(withdrawals.block, covered["blocks"], new_blocks["blocks"])

    # -- legs, first uses and ids --
    fee = np.empty(n_tx, np.bool_)
    native = np.empty(n_tx, np.bool_)
    k.transaction_leg_flags(txs.status, txs.gas, txs.price, txs.val_sig, txs.has_dst, fee, native)
    addr_block = np.full(addresses.size, _BIG, dtype=np.int64)
    tx_block = np.full(tx_dict.size, _BIG, dtype=np.int64)
    tx_index = np.full(tx_dict.size, _BIG, dtype=np.int64)
    asset_block = np.full(assets.size, _BIG, dtype=np.int64)
    k.first_uses(
        tx_new, fee, native, txs.block, txs.tx_index, tx_from, tx_dst,
        tok_new, tokens.block, tok_tx, tok_from, tok_to, tok_asset, position,
        addr_block, tx_block, tx_index, asset_block,
    )  # fmt: skip
    np.minimum.at(addr_block, wd_dst[wd_new], withdrawals.block[wd_new])

    with ThreadPoolExecutor(max_workers=2) as pool:
        ordering = pool.submit(_assign_transactions, tx_dict, tx_block, tx_index, store.next_tx)
        address_ids, new_addresses = _assign(addresses, addr_block, store.next_address)
        tx_ids, new_transactions = ordering.result()
    asset_ids, new_assets = _assign(assets, asset_block, store.next_asset)

    n_fee, n_native = int(np.count_nonzero(fee)), int(np.count_nonzero(native))
    read = n_fee + n_native + n_tok + n_wd
    stored_legs = (
        int(np.count_nonzero(fee & tx_new))
        + int(np.count_nonzero(native & tx_new))
        + int(np.count_nonzero(tok_new))
        + int(np.count_nonzero(wd_new))
    )
    sources = [s for s, b in new_blocks.items() for _ in range(len(b))]
    coverage = pa.table(
        {
            "source": pa.array(sources, pa.string()),
            "block_number": pa.array(np.concatenate(list(new_blocks.values())), pa.int64()),
        }
    )
    lost = int(np.count_nonzero(~txs.has_dst & (txs.status != 0) & (txs.val_sig > 0)))
    return Batch(
        new_assets=pa.table(
            {
                "asset_id": pa.array(asset_ids[new_assets], pa.int32()),
                "contract": _texts(assets.keys[new_assets], 20),
            }
        ),
        new_coverage=coverage,
        read=read,
        skipped=read - stored_legs,
        stored=stored_legs,
        new_address_count=len(new_addresses),
        new_transaction_count=len(new_transactions),
        lost_creations=lost,
        make_addresses=partial(_addresses_table, addresses, address_ids, new_addresses, addr_block),
        make_transactions=partial(
            _transactions_table, tx_dict, tx_ids, new_transactions, tx_block, tx_index
        ),
        make_transfers=partial(
            _transfers,
            stored_legs,
            txs,
            tokens,
            withdrawals,
            (tx_new, fee, native, tok_new, wd_new),
            (tx_from, tx_dst, tok_tx, tok_from, tok_to, tok_asset, wd_dst),
            position,
            tx_ids,
            address_ids,
            asset_ids,
        ),
    )


def _addresses_table(
    addresses: _Dictionary, ids: np.ndarray, new: np.ndarray, first_block: np.ndarray
) -> pa.Table:
    """The ``addresses`` rows of the new codes ``new`` (in id order)."""
    return pa.table(
        {
            "address_id": pa.array(ids[new], pa.int64()),
            "address": _texts(addresses.keys[new], 20),
            "first_block": pa.array(first_block[new], pa.int64()),
        }
    )


def _transactions_table(
    tx_dict: _Dictionary, ids: np.ndarray, new: np.ndarray, block: np.ndarray, index: np.ndarray
) -> pa.Table:
    """The ``transactions`` rows of the new codes ``new`` (in id order)."""
    known = index[new] != _BIG
    return pa.table(
        {
            "tx_id": pa.array(ids[new], pa.int64()),
            "tx_hash": _texts(tx_dict.keys[new], 32),
            "block_number": pa.array(block[new], pa.int64()),
            "tx_index": _column_of(
                np.where(known, index[new], 0).astype(np.int32), known, pa.int32()
            ),
        }
    )


def _transactions_dictionary(
    txs: TransactionRows, tokens: TokenTransferRows, store: StoreState, check_token_keys: bool
) -> tuple[_Dictionary, np.ndarray, np.ndarray]:
    """Transaction hashes: code ``i`` is row ``i`` of the transactions export, then the token
    transfers' hashes. Returns the dictionary, the token rows' codes and each transaction's
    position (the largest of this batch's transaction rows and the store's, as the SQL path's
    ``tx_positions``)."""
    n_tx, n_tok = len(txs.block), len(tokens.block)
    tx_dict = _Dictionary(4, expected=n_tx)
    tx_dict.add(txs.hash_w)
    if tx_dict.size != n_tx:
        raise Handover("a transaction hash is repeated in the transactions export")
    tok_tx = tx_dict.add(tokens.hash_w)
    if check_token_keys and n_tok:
        pairs = np.empty((n_tok, 2), np.uint64)
        pairs[:, 0] = tok_tx.astype(np.uint64)
        pairs[:, 1] = tokens.log_index.astype(np.uint64)
        repeats = _Dictionary(2, expected=n_tok)
        repeats.add(pairs)
        if repeats.size != n_tok:
            raise Handover("a token transfer is repeated across token_transfers files")
    stored = store.transactions
    tx_dict.adopt_store_ids(stored.column("tx_hash"), stored.column("tx_id"), 32)
    position = np.full(tx_dict.size, -1, dtype=np.int64)
    position[:n_tx] = txs.tx_index
    if stored.num_rows:
        k.max_by_code(
            tx_dict.match_store(stored.column("tx_hash"), 32),
            np.array(stored.column("tx_index").fill_null(-1), dtype=np.int64),
            position,
        )
    return tx_dict, tok_tx, position


def _address_dictionaries(
    txs: TransactionRows,
    tokens: TokenTransferRows,
    withdrawals: WithdrawalLegs,
    store: StoreState,
) -> tuple[_Dictionary, _Dictionary, tuple[np.ndarray, ...]]:
    """Addresses (every one a leg can name) and assets (token contracts), with the codes of
    transaction senders and recipients, token senders and recipients, withdrawal recipients
    and token contracts."""
    # An address is named by 8 rows on average in busy exports; the table grows if needed.
    addresses = _Dictionary(3, expected=(len(txs.block) + len(tokens.block)) // 4)
    tx_from = addresses.add(txs.from_w)
    tx_dst = addresses.add(txs.dst_w, txs.has_dst)
    tok_from = addresses.add(tokens.from_w)
    tok_to = addresses.add(tokens.to_w)
    wd_dst = addresses.add(withdrawals.dst_w)
    stored = store.addresses
    addresses.adopt_store_ids(stored.column("address"), stored.column("address_id"), 20)
    assets = _Dictionary(3)
    tok_asset = assets.add(tokens.token_w)
    contracts = store.assets.filter(pc.is_valid(store.assets.column("contract")))
    assets.adopt_store_ids(contracts.column("contract"), contracts.column("asset_id"), 20)
    return addresses, assets, (tx_from, tx_dst, tok_from, tok_to, wd_dst, tok_asset)


def _assign(
    dictionary: _Dictionary, first_block: np.ndarray, first_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ids of codes: the store's, else new ones in order of (first block, text).

    Returns the id of every code and the new codes in id order.
    """
    new = np.flatnonzero((first_block < _BIG) & (dictionary.store_id < 0))
    order = _order([first_block[new]], dictionary.keys, new)
    ids = dictionary.store_id.copy()
    ids[order] = np.arange(first_id, first_id + len(order), dtype=np.int64)
    return ids, order


def _assign_transactions(
    tx_dict: _Dictionary, block: np.ndarray, index: np.ndarray, first_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Transaction ids: new hashes in order of (block, position with unknown last, hash)."""
    new = np.flatnonzero((block < _BIG) & (tx_dict.store_id < 0))
    position = index[new]
    known = position != _BIG
    unknown_last = np.where(known, position, position[known].max() + 1 if known.any() else 0)
    order = _order([block[new], unknown_last], tx_dict.keys, new)
    ids = tx_dict.store_id.copy()
    ids[order] = np.arange(first_id, first_id + len(order), dtype=np.int64)
    return ids, order


def _transfers(
    n: int,
    txs: TransactionRows,
    tokens: TokenTransferRows,
    withdrawals: WithdrawalLegs,
    flags: tuple[np.ndarray, ...],
    codes: tuple[np.ndarray, ...],
    position: np.ndarray,
    tx_ids: np.ndarray,
    address_ids: np.ndarray,
    asset_ids: np.ndarray,
) -> tuple[pa.Table, int, int]:
    """The transfers rows of stored legs, and how many lack a time and a position.

    ``block_time`` is the block's epoch seconds in microseconds, as DuckDB's to_timestamp()
    makes it in the SQL path.
    """
    tx_new, fee, native, tok_new, wd_new = flags
    tx_from, tx_dst, tok_tx, tok_from, tok_to, tok_asset, wd_dst = codes
    out: dict[str, np.ndarray] = {
        "block": np.empty(n, np.int64),
        "index": np.empty(n, np.int32),
        "index_ok": np.empty(n, np.bool_),
        "seq": np.empty(n, np.int32),
        "kind": np.empty(n, np.int8),
        "tx": np.empty(n, np.int64),
        "tx_ok": np.empty(n, np.bool_),
        "src": np.empty(n, np.int64),
        "src_ok": np.empty(n, np.bool_),
        "dst": np.empty(n, np.int64),
        "dst_ok": np.empty(n, np.bool_),
        "asset": np.empty(n, np.int32),
        "amount": np.empty((n, 2), np.uint64),
        "time": np.empty(n, np.int64),
        "time_ok": np.empty(n, np.bool_),
    }
    n_wide = int(np.count_nonzero(txs.val_sig > 38) + np.count_nonzero(tokens.val_sig > 38))
    wide_at = np.empty(n_wide, np.int64)
    wide_origin = np.empty(n_wide, np.int64)
    written, n_wide = k.emit_transfers(
        tx_new, fee, native, txs.block, txs.tx_index, txs.ts, tx_from, tx_dst, txs.gas,
        txs.price, txs.val_lo, txs.val_hi, txs.val_sig,
        tok_new, tokens.block, tokens.ts, tokens.log_index, tok_tx, tok_from, tok_to, tok_asset,
        tokens.val_lo, tokens.val_hi, tokens.val_sig,
        position, tx_ids, address_ids, asset_ids.astype(np.int32), TOKEN_SEQ_BASE,
        *out.values(), wide_at, wide_origin,
    )  # fmt: skip
    _withdrawal_rows(out, written, withdrawals, wd_new, wd_dst, address_ids)
    amount_valid = np.ones(n, np.bool_)
    amount_valid[wide_at[:n_wide]] = False
    table = pa.table(
        {
            "block_number": pa.array(out["block"], pa.int64()),
            "tx_index": _column_of(out["index"], out["index_ok"], pa.int32()),
            "seq": pa.array(out["seq"], pa.int32()),
            "kind": pa.array(out["kind"], pa.int8()),
            "tx_id": _column_of(out["tx"], out["tx_ok"], pa.int64()),
            "src_id": _column_of(out["src"], out["src_ok"], pa.int64()),
            "dst_id": _column_of(out["dst"], out["dst_ok"], pa.int64()),
            "asset_id": pa.array(out["asset"], pa.int32()),
            "amount": _column_of(out["amount"], amount_valid, pa.decimal128(38, 0)),
            "amount_raw": _amount_raw(n, wide_at[:n_wide], wide_origin[:n_wide], txs, tokens),
            "block_time": _column_of(out["time"], out["time_ok"], pa.timestamp("us", tz="UTC")),
            "prev_tx_id": pa.nulls(n, pa.int64()),
            "prev_vout": pa.nulls(n, pa.int32()),
        }
    )
    no_time = n - int(np.count_nonzero(out["time_ok"]))
    unknown_order = n - int(np.count_nonzero(out["index_ok"]))
    return table, no_time, unknown_order


def _withdrawal_rows(
    out: dict[str, np.ndarray],
    start: int,
    withdrawals: WithdrawalLegs,
    new: np.ndarray,
    dst: np.ndarray,
    address_ids: np.ndarray,
) -> None:
    """The withdrawals' transfers rows after the others (few: one per withdrawal)."""
    rows = np.flatnonzero(new)
    end = start + len(rows)
    at = slice(start, end)
    out["block"][at] = withdrawals.block[rows]
    out["index"][at] = BLOCK_LEVEL_TX_INDEX
    out["index_ok"][at] = True
    out["seq"][at] = withdrawals.seq[rows]
    out["kind"][at] = int(TransferKind.WITHDRAWAL)
    out["tx"][at] = 0
    out["tx_ok"][at] = False
    out["src"][at] = 0
    out["src_ok"][at] = False
    out["dst"][at] = address_ids[dst[rows]]
    out["dst_ok"][at] = True
    out["asset"][at] = 0
    out["amount"][at, 0] = withdrawals.lo[rows]
    out["amount"][at, 1] = withdrawals.hi[rows]
    out["time"][at] = withdrawals.ts[rows] * 1_000_000
    out["time_ok"][at] = withdrawals.ts[rows] >= 0


def _amount_raw(
    n: int,
    wide_at: np.ndarray,
    origin: np.ndarray,
    txs: TransactionRows,
    tokens: TokenTransferRows,
) -> pa.Array:
    """ltrim(value, '0') of amounts over 38 digits (kept as text), NULL for the others.

    ``wide_at`` lists the transfers with such an amount, ``origin`` their source rows: ``r``
    in the transactions export, ``n_tx + r`` in the token transfers export.
    """
    if not len(wide_at):
        return pa.nulls(n, pa.string())
    n_tx = len(txs.block)
    texts: list[pa.Array] = []
    placed: list[np.ndarray] = []
    for rows, mine, offset in ((txs, origin < n_tx, 0), (tokens, origin >= n_tx, n_tx)):
        if mine.any():
            at = np.searchsorted(rows.wide_rows, origin[mine] - offset)
            texts.append(rows.wide_texts.take(pa.array(at, pa.int64())))
            placed.append(wide_at[mine])
    gathered = pa.concat_arrays([*texts, pa.array([None], pa.string())])
    positions = np.full(n, len(gathered) - 1, dtype=np.int64)
    positions[np.concatenate(placed)] = np.arange(len(gathered) - 1, dtype=np.int64)
    return gathered.take(pa.array(positions))


def write_parquet(table: pa.Table, folder: Path, number: int = 0) -> list[Path]:
    """Write ``table`` as Parquet part ``number``, as the embedded engine writes store parts.

    Same compression and row groups; no dictionary pages (addresses and hashes are unique per
    part, so they would be abandoned after trying) and no Arrow schema in the metadata, so the
    column types read back from the Parquet types exactly as for the engine's parts.
    """
    target = folder / f"part-{number}.parquet"
    pq.write_table(
        table,
        target,
        compression="zstd",
        row_group_size=1_000_000,
        use_dictionary=False,
        store_schema=False,
    )
    return [target]


def warm_up() -> None:
    """Load every kernel from numba's cache (compiling it the first time) on a tiny batch.

    Loading takes about a second; the ingest runs this while DuckDB reads the exports.
    """
    address = "0x" + "11" * 20
    tx: dict[str, str | None] = {}
    tx.update(dict.fromkeys(COLUMNAR_TRANSACTION_COLUMNS, "1"))
    tx.update(
        hash="0x" + "22" * 32,
        from_address=address,
        to_address=address,
        block_hash="0x" + "33" * 32,
        receipt_contract_address=None,
    )
    token: dict[str, str | None] = {}
    token.update(dict.fromkeys(COLUMNAR_TOKEN_TRANSFER_COLUMNS, "1"))
    token.update(
        token_address=address,
        from_address=address,
        to_address=address,
        transaction_hash="0x" + "44" * 32,
        value="1" * 40,
    )

    def table(row: dict[str, str | None]) -> pa.Table:
        return pa.table({name: pa.array([value], pa.string()) for name, value in row.items()})

    stored = pa.table({"text": pa.array([address], pa.string()), "id": pa.array([0], pa.int64())})
    store = StoreState(
        addresses=stored.rename_columns(["address", "address_id"]),
        transactions=pa.table(
            {
                "tx_hash": pa.array(["0x" + "22" * 32], pa.string()),
                "tx_id": pa.array([0], pa.int64()),
                "tx_index": pa.array([None], pa.int32()),
            }
        ),
        assets=pa.table(
            {"contract": pa.array([address], pa.string()), "asset_id": pa.array([1], pa.int32())}
        ),
        coverage={"transactions": np.array([0], np.int64)},
        block_times=(np.array([1], np.int64), np.array([1], np.int64)),
        next_address=1,
        next_tx=1,
        next_asset=2,
    )
    build(
        TransactionRows.scan(table(tx).to_batches(), 1),
        TokenTransferRows.scan(table(token).to_batches(), 1),
        WithdrawalLegs.empty(),
        np.array([1], np.int64),
        store,
        check_token_keys=True,
    )

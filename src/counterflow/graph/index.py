"""The temporal CSR index: one chain's transfers as arrays a compiled trace walks directly.

Holders get dense ids: addresses keep their store ``address_id`` (``0 … A−1``); on UTXO chains
transaction ``t`` is holder ``A + t``; one last holder, the *sink*, stands for "outside the
graph" (the fee sink, newly minted value). Edge ``e`` is the ``e``-th transfer in the chain's
total order (``block_number, tx_index, seq``), so an edge id *is* its ordering key: "later" is
"larger id", and a holder's edge lists, built stably, are sorted by it.

Amounts. Wei exceeds 64 bits above ~9.2 ETH, so an amount is kept as two int64 columns per
edge: ``units = amount // 10**shift[asset]`` and ``rem = amount % 10**shift[asset]``, with the
per-asset ``shift`` the smallest power of ten that leaves the asset's largest transfer below
2^52 units (gwei for ether-sized amounts, satoshi unchanged). The search runs on ``units``
(exposure on ``value``, the same in fractional units, where a sub-unit transfer must count);
``units * 10**shift + rem`` gives back the exact integer for reports. Token amounts too wide
for the store's DECIMAL(38,0) (spam, kept only as text) count as 0 here.

Files. ``DATA_DIR/graph-index/CHAIN/`` holds one ``.npy`` per array, the id <-> text lookup
tables (``lookup-*.npy``, see lookup.py) and ``index.json`` with the SHA-256 of every store
part the index was built from. A load whose manifest lists other
parts (or sizes) rebuilds; parts are immutable once committed, so path and size identify them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from counterflow.chains.registry import get_chain
from counterflow.errors import InputError, StoreError
from counterflow.graph.lookup import LOOKUP_ARRAYS, Lookups, build_lookups
from counterflow.store.datadir import DataDirectory
from counterflow.store.schema import UTXO_OUTPUT_SEQ_BASE, TransferKind

INDEX_FORMAT = "counterflow-graph-index/2"
#: Store tables whose parts an index (and so a trace) depends on.
INDEXED_TABLES = ("transfers", "addresses", "transactions", "assets", "blocks")
_ARRAYS = (
    "src",
    "dst",
    "units",
    "rem",
    "asset",
    "kind",
    "time",
    "tx",
    "block",
    "link",
    "out_ptr",
    "out_edges",
    "in_ptr",
    "in_edges",
)
#: Largest transfer, in units, after the per-asset shift (leaves room for sums in int64).
_UNIT_LIMIT = 1 << 52


@dataclass
class GraphIndex:
    """One chain's transfers as arrays; see the module docstring for the layout."""

    chain: str
    utxo: bool
    n_addresses: int
    n_transactions: int
    shifts: dict[int, int]
    parts: list[dict[str, Any]]
    fingerprint: str
    src: np.ndarray  # int32 holder
    dst: np.ndarray  # int32 holder
    units: np.ndarray  # int64 amount // 10**shift
    rem: np.ndarray  # int64 amount % 10**shift
    asset: np.ndarray  # int16
    kind: np.ndarray  # int8 TransferKind
    time: np.ndarray  # uint32 unix seconds (0 when unknown)
    tx: np.ndarray  # int32 tx_id (-1 when none)
    block: np.ndarray  # int32 block number
    link: np.ndarray  # int32: UTXO input -> output it spends, output -> input spending it
    out_ptr: np.ndarray  # int64, n_holders + 1
    out_edges: np.ndarray  # int32 edge ids by source holder, ascending
    in_ptr: np.ndarray
    in_edges: np.ndarray
    #: id <-> address and tx hash lookups (None only for an index assembled by hand)
    lookups: Lookups | None = None
    build_seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    #: Results derived from this index alone (service roles for a set of labels, …), kept for
    #: as long as the index object lives: a process that serves many traces derives them once.
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_holders(self) -> int:
        return len(self.out_ptr) - 1

    @property
    def n_edges(self) -> int:
        return len(self.src)

    @property
    def sink(self) -> int:
        return self.n_holders - 1

    @property
    def n_assets(self) -> int:
        return int(self.asset.max()) + 1 if len(self.asset) else 1

    @cached_property
    def value(self) -> np.ndarray:
        """Every amount in (fractional) units as float64: ``units + rem / 10**shift``.

        ``units`` alone rounds a transfer smaller than one unit (1 wei … 999 wei when the shift
        is 3) down to nothing, and a kernel run on it neither sees such a transfer nor lets it
        carry value. Exposure promises that a receipt's categories add up to its amount, so its
        runs propagate these values instead: every non-zero transfer stays non-zero, and the
        largest still fits a float64's 52-bit mantissa to the unit.
        """
        value = np.asarray(self.units, np.float64).copy()
        for asset, shift in self.shifts.items():
            if shift > 0:
                mask = np.asarray(self.asset) == asset
                value[mask] += np.asarray(self.rem, np.float64)[mask] / 10**shift
        return value

    def exact_amount(self, edge: int) -> int:
        """The transfer's amount in base units, exactly."""
        shift = self.shifts.get(int(self.asset[edge]), 0)
        return int(self.units[edge]) * 10**shift + int(self.rem[edge])

    def to_base_units(self, asset: int, units: float) -> int:
        """A traced amount (float units) in integer base units, rounded down."""
        shift = self.shifts.get(int(asset), 0)
        return int(units) * 10**shift + int((units - int(units)) * 10**shift)

    def from_base_units(self, asset: int, amount: int) -> float:
        return amount / 10 ** self.shifts.get(int(asset), 0)

    def holder_is_tx(self, holder: int) -> bool:
        return self.utxo and self.n_addresses <= holder < self.n_addresses + self.n_transactions

    def nbytes(self) -> int:
        """The CSR arrays' size (the lookup tables are counted apart: see lookup_nbytes)."""
        return sum(int(getattr(self, name).nbytes) for name in _ARRAYS)

    def lookup_nbytes(self) -> int:
        return self.lookups.nbytes() if self.lookups is not None else 0


def index_dir(directory: DataDirectory, chain: str) -> Path:
    return directory.root / "graph-index" / chain


def store_parts(directory: DataDirectory, chain: str) -> list[dict[str, Any]]:
    """The parts of ``chain`` a trace reads, with sizes (no hashing: cheap, for staleness)."""
    manifest = directory.manifest(chain)
    parts = []
    for table in INDEXED_TABLES:
        for rel in manifest.files(table):
            path = directory.chain_dir(chain) / rel
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise StoreError(f"{path}: listed in the manifest but unreadable: {exc}") from exc
            parts.append({"table": table, "path": rel, "size": size})
    return parts


def hash_parts(directory: DataDirectory, chain: str) -> list[dict[str, Any]]:
    """Every part with the SHA-256 of its bytes: what an evidence bundle pins."""
    parts = store_parts(directory, chain)
    for part in parts:
        part["sha256"] = file_sha256(directory.chain_dir(chain) / part["path"])
    return parts


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def parts_fingerprint(parts: list[dict[str, Any]]) -> str:
    """One hash over all parts' content hashes: equal iff the store data is equal."""
    digest = hashlib.sha256()
    for p in sorted(parts, key=lambda p: (p["table"], p["path"])):
        digest.update(f"{p['table']}\0{p['path']}\0{p['sha256']}\n".encode())
    return digest.hexdigest()


def load_index(
    directory: DataDirectory, chain: str, *, rebuild: bool = False, save: bool = True
) -> GraphIndex:
    """The index of ``chain``: the saved one when it matches the store, else built (and saved).

    Arrays are memory-mapped, so a load costs milliseconds whatever the chain's size.
    """
    name = get_chain(chain).name
    if name not in directory.chains():
        raise InputError(f"chain {name!r} is not in the store {directory.root}; ingest it first")
    folder = index_dir(directory, name)
    if not rebuild:
        loaded = _read_saved(folder, store_parts(directory, name))
        if loaded is not None:
            return loaded
    index = build_index(directory, name)
    if save:
        save_index(index, folder)
    return index


def _read_saved(folder: Path, parts: list[dict[str, Any]]) -> GraphIndex | None:
    meta_path = folder / "index.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if meta.get("format") != INDEX_FORMAT:
        return None
    saved = [{k: p[k] for k in ("table", "path", "size")} for p in meta["parts"]]
    if saved != parts:
        return None
    opened = _OPEN.get(folder.resolve())
    if opened is not None and opened.meta == meta:
        # the same saved index this process already opened: keep its derived arrays
        return opened
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
    lookups = Lookups(
        prefix=meta["tx_prefix"],
        **{name: np.load(folder / f"lookup-{name}.npy", mmap_mode="r") for name in LOOKUP_ARRAYS},
    )
    index = GraphIndex(
        chain=meta["chain"],
        utxo=meta["utxo"],
        n_addresses=meta["n_addresses"],
        n_transactions=meta["n_transactions"],
        shifts={int(k): v for k, v in meta["shifts"].items()},
        parts=meta["parts"],
        fingerprint=meta["fingerprint"],
        build_seconds=meta.get("build_seconds", 0.0),
        meta=meta,
        lookups=lookups,
        **arrays,
    )
    _OPEN[folder.resolve()] = index
    return index


#: Saved indexes this process has opened, by folder. A reopened index whose metadata (parts,
#: fingerprint, build time) is unchanged is the same index, so the object is reused with what
#: was derived from it; a rebuilt one has other metadata and replaces it.
_OPEN: dict[Path, GraphIndex] = {}


def save_index(index: GraphIndex, folder: Path) -> None:
    """Write the arrays and metadata into a fresh folder and swap it in (no torn index)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name in _ARRAYS:
            np.save(staging / f"{name}.npy", np.ascontiguousarray(getattr(index, name)))
        if index.lookups is None:
            raise ValueError("an index without lookup tables cannot be saved")
        for name in LOOKUP_ARRAYS:
            np.save(
                staging / f"lookup-{name}.npy",
                np.ascontiguousarray(getattr(index.lookups, name)),
            )
        meta = {
            "format": INDEX_FORMAT,
            "chain": index.chain,
            "utxo": index.utxo,
            "n_addresses": index.n_addresses,
            "n_transactions": index.n_transactions,
            "shifts": {str(k): v for k, v in sorted(index.shifts.items())},
            "parts": index.parts,
            "fingerprint": index.fingerprint,
            "build_seconds": index.build_seconds,
            "edges": index.n_edges,
            "bytes": index.nbytes(),
            "lookup_bytes": index.lookup_nbytes(),
            "tx_prefix": index.lookups.prefix,
        }
        (staging / "index.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        old = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def build_index(directory: DataDirectory, chain: str) -> GraphIndex:
    """Read ``chain``'s transfers from the store and lay them out as CSR arrays.

    The parts are read with pyarrow, only the columns the index needs: no SQL engine, no
    text column (``amount_raw``) decoded. A part is written as a few long sorted runs, so
    ordering is a check, then at most a stable sort that merges runs (see ``_key_order``).
    The parts' SHA-256 (for the evidence fingerprint) is computed on a second thread
    meanwhile: hashlib releases the GIL while it hashes.
    """
    started = time.perf_counter()
    spec = get_chain(chain)
    if spec.name not in directory.chains():
        raise InputError(f"chain {spec.name!r} is not in the store {directory.root}")
    manifest = directory.manifest(spec.name)
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(hash_parts, directory, spec.name)
        lookups = build_lookups(
            spec.name,
            directory.table_files(spec.name, "addresses", manifest),
            directory.table_files(spec.name, "transactions", manifest),
        )
        columns, shifts = _read_transfers(
            directory.table_files(spec.name, "transfers", manifest), spec.is_utxo
        )
        n_addresses = len(lookups.addr_offsets) - 1
        n_transactions = len(lookups.tx_state)
        arrays = _layout(columns, spec.is_utxo, n_addresses, n_transactions)
        parts = hashing.result()
    return GraphIndex(
        chain=spec.name,
        utxo=spec.is_utxo,
        n_addresses=n_addresses,
        n_transactions=n_transactions,
        shifts=shifts,
        parts=parts,
        fingerprint=parts_fingerprint(parts),
        lookups=lookups,
        build_seconds=round(time.perf_counter() - started, 3),
        **arrays,
    )


_TRANSFER_SCHEMA = pa.schema(
    [
        ("block_number", pa.int64()),
        ("tx_index", pa.int32()),
        ("seq", pa.int32()),
        ("kind", pa.int8()),
        ("tx_id", pa.int64()),
        ("src_id", pa.int64()),
        ("dst_id", pa.int64()),
        ("asset_id", pa.int32()),
        ("amount", pa.decimal128(38, 0)),
        ("block_time", pa.timestamp("us", tz="UTC")),
        ("prev_tx_id", pa.int64()),
        ("prev_vout", pa.int32()),
    ]
)
_INT64_MAX = (1 << 63) - 1


def _read_transfers(files: list[Path], utxo: bool) -> tuple[dict[str, np.ndarray], dict[int, int]]:
    """The transfers' columns in key order (nulls filled), and the per-asset shifts."""
    names = [n for n in _TRANSFER_SCHEMA.names if utxo or n not in ("prev_tx_id", "prev_vout")]
    schema = pa.schema([_TRANSFER_SCHEMA.field(n) for n in names])
    tables = [pq.read_table(f, columns=names).select(names).cast(schema) for f in files]
    table = pa.concat_tables(tables) if tables else schema.empty_table()

    def ints(name: str, fill: int, dtype: type) -> np.ndarray:
        column = table.column(name)
        if column.null_count:
            column = pc.fill_null(column.cast(pa.int64()), fill)
        return np.asarray(column.to_numpy(), dtype=dtype)

    block = ints("block_number", 0, np.int64)
    # the SQL order this replaces: block_number, tx_index NULLS LAST, seq, kind, tx_id NULLS LAST
    tx_index_key = ints("tx_index", 1 << 40, np.int64)
    seq = ints("seq", 0, np.int64)
    kind = ints("kind", 0, np.int8)
    tx_key = ints("tx_id", 1 << 62, np.int64)
    order = _key_order(block, tx_index_key, seq, kind, tx_key)
    asset = ints("asset_id", 0, np.int64)
    small, is_small, big = _amounts(table.column("amount"))
    shifts = _shifts(asset, small, is_small, big)
    divisor = np.ones(int(asset.max(initial=0)) + 1, np.int64)
    for asset_id, shift in shifts.items():
        divisor[asset_id] = 10**shift
    units, rem = np.divmod(np.where(is_small, small, 0), divisor[asset])
    for row, amount in big.items():
        q, r = divmod(amount, 10 ** shifts[int(asset[row])])
        units[row], rem[row] = q, r
    micros = ints("block_time", 0, np.int64)
    # gathered in the index's own widths (ids fit int32: holders are counted in int32)
    columns = {
        "block_number": block.astype(np.int32),
        "kind": kind,
        "tx_id": np.where(tx_key == 1 << 62, -1, tx_key).astype(np.int32),
        "src_id": ints("src_id", -1, np.int32),
        "dst_id": ints("dst_id", -1, np.int32),
        "asset_id": asset.astype(np.int16),
        "units": units,
        "rem": rem,
        # epoch seconds, rounded to the nearest as a cast from DuckDB's epoch() did
        "time": np.floor_divide(micros + 500_000, 1_000_000).astype(np.uint32),
    }
    if utxo:  # only spends need these
        columns["seq"] = seq.astype(np.int32)
        columns["prev_tx_id"] = ints("prev_tx_id", -1, np.int32)
        columns["prev_vout"] = ints("prev_vout", -1, np.int32)
    if order is not None:
        columns = {name: values[order] for name, values in columns.items()}
    return columns, shifts


def _key_order(
    block: np.ndarray, tx_index: np.ndarray, seq: np.ndarray, kind: np.ndarray, tx: np.ndarray
) -> np.ndarray | None:
    """The permutation into key order, or None when the rows already are in it.

    A part is written as a few long sorted runs (one per writer thread), so a stable sort on
    one int64 packing (block, tx_index, seq) merges runs rather than sorting from scratch.
    Rows equal on those three keep their run's order, which is checked; a mismatch, or keys
    too wide to pack, falls back to a sort on all five columns.
    """
    identity = np.zeros(0, np.int64)
    if _in_key_order(identity, block, tx_index, seq, kind, tx):
        return None
    packed = _pack_keys([block, tx_index, seq])
    if packed is not None:
        order = np.argsort(packed, kind="stable")
        if _in_key_order(order, block, tx_index, seq, kind, tx):
            return order
    return np.lexsort((tx, kind, seq, tx_index, block))


def _pack_keys(keys: list[np.ndarray]) -> np.ndarray | None:
    """One int64 ordering like ``keys`` lexicographically, or None if they need > 63 bits."""
    packed = np.zeros(len(keys[0]), np.int64)
    bits = 0
    for key in keys:
        low = int(key.min())
        width = max(int(key.max()) - low, 0).bit_length()
        bits += width
        if bits > 63:
            return None
        packed <<= width
        packed |= key - low
    return packed


@numba.njit(cache=True, nogil=True)
def _in_key_order(
    order: np.ndarray,
    block: np.ndarray,
    tx_index: np.ndarray,
    seq: np.ndarray,
    kind: np.ndarray,
    tx: np.ndarray,
) -> bool:
    # One pass, lexicographic on the five key columns, through ``order`` (empty: as stored).
    n = len(block)
    for k in range(1, n):
        i = order[k] if len(order) else k
        j = order[k - 1] if len(order) else k - 1
        if block[i] != block[j]:
            if block[i] < block[j]:
                return False
            continue
        if tx_index[i] != tx_index[j]:
            if tx_index[i] < tx_index[j]:
                return False
            continue
        if seq[i] != seq[j]:
            if seq[i] < seq[j]:
                return False
            continue
        if kind[i] != kind[j]:
            if kind[i] < kind[j]:
                return False
            continue
        if tx[i] < tx[j]:
            return False
    return True


def _amounts(
    column: pa.ChunkedArray,
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """DECIMAL(38,0) amounts: int64 where they fit below 2^63 − 1, exact ints for the rest.

    A decimal128 value is two little-endian 64-bit words, so the common case is a view of
    the column's buffer, not a conversion per value.
    """
    lows, highs, valids = [], [], []
    for chunk in column.chunks:
        words = np.frombuffer(chunk.buffers()[1], np.int64).reshape(-1, 2)
        words = words[chunk.offset : chunk.offset + len(chunk)]
        lows.append(words[:, 0])
        highs.append(words[:, 1])
        if chunk.null_count:
            valids.append(np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), bool))
        else:
            valids.append(np.ones(len(chunk), bool))
    low = np.concatenate(lows) if lows else np.zeros(0, np.int64)
    high = np.concatenate(highs) if highs else np.zeros(0, np.int64)
    valid = np.concatenate(valids) if valids else np.zeros(0, bool)
    fits = ((high == 0) & (low >= 0) & (low != _INT64_MAX)) | ((high == -1) & (low < 0))
    is_small = valid & fits
    big = {
        int(row): (int(high[row]) << 64) + (int(low[row]) & ((1 << 64) - 1))
        for row in np.nonzero(valid & ~fits)[0]
    }
    return low, is_small, big


def _shifts(
    asset: np.ndarray, small: np.ndarray, is_small: np.ndarray, big: dict[int, int]
) -> dict[int, int]:
    """Per asset with transfers, the smallest power of ten that brings its largest below 2^52."""
    # the largest valid amount per asset present; 0 where it has none (all NULL)
    candidates: dict[int, list[int]] = {}
    present = np.unique(asset)
    if len(present):
        maxima = _max_by_asset(asset, small, is_small, int(present[-1]) + 1)
        for a in present.tolist():
            seen = maxima[a] > np.iinfo(np.int64).min
            candidates[a] = [int(maxima[a])] if seen else []
    for row, amount in big.items():
        candidates[int(asset[row])].append(amount)
    largest = {a: max(values) if values else 0 for a, values in candidates.items()}
    shifts: dict[int, int] = {}
    for a in sorted(largest):
        shift = 0
        while largest[a] // 10**shift >= _UNIT_LIMIT:
            shift += 1
        shifts[a] = shift
    return shifts


@numba.njit(cache=True, nogil=True)
def _max_by_asset(
    asset: np.ndarray, amount: np.ndarray, use: np.ndarray, n_assets: int
) -> np.ndarray:
    out = np.full(n_assets, np.iinfo(np.int64).min, np.int64)
    for i in range(len(asset)):
        if use[i] and amount[i] > out[asset[i]]:
            out[asset[i]] = amount[i]
    return out


def _column(columns: dict[str, Any], name: str, fill: int, dtype: type) -> np.ndarray:
    value = columns[name]
    if isinstance(value, np.ma.MaskedArray):
        return np.asarray(value.filled(fill), dtype=dtype)
    return np.asarray(value, dtype=dtype)


def _layout(
    columns: dict[str, Any], utxo: bool, n_addresses: int, n_transactions: int
) -> dict[str, np.ndarray]:
    kind = _column(columns, "kind", 0, np.int8)
    tx = _column(columns, "tx_id", -1, np.int64)
    n_holders = n_addresses + (n_transactions if utxo else 0) + 1
    sink = n_holders - 1
    src = _column(columns, "src_id", -1, np.int64)
    dst = _column(columns, "dst_id", -1, np.int64)
    if utxo:
        tx_holder = np.where(tx >= 0, n_addresses + tx, sink)
        src = np.where(src < 0, np.where(kind == TransferKind.OUTPUT, tx_holder, sink), src)
        to_tx = (kind == TransferKind.INPUT) | (kind == TransferKind.COINBASE)
        dst = np.where(dst < 0, np.where(to_tx, tx_holder, sink), dst)
    else:
        src = np.where(src < 0, sink, src)
        dst = np.where(dst < 0, sink, dst)
    src32 = src.astype(np.int32)
    dst32 = dst.astype(np.int32)
    n_edges = len(kind)
    link = np.full(n_edges, -1, np.int32)
    if utxo and n_edges:
        seq = _column(columns, "seq", 0, np.int64)
        prev_tx = _column(columns, "prev_tx_id", -1, np.int64)
        prev_vout = _column(columns, "prev_vout", -1, np.int64)
        inputs, spent = _spent_outputs(kind, tx, seq, prev_tx, prev_vout, n_transactions)
        link[inputs] = spent.astype(np.int32)
        link[spent] = inputs.astype(np.int32)
    out_ptr, out_edges = _csr(src32, n_holders)
    in_ptr, in_edges = _csr(dst32, n_holders)
    return {
        "src": src32,
        "dst": dst32,
        "units": _column(columns, "units", 0, np.int64),
        "rem": _column(columns, "rem", 0, np.int64),
        "asset": _column(columns, "asset_id", 0, np.int16),
        "kind": kind,
        "time": _column(columns, "time", 0, np.uint32),
        "tx": tx.astype(np.int32),
        "block": _column(columns, "block_number", 0, np.int32),
        "link": link,
        "out_ptr": out_ptr,
        "out_edges": out_edges,
        "in_ptr": in_ptr,
        "in_edges": in_edges,
    }


def _spent_outputs(
    kind: np.ndarray,
    tx: np.ndarray,
    seq: np.ndarray,
    prev_tx: np.ndarray,
    prev_vout: np.ndarray,
    n_transactions: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (input edge, output edge it spends).

    In key order a transaction's outputs are contiguous and ascending by index, so an input's
    output sits at a known offset from its transaction's first output: a gather, not a search.
    Where that guess fails (an output not stored, an unusual order) a sorted search decides.
    """
    outputs = np.nonzero(kind == TransferKind.OUTPUT)[0]
    out_tx = tx[outputs]
    out_vout = seq[outputs] - UTXO_OUTPUT_SEQ_BASE
    first = np.full(max(n_transactions, int(out_tx.max(initial=-1)) + 1), -1, np.int64)
    first[out_tx[::-1]] = np.arange(len(outputs) - 1, -1, -1)  # the lowest position wins
    inputs = np.nonzero((kind == TransferKind.INPUT) & (prev_tx >= 0))[0]
    want_tx, want_vout = prev_tx[inputs], prev_vout[inputs]
    known = want_tx < len(first)
    start = np.where(known, first[np.where(known, want_tx, 0)], -1)
    guess = start + want_vout - out_vout[np.maximum(start, 0)] if len(outputs) else start
    fits = (start >= 0) & (guess >= 0) & (guess < len(outputs))
    at = np.where(fits, guess, 0)
    hit = fits & (out_tx[at] == want_tx) & (out_vout[at] == want_vout)
    found = np.where(hit, at, -1)
    rest = np.nonzero(~hit & (start >= 0))[0]
    if len(rest):
        keys = (out_tx << 24) | out_vout
        order = np.argsort(keys, kind="stable")
        wanted = (want_tx[rest] << 24) | want_vout[rest]
        pos = np.minimum(np.searchsorted(keys[order], wanted), len(order) - 1)
        ok = keys[order[pos]] == wanted
        found[rest[ok]] = order[pos[ok]]
    matched = found >= 0
    return inputs[matched], outputs[found[matched]]


def _csr(holder: np.ndarray, n_holders: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(holder, minlength=n_holders)
    ptr = np.zeros(n_holders + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr, _scatter(holder, ptr)


@numba.njit(cache=True, nogil=True)
def _scatter(holder: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    # A counting sort: edges arrive in key order, so each holder's list comes out ascending.
    fill = ptr[:-1].copy()
    edges = np.empty(len(holder), np.int32)
    for e in range(len(holder)):
        h = holder[e]
        edges[fill[h]] = e
        fill[h] += 1
    return edges

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

    @cached_property
    def n_assets(self) -> int:
        # kept: a trace asks once per leg, and the maximum reads the whole column
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
    arrays = {name: _mapped(folder / f"{name}.npy") for name in _ARRAYS}
    lookups = Lookups(
        prefix=meta["tx_prefix"],
        **{name: _mapped(folder / f"lookup-{name}.npy") for name in LOOKUP_ARRAYS},
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


def _mapped(path: Path) -> np.ndarray:
    """A saved array, memory-mapped, as a plain ndarray view (the view keeps the map open).

    ``numpy.memmap`` answers every index through a Python method and wraps every result in a
    new memmap object: tens of microseconds per gather, where a trace makes hundreds.
    """
    return np.asarray(np.load(path, mmap_mode="r"))


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
    The lookup tables and the parts' SHA-256 (for the evidence fingerprint) are built on
    other threads meanwhile: Parquet reads, hashlib, numpy's sorts and the compiled loops
    all release the GIL.
    """
    started = time.perf_counter()
    spec = get_chain(chain)
    if spec.name not in directory.chains():
        raise InputError(f"chain {spec.name!r} is not in the store {directory.root}")
    manifest = directory.manifest(spec.name)
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashing = pool.submit(hash_parts, directory, spec.name)
        building = pool.submit(
            build_lookups,
            spec.name,
            directory.table_files(spec.name, "addresses", manifest),
            directory.table_files(spec.name, "transactions", manifest),
        )
        columns, shifts = _read_transfers(
            directory.table_files(spec.name, "transfers", manifest), spec.is_utxo
        )
        lookups = building.result()
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


#: Per column read from the transfers: the value nulls take, and the width it is read in.
_READ_AS: dict[str, tuple[int, type]] = {
    "block_number": (0, np.int64),
    "tx_index": (1 << 40, np.int64),  # NULLS LAST in the key order
    "seq": (0, np.int32),
    "kind": (0, np.int8),
    "tx_id": (1 << 62, np.int64),  # NULLS LAST in the key order
    "src_id": (-1, np.int32),
    "dst_id": (-1, np.int32),
    "asset_id": (0, np.int64),
    "prev_tx_id": (-1, np.int32),
    "prev_vout": (-1, np.int32),
}


def _read_transfers(files: list[Path], utxo: bool) -> tuple[dict[str, np.ndarray], dict[int, int]]:
    """The transfers' columns in key order (nulls filled), and the per-asset shifts.

    Parts are read a row group at a time straight into arrays of the final widths: the
    memory a row group was decoded into is reused for the next one, where a whole-table read
    holds every decoded column at once (fresh pages are a large share of a build's time).
    """
    names = [n for n in _TRANSFER_SCHEMA.names if utxo or n not in ("prev_tx_id", "prev_vout")]
    schema = pa.schema([_TRANSFER_SCHEMA.field(n) for n in names])
    n = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    read = {name: np.empty(n, dtype) for name, (_, dtype) in _READ_AS.items() if name in names}
    small = np.empty(n, np.int64)
    is_small = np.empty(n, np.bool_)
    big: dict[int, int] = {}
    # epoch seconds, rounded to the nearest as a cast from DuckDB's epoch() did
    seconds = np.empty(n, np.uint32)
    at = 0
    for f in files:
        parquet = pq.ParquetFile(f)
        for group in range(parquet.num_row_groups):
            part = parquet.read_row_group(group, columns=names).select(names).cast(schema)
            end = at + part.num_rows
            for name, values in read.items():
                column = part.column(name)
                if column.null_count:
                    column = pc.fill_null(column.cast(pa.int64()), _READ_AS[name][0])
                values[at:end] = column.to_numpy()
            low, fits, large = _amounts(part.column("amount"))
            small[at:end] = low
            is_small[at:end] = fits
            big.update({at + row: amount for row, amount in large.items()})
            micros = part.column("block_time")
            if micros.null_count:
                micros = pc.fill_null(micros.cast(pa.int64()), 0)
            micros_np = np.asarray(micros.to_numpy(), np.int64)
            seconds[at:end] = np.floor_divide(micros_np + 500_000, 1_000_000)
            at = end
    if at != n:
        raise StoreError(f"transfers: read {at} rows where the parts' metadata lists {n}")
    block, tx_key, asset = read["block_number"], read["tx_id"], read["asset_id"]
    # the SQL order this replaces: block_number, tx_index NULLS LAST, seq, kind, tx_id NULLS LAST
    order = _key_order(block, read["tx_index"], read["seq"], read["kind"], tx_key)
    shifts = _shifts(asset, small, is_small, big)
    divisor = np.ones(int(asset.max(initial=0)) + 1, np.int64)
    for asset_id, shift in shifts.items():
        divisor[asset_id] = 10**shift
    units, rem = _split_amounts(asset, small, is_small, divisor)
    for row, amount in big.items():
        q, r = divmod(amount, 10 ** shifts[int(asset[row])])
        units[row], rem[row] = q, r
    # gathered in the index's own widths (ids fit int32: holders are counted in int32)
    columns = {
        "block_number": block.astype(np.int32),
        "kind": read["kind"],
        "tx_id": np.where(tx_key == 1 << 62, -1, tx_key).astype(np.int32),
        "src_id": read["src_id"],
        "dst_id": read["dst_id"],
        "asset_id": asset.astype(np.int16),
        "units": units,
        "rem": rem,
        "time": seconds,
    }
    if utxo:  # only spends need these
        columns["seq"] = read["seq"]
        columns["prev_tx_id"] = read["prev_tx_id"]
        columns["prev_vout"] = read["prev_vout"]
    if order is not None:
        columns = {name: values[order] for name, values in columns.items()}
    return columns, shifts


def _split_amounts(
    asset: np.ndarray, amount: np.ndarray, use: np.ndarray, divisor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """np.divmod of each used amount by its asset's divisor (0 where unused), in one pass."""
    # outputs allocated by numpy: it asks the kernel for huge pages, which a compiled
    # function's own allocation does not, and page faults cost more than the loop here
    units = np.empty(len(asset), np.int64)
    rem = np.empty(len(asset), np.int64)
    _split_into(asset, amount, use, divisor, units, rem)
    return units, rem


@numba.njit(cache=True, nogil=True)
def _split_into(
    asset: np.ndarray,
    amount: np.ndarray,
    use: np.ndarray,
    divisor: np.ndarray,
    units: np.ndarray,
    rem: np.ndarray,
) -> None:
    for i in range(len(asset)):
        value = amount[i] if use[i] else 0
        d = divisor[asset[i]]
        if d == 1:
            units[i] = value
            rem[i] = 0
        else:
            units[i] = value // d
            rem[i] = value % d


def _key_order(
    block: np.ndarray, tx_index: np.ndarray, seq: np.ndarray, kind: np.ndarray, tx: np.ndarray
) -> np.ndarray | None:
    """The permutation into key order, or None when the rows already are in it.

    Rows are ordered by block and, within a block, by one int64 packing of (tx_index, seq),
    stably (``_order_by_block``); failing that (blocks too sparse for a counting pass), by a
    radix sort of (block, tx_index, seq) packed in one int64. Rows equal on those three keep
    their stored order, which is checked; a mismatch, or keys too wide to pack, falls back to
    a sort on all five columns.
    """
    identity = np.zeros(0, np.int64)
    if _in_key_order(identity, block, tx_index, seq, kind, tx):
        return None
    within = _pack_keys([tx_index, seq])
    low = int(block.min())
    span = int(block.max()) - low + 1
    if within is not None and span <= 4 * len(block) + 1024:
        order = np.empty(len(block), np.int64)
        _order_by_block(block, low, span, tx_index, within, order)
        if _in_key_order(order, block, tx_index, seq, kind, tx):
            return order
    packed = _pack_keys([block, tx_index, seq])
    if packed is not None:
        order = _radix_order(packed)
        if _in_key_order(order, block, tx_index, seq, kind, tx):
            return order
    return np.lexsort((tx, kind, seq, tx_index, block))


@numba.njit(cache=True, nogil=True)
def _order_by_block(
    block: np.ndarray,
    low: int,
    span: int,
    tx_index: np.ndarray,
    within: np.ndarray,
    order: np.ndarray,
) -> None:
    """Stable order by block, then by ``within`` (packed tx index and seq) inside each block.

    A part is written in runs of whole blocks, and the rows of one block are either in order
    already (account chains) or shuffled among themselves (UTXO inputs and outputs): a
    counting pass over the blocks, then a stable sort of only the blocks that need one, does
    in two passes what a radix sort on the whole key does in three or four. A shuffled block
    usually keeps each transaction's rows together (the shuffle is of whole transactions): a
    stable counting pass on the dense tx index, then an insertion sort for the few rows of
    each transaction, order it in about linear time; a block where that would cost more is
    sorted by comparison.
    """
    starts = np.zeros(span + 1, np.int64)
    for i in range(len(block)):
        starts[block[i] - low + 1] += 1
    for b in range(span):
        starts[b + 1] += starts[b]
    fill = starts[:-1].copy()
    for i in range(len(block)):
        b = block[i] - low
        order[fill[b]] = i
        fill[b] += 1
    for b in range(span):
        lo, hi = starts[b], starts[b + 1]
        for k in range(lo + 1, hi):
            if within[order[k]] < within[order[k - 1]]:
                rows = order[lo:hi].copy()
                if not _by_dense_tx_index(rows, tx_index, within, order[lo:hi]):
                    ranks = np.argsort(within[rows], kind="mergesort")
                    for j in range(hi - lo):
                        order[lo + j] = rows[ranks[j]]
                break


@numba.njit(cache=True, nogil=True)
def _by_dense_tx_index(
    rows: np.ndarray, tx_index: np.ndarray, within: np.ndarray, out: np.ndarray
) -> bool:
    # ``rows`` stably by ``within`` into ``out``: a counting pass on the tx index (dense
    # within a block), then an insertion sort for the rows of each transaction. False
    # (``out`` then undefined) when the indexes are too sparse to count, or the rows of the
    # transactions too far out of order for the insertion sort's budget.
    first = tx_index[rows[0]]
    last = first
    for r in rows:
        first = min(first, tx_index[r])
        last = max(last, tx_index[r])
    if last - first + 1 > 4 * len(rows) + 64:
        return False
    place = np.zeros(last - first + 2, np.int64)
    for r in rows:
        place[tx_index[r] - first + 1] += 1
    for i in range(1, len(place)):
        place[i] += place[i - 1]
    for r in rows:
        at = tx_index[r] - first
        out[place[at]] = r
        place[at] += 1
    # then an insertion sort on ``within``: stable, and its moves only undo the disorder
    # left inside transactions (outputs stored before inputs, say), within a budget
    budget = 8 * len(out) + 64
    for k in range(1, len(out)):
        r = out[k]
        key = within[r]
        j = k - 1
        while j >= 0 and within[out[j]] > key:
            out[j + 1] = out[j]
            j -= 1
            budget -= 1
        out[j + 1] = r
        if budget < 0:
            return False
    return True


def _radix_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for non-negative int64 keys, by LSD radix sort.

    Within a block a part's rows are not in transaction order, so a comparison sort gains
    little from the runs; a radix sort passes over the rows once per 16 bits of key width
    that actually vary (three for a 20 M-transfer chain), in linear time.
    """
    n = len(keys)
    if n == 0:
        return np.zeros(0, np.int64)
    width = int(keys.max()).bit_length()
    digits = [d for d in range(0, width, _RADIX_BITS)]
    counts = np.zeros((max(len(digits), 1), 1 << _RADIX_BITS), np.int64)
    _radix_counts(keys, np.asarray(digits, np.int64), counts)
    # a digit every key shares moves nothing: skip its pass
    varying = [k for k in range(len(digits)) if int(counts[k].max()) < n]
    order = np.arange(n, dtype=np.int64)
    if not varying:
        return order
    # the first pass reads the caller's keys; later ones alternate between two buffers
    key_in, key_out = keys, np.empty(n, np.int64)
    order_out = np.empty(n, np.int64)
    for step, k in enumerate(varying):
        _radix_pass(key_in, order, counts[k], digits[k], key_out, order_out)
        order, order_out = order_out, order
        if step + 1 < len(varying):
            fresh = key_in is keys
            key_in, key_out = key_out, (np.empty(n, np.int64) if fresh else key_in)
    return order


_RADIX_BITS = 16


@numba.njit(cache=True, nogil=True)
def _radix_counts(keys: np.ndarray, digits: np.ndarray, counts: np.ndarray) -> None:
    # every digit's histogram in one pass over the keys
    mask = counts.shape[1] - 1
    for i in range(len(keys)):
        for k in range(len(digits)):
            counts[k, (keys[i] >> digits[k]) & mask] += 1


@numba.njit(cache=True, nogil=True)
def _radix_pass(
    keys: np.ndarray,
    order: np.ndarray,
    counts: np.ndarray,
    shift: int,
    keys_out: np.ndarray,
    order_out: np.ndarray,
) -> None:
    # one stable counting-sort pass on the digit at ``shift``
    mask = len(counts) - 1
    fill = np.empty(len(counts), np.int64)
    total = 0
    for b in range(len(counts)):
        fill[b] = total
        total += counts[b]
    for i in range(len(keys)):
        b = (keys[i] >> shift) & mask
        keys_out[fill[b]] = keys[i]
        order_out[fill[b]] = order[i]
        fill[b] += 1


def _pack_keys(keys: list[np.ndarray]) -> np.ndarray | None:
    """One int64 ordering like ``keys`` lexicographically, or None if they need > 63 bits."""
    lows = [int(key.min()) if len(key) else 0 for key in keys]
    widths = [
        max(int(key.max()) - low, 0).bit_length() if len(key) else 0
        for key, low in zip(keys, lows, strict=True)
    ]
    if sum(widths) > 63:
        return None
    packed = np.zeros(len(keys[0]), np.int64)
    # one compiled pass per key, in place: no temporary the size of the column
    for key, low, width in zip(keys, lows, widths, strict=True):
        _pack_into(packed, key, low, width)
    return packed


@numba.njit(cache=True, nogil=True)
def _pack_into(packed: np.ndarray, key: np.ndarray, low: int, width: int) -> None:
    for i in range(len(packed)):
        packed[i] = (packed[i] << width) | (np.int64(key[i]) - low)


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
    # assets are small dense ids: counting finds the present ones in one pass
    present = (
        np.flatnonzero(np.bincount(asset)) if len(asset) and asset.min() >= 0 else np.unique(asset)
    )
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
    tx = _column(columns, "tx_id", -1, np.int32)
    n_holders = n_addresses + (n_transactions if utxo else 0) + 1
    sink = n_holders - 1
    src = _column(columns, "src_id", -1, np.int32)
    dst = _column(columns, "dst_id", -1, np.int32)
    src32, dst32 = _holders(kind, tx, src, dst, utxo, n_addresses, sink)
    n_edges = len(kind)
    link = np.full(n_edges, -1, np.int32)
    # the incoming lists on a second thread (the counting and scatter loops release the GIL)
    with ThreadPoolExecutor(max_workers=1) as pool:
        incoming = pool.submit(_csr, dst32, n_holders)
        if utxo and n_edges:
            seq = _column(columns, "seq", 0, np.int32)
            prev_tx = _column(columns, "prev_tx_id", -1, np.int32)
            prev_vout = _column(columns, "prev_vout", -1, np.int32)
            inputs, spent = _spent_outputs(kind, tx, seq, prev_tx, prev_vout, n_transactions)
            link[inputs] = spent.astype(np.int32)
            link[spent] = inputs.astype(np.int32)
        out_ptr, out_edges = _csr(src32, n_holders)
        in_ptr, in_edges = incoming.result()
    return {
        "src": src32,
        "dst": dst32,
        "units": _column(columns, "units", 0, np.int64),
        "rem": _column(columns, "rem", 0, np.int64),
        "asset": _column(columns, "asset_id", 0, np.int16),
        "kind": kind,
        "time": _column(columns, "time", 0, np.uint32),
        "tx": tx,
        "block": _column(columns, "block_number", 0, np.int32),
        "link": link,
        "out_ptr": out_ptr,
        "out_edges": out_edges,
        "in_ptr": in_ptr,
        "in_edges": in_edges,
    }


def _holders(
    kind: np.ndarray,
    tx: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    utxo: bool,
    n_addresses: int,
    sink: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Source and target holders (int32): a missing one is the transaction's holder on a UTXO
    chain (what an output pays from, what an input or coinbase pays into), else the sink."""
    src_out = np.empty(len(kind), np.int32)
    dst_out = np.empty(len(kind), np.int32)
    _holders_into(kind, tx, src, dst, utxo, n_addresses, sink, src_out, dst_out)
    return src_out, dst_out


@numba.njit(cache=True, nogil=True)
def _holders_into(
    kind: np.ndarray,
    tx: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    utxo: bool,
    n_addresses: int,
    sink: int,
    src_out: np.ndarray,
    dst_out: np.ndarray,
) -> None:
    for i in range(len(kind)):
        tx_holder = n_addresses + tx[i] if utxo and tx[i] >= 0 else sink
        s = src[i]
        if s < 0:
            s = tx_holder if utxo and kind[i] == _OUTPUT else sink
        d = dst[i]
        if d < 0:
            d = tx_holder if utxo and (kind[i] == _INPUT or kind[i] == _COINBASE) else sink
        src_out[i] = s
        dst_out[i] = d


_INPUT = int(TransferKind.INPUT)
_OUTPUT = int(TransferKind.OUTPUT)
_COINBASE = int(TransferKind.COINBASE)


@numba.njit(cache=True, nogil=True)
def _guess_spent(
    out_tx: np.ndarray,
    out_vout: np.ndarray,
    want_tx: np.ndarray,
    want_vout: np.ndarray,
    first: np.ndarray,
    found: np.ndarray,
    has_outputs: np.ndarray,
) -> None:
    # first[t]: the lowest output (index into the outputs) of transaction t, filled here;
    # per input the output at the guessed offset when it matches (found, else -1), and
    # whether its transaction has outputs at all (those misses get a sorted search)
    for k in range(len(out_tx) - 1, -1, -1):  # the lowest position wins
        first[out_tx[k]] = k
    n_out = len(out_tx)
    for j in range(len(want_tx)):
        start = first[want_tx[j]] if want_tx[j] < len(first) else -1
        found[j] = -1
        has_outputs[j] = start >= 0
        if start < 0:
            continue
        guess = start + want_vout[j] - out_vout[start]
        if 0 <= guess < n_out and out_tx[guess] == want_tx[j] and out_vout[guess] == want_vout[j]:
            found[j] = guess


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
    out_tx = tx[outputs].astype(np.int64)
    out_vout = seq[outputs].astype(np.int64) - UTXO_OUTPUT_SEQ_BASE
    first = np.full(max(n_transactions, int(out_tx.max(initial=-1)) + 1), -1, np.int64)
    inputs = np.nonzero((kind == TransferKind.INPUT) & (prev_tx >= 0))[0]
    want_tx = prev_tx[inputs].astype(np.int64)
    want_vout = prev_vout[inputs].astype(np.int64)
    found = np.empty(len(inputs), np.int64)
    has_outputs = np.empty(len(inputs), np.bool_)
    _guess_spent(out_tx, out_vout, want_tx, want_vout, first, found, has_outputs)
    rest = np.nonzero((found < 0) & has_outputs)[0]
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
    if len(holder) and not 0 <= int(holder.min()) <= int(holder.max()) < n_holders:
        raise StoreError(f"transfers name a holder outside the store's {n_holders} holders")
    ptr = np.zeros(n_holders + 1, np.int64)
    edges = np.empty(len(holder), np.int32)  # numpy's allocation: huge pages, few faults
    _count_into(holder, ptr)
    _scatter(holder, ptr, edges)
    return ptr, edges


@numba.njit(cache=True, nogil=True)
def _count_into(holder: np.ndarray, ptr: np.ndarray) -> None:
    # ptr[h + 1] = edges of holders up to h: the CSR offsets, counted without the GIL
    for e in range(len(holder)):
        ptr[holder[e] + 1] += 1
    for h in range(1, len(ptr)):
        ptr[h] += ptr[h - 1]


@numba.njit(cache=True, nogil=True)
def _scatter(holder: np.ndarray, ptr: np.ndarray, edges: np.ndarray) -> None:
    # A counting sort: edges arrive in key order, so each holder's list comes out ascending.
    fill = ptr[:-1].copy()
    for e in range(len(holder)):
        h = holder[e]
        edges[fill[h]] = e
        fill[h] += 1

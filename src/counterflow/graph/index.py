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

Files. ``DATA_DIR/graph-index/CHAIN/`` holds one ``.npy`` per array and ``index.json`` with
the SHA-256 of every store part the index was built from. A load whose manifest lists other
parts (or sizes) rebuilds; parts are immutable once committed, so path and size identify them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numba
import numpy as np

from counterflow.chains.registry import get_chain
from counterflow.errors import InputError, StoreError
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader
from counterflow.store.schema import UTXO_OUTPUT_SEQ_BASE, TransferKind

INDEX_FORMAT = "counterflow-graph-index/1"
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
    build_seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

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
        return sum(int(getattr(self, name).nbytes) for name in _ARRAYS)


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
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
    return GraphIndex(
        chain=meta["chain"],
        utxo=meta["utxo"],
        n_addresses=meta["n_addresses"],
        n_transactions=meta["n_transactions"],
        shifts={int(k): v for k, v in meta["shifts"].items()},
        parts=meta["parts"],
        fingerprint=meta["fingerprint"],
        build_seconds=meta.get("build_seconds", 0.0),
        meta=meta,
        **arrays,
    )


def save_index(index: GraphIndex, folder: Path) -> None:
    """Write the arrays and metadata into a fresh folder and swap it in (no torn index)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name in _ARRAYS:
            np.save(staging / f"{name}.npy", np.ascontiguousarray(getattr(index, name)))
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
    """Read ``chain``'s transfers from the store and lay them out as CSR arrays."""
    started = time.perf_counter()
    spec = get_chain(chain)
    parts = hash_parts(directory, spec.name)
    with StoreReader(directory) as reader:
        if spec.name not in reader.chains:
            raise InputError(f"chain {spec.name!r} is not in the store {directory.root}")
        t = reader.table(spec.name, "transfers")
        addresses = reader.table(spec.name, "addresses")
        n_addresses = int(
            reader.rows(f"SELECT coalesce(max(address_id) + 1, 0) FROM {addresses}")[0][0]
        )
        n_transactions = int(
            reader.rows(
                f"SELECT coalesce(max(tx_id) + 1, 0) FROM {reader.table(spec.name, 'transactions')}"
            )[0][0]
        )
        shifts: dict[int, int] = {}
        for asset_id, largest in reader.rows(
            f"SELECT asset_id, max(amount) FROM {t} GROUP BY asset_id ORDER BY asset_id"
        ):
            shift = 0
            largest = int(largest or 0)
            while largest // 10**shift >= _UNIT_LIMIT:
                shift += 1
            shifts[int(asset_id)] = shift
        # Amounts below 2^63 (all satoshi, most wei) are cast to BIGINT and split into units
        # and remainder in numpy; only the rare larger ones pay for 128-bit division in SQL.
        divisors = (
            ", ".join(f"({a}, {10**s}::HUGEINT)" for a, s in shifts.items()) or "(0, 1::HUGEINT)"
        )
        big = "t.amount >= 9223372036854775807"
        columns = reader.con.execute(
            f"""
            WITH d(asset_id, divisor) AS (VALUES {divisors})
            SELECT t.src_id, t.dst_id, t.tx_id, t.kind, t.asset_id,
                   CASE WHEN {big} THEN NULL ELSE CAST(t.amount AS BIGINT) END AS small,
                   CASE WHEN {big} THEN CAST(t.amount::HUGEINT // d.divisor AS BIGINT) END
                       AS big_units,
                   CASE WHEN {big} THEN CAST(t.amount::HUGEINT % d.divisor AS BIGINT) END
                       AS big_rem,
                   t.block_number, coalesce(epoch(t.block_time)::BIGINT, 0) AS time,
                   t.prev_tx_id, t.prev_vout, t.seq
            FROM {t} t JOIN d USING (asset_id)
            ORDER BY t.block_number, t.tx_index NULLS LAST, t.seq, t.kind, t.tx_id
            """
        ).fetchnumpy()
    columns["units"], columns["rem"] = _split_amounts(columns, shifts)
    arrays = _layout(columns, spec.is_utxo, n_addresses, n_transactions)
    fingerprint = parts_fingerprint(parts)
    return GraphIndex(
        chain=spec.name,
        utxo=spec.is_utxo,
        n_addresses=n_addresses,
        n_transactions=n_transactions,
        shifts=shifts,
        parts=parts,
        fingerprint=fingerprint,
        build_seconds=round(time.perf_counter() - started, 3),
        **arrays,
    )


def _split_amounts(
    columns: dict[str, Any], shifts: dict[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``units = amount // 10**shift`` and ``rem = amount % 10**shift`` per transfer, exactly."""
    small = columns["small"]
    missing = np.ma.getmaskarray(small)
    amount = _column(columns, "small", 0, np.int64)
    asset = _column(columns, "asset_id", 0, np.int64)
    divisor = np.ones(int(asset.max(initial=0)) + 1, np.int64)
    for asset_id, shift in shifts.items():
        divisor[asset_id] = 10**shift
    per_edge = divisor[asset]
    units, rem = np.divmod(amount, per_edge)
    if missing.any():
        # NULL amounts (none in a valid store) and amounts of 2^63 and above
        units[missing] = _column(columns, "big_units", 0, np.int64)[missing]
        rem[missing] = _column(columns, "big_rem", 0, np.int64)[missing]
    return units, rem


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

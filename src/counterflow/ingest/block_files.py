"""Bitcoin Core block files as an ingest source: blocks → bitcoin-etl's blocks and transactions.

The decoded blocks (:mod:`.bitcoin_blocks`) become Arrow tables shaped like bitcoin-etl's
``blocks`` and ``transactions`` exports, with output types and addresses derived from the
scripts as bitcoind reports them (:mod:`counterflow.chains.bitcoin_script`). Inputs carry only
their outpoint, as an unenriched export does: the pipeline resolves their address and value from
the outputs they spend, in this run or in the store, and keeps those it cannot resolve yet in
``pending_inputs`` until the funding transaction is ingested. Idempotence, atomicity and the
stored rows are therefore the export path's, for the same blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from counterflow.chains.bitcoin_script import ScriptAddresses
from counterflow.chains.registry import CHAINS, ChainSpec
from counterflow.errors import ConfigError, InputError
from counterflow.ingest.bitcoin_blocks import (
    HEADER_SIZE,
    Block,
    decode_block,
    double_sha256,
    read_blocks,
)
from counterflow.ingest.block_heights import NULL_PARENT, BlockLink, place_blocks
from counterflow.ingest.exports import SPECS, ExportKind
from counterflow.ingest.sources import Relations, RelationSource
from counterflow.store.engine import Engine

#: Names a folder is searched for: Bitcoin Core's ``blk*.dat`` (not the ``rev*.dat`` undo
#: files beside them), single blocks (``.blk``), and either compressed with bzip2.
_FOLDER_SUFFIXES = (".dat", ".blk", ".dat.bz2", ".blk.bz2")

_STRING = pa.string()
_INPUT = pa.struct(
    [
        ("index", _STRING),
        ("spent_transaction_hash", _STRING),
        ("spent_output_index", _STRING),
        ("type", _STRING),
        ("addresses", pa.list_(_STRING)),
        ("value", _STRING),
    ]
)
_OUTPUT = pa.struct(
    [
        ("index", _STRING),
        ("script_hex", _STRING),
        ("type", _STRING),
        ("addresses", pa.list_(_STRING)),
        ("value", _STRING),
    ]
)


#: The output an input spends, as a node reports it: the locking script and the value.
SpentOutput = tuple[bytes, int]


def discover_block_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Expand folders into block files (name order); return (files, ignored).

    A file named on the command line is read whatever its name; inside a folder only names
    that block files have are read, and the rest (``rev*.dat``, ``xor.dat``, indexes) ignored.
    """
    files: list[Path] = []
    ignored: list[Path] = []
    for root in paths:
        if not root.exists():
            raise InputError(f"{root}: no such file or folder")
        if not root.is_dir():
            files.append(root)
            continue
        found = 0
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = path.name.lower()
            if name.endswith(_FOLDER_SUFFIXES) and not name.startswith(("rev", "xor")):
                files.append(path)
                found += 1
            else:
                ignored.append(path)
        if not found:
            raise InputError(
                f"{root}: folder holds no block files (blk*.dat, *.blk, or either as .bz2)"
            )
    return files, ignored


class EtlTables:
    """Decoded blocks gathered as bitcoin-etl ``blocks`` and ``transactions`` rows.

    Rows are kept as flat Python columns and turned into Arrow record batches every
    ``batch_rows`` transactions, so memory holds compact Arrow data rather than objects per
    output. A transaction's height is attached only at the end (:meth:`tables`), once every
    block has been placed on the chain.
    """

    def __init__(self, addresses: ScriptAddresses, *, batch_rows: int = 50_000) -> None:
        self.addresses = addresses
        self.batch_rows = batch_rows
        self.links: list[BlockLink] = []
        self._block_rows: list[tuple[str, str, int, int, str, int]] = []
        self._batches: list[pa.RecordBatch] = []
        self._file_rows: dict[str, int] = {}
        self._reset()

    def _reset(self) -> None:
        self._tx_hash: list[str] = []
        self._tx_block: list[int] = []
        self._tx_index: list[int] = []
        self._tx_coinbase: list[bool] = []
        self._tx_inputs: list[int] = []
        self._tx_outputs: list[int] = []
        self._tx_file: list[str] = []
        self._tx_row: list[int] = []
        self._in_index: list[int] = []
        self._in_prev: list[str] = []
        self._in_vout: list[int] = []
        self._in_type: list[str | None] = []
        self._in_address: list[str | None] = []
        self._in_value: list[int | None] = []
        self._out_index: list[int] = []
        self._out_hex: list[str] = []
        self._out_type: list[str] = []
        self._out_address: list[str | None] = []
        self._out_value: list[int] = []

    def __len__(self) -> int:
        return len(self._block_rows)

    def add(self, block: Block, spent: Sequence[SpentOutput] | None = None) -> None:
        """Add one block's rows (its coinbase input left out, as bitcoin-etl exports it).

        ``spent`` gives, for each input after the coinbase's, the output it spends when the
        source knows it (a node's ``prevout``), as an enriched export would; without it the
        pipeline resolves inputs from the outputs they spend.
        """
        header = block.header
        txs = block.txs
        ordinal = len(self._block_rows)
        self._block_rows.append(
            (
                header.hash,
                header.prev_hash,
                header.timestamp,
                len(txs),
                block.path,
                block.ordinal + 1,
            )
        )
        self.links.append(
            BlockLink(
                header.hash,
                header.prev_hash,
                header.work,
                block.coinbase_height,
                f"{block.path}, byte {block.offset}",
            )
        )
        n = len(txs)
        first_row = self._file_rows.get(block.path, 0)
        self._file_rows[block.path] = first_row + n
        self._tx_hash.extend([txid[::-1].hex() for txid in txs.txids])
        self._tx_block.extend([ordinal] * n)
        self._tx_index.extend(range(n))
        self._tx_coinbase.append(True)
        self._tx_coinbase.extend([False] * (n - 1))
        self._tx_file.extend([block.path] * n)
        self._tx_row.extend(range(first_row + 1, first_row + n + 1))
        in_ends = txs.input_ends
        counts = [0, *(in_ends[i] - in_ends[i - 1] for i in range(1, n))]
        self._tx_inputs.extend(counts)
        for count in counts:
            self._in_index.extend(range(count))
        outpoints = txs.outpoints[1:]
        self._in_prev.extend([outpoint[31::-1].hex() for outpoint in outpoints])
        self._in_vout.extend([int.from_bytes(outpoint[32:], "little") for outpoint in outpoints])
        if spent is None:
            self._in_type.extend([None] * len(outpoints))
            self._in_address.extend([None] * len(outpoints))
            self._in_value.extend([None] * len(outpoints))
        else:
            if len(spent) != len(outpoints):
                raise ValueError("one spent output per input after the coinbase's")
            for script, value in spent:
                kind, address = self.addresses(script)
                self._in_type.append(kind)
                self._in_address.append(address)
                self._in_value.append(value)
        out_ends = txs.output_ends
        previous = 0
        for end in out_ends:
            self._out_index.extend(range(end - previous))
            self._tx_outputs.append(end - previous)
            previous = end
        typed = [self.addresses(script) for script in txs.scripts]
        self._out_type.extend([kind for kind, _ in typed])
        self._out_address.extend([address for _, address in typed])
        self._out_hex.extend([script.hex() for script in txs.scripts])
        self._out_value.extend(txs.values)
        if len(self._tx_hash) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        """Turn the rows gathered so far into one Arrow record batch."""
        if not self._tx_hash:
            return
        inputs = pa.ListArray.from_arrays(
            _offsets(self._tx_inputs),
            pa.StructArray.from_arrays(
                [
                    _text(self._in_index),
                    pa.array(self._in_prev, _STRING),
                    _text(self._in_vout),
                    pa.array(self._in_type, _STRING),
                    _address_lists(self._in_address),
                    pa.array(self._in_value, pa.int64()).cast(_STRING),
                ],
                fields=list(_INPUT),
            ),
        )
        outputs = pa.ListArray.from_arrays(
            _offsets(self._tx_outputs),
            pa.StructArray.from_arrays(
                [
                    _text(self._out_index),
                    pa.array(self._out_hex, _STRING),
                    pa.array(self._out_type, _STRING),
                    _address_lists(self._out_address),
                    _text(self._out_value),
                ],
                fields=list(_OUTPUT),
            ),
        )
        self._batches.append(
            pa.RecordBatch.from_arrays(
                [
                    pa.array(self._tx_hash, _STRING),
                    pa.array(self._tx_block, pa.int32()),
                    _text(self._tx_index),
                    pa.array(self._tx_coinbase, pa.bool_()).cast(_STRING),
                    _text(self._tx_inputs),
                    _text(self._tx_outputs),
                    inputs,
                    outputs,
                    pa.array(self._tx_file, _STRING),
                    pa.array(self._tx_row, pa.int64()),
                ],
                names=[
                    "hash",
                    "_block",
                    "index",
                    "is_coinbase",
                    "input_count",
                    "output_count",
                    "inputs",
                    "outputs",
                    "_file",
                    "_row",
                ],
            )
        )
        self._reset()

    def tables(self, heights: Mapping[str, int]) -> dict[ExportKind, pa.Table]:
        """The ``blocks`` and ``transactions`` relations of the blocks in ``heights``.

        Blocks not in ``heights`` (stale ones) are left out with their transactions.
        """
        self.flush()
        number: list[int | None] = [heights.get(row[0]) for row in self._block_rows]
        block_number = pa.array(number, pa.int64())
        block_hash = pa.array([row[0] for row in self._block_rows], _STRING)
        timestamp = pa.array([row[2] for row in self._block_rows], pa.int64())
        blocks = pa.table(
            {
                "hash": block_hash,
                "number": block_number.cast(_STRING),
                "timestamp": timestamp.cast(_STRING),
                "transaction_count": pa.array(
                    [row[3] for row in self._block_rows], pa.int64()
                ).cast(_STRING),
                "previous_block_hash": pa.array(
                    [None if row[1] == NULL_PARENT else row[1] for row in self._block_rows],
                    _STRING,
                ),
                "_file": pa.array([row[4] for row in self._block_rows], _STRING),
                "_row": pa.array([row[5] for row in self._block_rows], pa.int64()),
            }
        ).filter(block_number.is_valid())
        tx_columns = SPECS[("utxo", ExportKind.TRANSACTIONS)].columns
        if self._batches:
            txs = pa.Table.from_batches(self._batches)
        else:
            txs = pa.table(
                {
                    name: pa.array([], _STRING)
                    for name in ("hash", "index", "is_coinbase", "input_count", "output_count")
                }
                | {
                    "_block": pa.array([], pa.int32()),
                    "inputs": pa.array([], pa.list_(_INPUT)),
                    "outputs": pa.array([], pa.list_(_OUTPUT)),
                    "_file": pa.array([], _STRING),
                    "_row": pa.array([], pa.int64()),
                }
            )
        ordinal = txs.column("_block")
        tx_number = block_number.take(ordinal)
        txs = txs.append_column("block_number", tx_number.cast(_STRING))
        txs = txs.append_column("block_hash", block_hash.take(ordinal))
        txs = txs.append_column("block_timestamp", timestamp.take(ordinal).cast(_STRING))
        txs = txs.filter(tx_number.is_valid()).select([*tx_columns, "_file", "_row"])
        return {ExportKind.BLOCKS: blocks, ExportKind.TRANSACTIONS: txs}


def _address_lists(addresses: list[str | None]) -> pa.Array:
    """One list per script: its address, or empty for a script without one."""
    present = [0]
    total = 0
    for address in addresses:
        total += address is not None
        present.append(total)
    values = pa.array(addresses, _STRING).drop_null()
    return pa.ListArray.from_arrays(pa.array(present, pa.int32()), values)


def _text(values: list[int]) -> pa.Array:
    return pa.array(values, pa.int64()).cast(_STRING)


def _offsets(counts: list[int]) -> pa.Array:
    offsets = [0]
    total = 0
    for count in counts:
        total += count
        offsets.append(total)
    return pa.array(offsets, pa.int32())


class BlockFileSource(RelationSource):
    """Bitcoin Core block files (``blk*.dat``), raw blocks (``.blk``, hex) and their ``.bz2``."""

    stage = "reading block files"
    canonical_addresses = True

    def __init__(self, paths: list[Path]) -> None:
        self._files, self._ignored = discover_block_files(paths)

    @property
    def files(self) -> list[str]:
        return [str(p) for p in self._files]

    @property
    def ignored(self) -> list[str]:
        return [str(p) for p in self._ignored]

    def check(self, spec: ChainSpec) -> None:
        if not spec.block_networks:
            readable = ", ".join(name for name, c in CHAINS.items() if c.block_networks)
            raise ConfigError(
                f"block files of {spec.name} cannot be read (its block format differs from "
                f"Bitcoin's or is not supported yet); block files are read for: {readable}"
            )

    def relations(self, spec: ChainSpec, engine: Engine) -> Relations:
        assert spec.utxo_format is not None
        tables = EtlTables(ScriptAddresses(spec.utxo_format))
        others = [n for c in CHAINS.values() for n in c.block_networks if c is not spec]
        seen: set[str] = set()
        duplicates = 0
        for path in self._files:
            for raw in read_blocks(path, spec.block_networks, others=others):
                block_hash = _header_hash(raw.data)
                if block_hash in seen:
                    duplicates += 1
                    continue
                block = decode_block(raw)
                seen.add(block_hash)
                tables.add(block)
        placement = place_blocks(
            tables.links,
            genesis_hashes={n.genesis_hash for n in spec.block_networks},
            stored_heights=lambda hashes: _stored_heights(engine, hashes),
        )
        check_against_store(engine, placement.heights)
        warnings: list[str] = []
        if placement.stale:
            warnings.append(
                f"{len(placement.stale)} stale block(s) in the files (off the branch with the "
                f"most work) were left out: {', '.join(placement.stale[:5])}"
                + (" …" if len(placement.stale) > 5 else "")
            )
        if duplicates:
            warnings.append(f"{duplicates} block(s) appeared more than once and were read once")
        return Relations(tables.tables(placement.heights), warnings)


def _header_hash(data: bytes) -> str:
    if len(data) < HEADER_SIZE:
        return data.hex()  # too short to be a block: decode_block reports it
    return double_sha256(data[:HEADER_SIZE])[::-1].hex()


def _stored_heights(engine: Engine, hashes: list[str]) -> dict[str, int]:
    engine.register_arrow("block_parents", pa.table({"hash": pa.array(hashes, _STRING)}))
    rows = engine.query(
        "SELECT s.block_hash, s.block_number FROM store_blocks AS s "
        "JOIN block_parents AS p ON p.hash = s.block_hash"
    )
    return {str(h): int(n) for h, n in rows}


def check_against_store(engine: Engine, heights: Mapping[str, int]) -> None:
    """Refuse blocks that compete with stored ones: that is a reorganisation to roll back."""
    engine.register_arrow(
        "run_blocks",
        pa.table(
            {
                "block_hash": pa.array(list(heights), _STRING),
                "block_number": pa.array(list(heights.values()), pa.int64()),
            }
        ),
    )
    rows = engine.query(
        "SELECT r.block_number, r.block_hash, s.block_hash FROM run_blocks AS r "
        "JOIN store_blocks AS s ON s.block_number = r.block_number "
        "WHERE s.block_hash IS NOT NULL AND s.block_hash <> r.block_hash "
        "ORDER BY r.block_number LIMIT 1"
    )
    if rows:
        number, ours, theirs = rows[0]
        raise InputError(
            f"block {ours} at height {number} competes with block {theirs} already stored at "
            "that height (a chain reorganisation); rolling the store back is not supported yet"
        )

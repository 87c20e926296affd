"""Real blocks with a fork, and a canonical view of a store, for rollback and sync tests.

btcd's ``blockchain/testdata/reorgtest.hex`` is a hex dump of real blocks on the mainnet
magic: blocks 0-4 of one branch and 3A, 4A, 5A of a branch that forks after block 2 and has
more work. Each ``Block NAME:`` section lists the framed block in 4-byte hex words (the magic,
the little-endian length, then the block).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import duckdb

from counterflow.store import DataDirectory
from counterflow.store.schema import ALL_TABLES

REORGTEST = Path("chain/bitcoin-blocks/btcd/blockchain/testdata/reorgtest.hex")
MAIN = ("0", "1", "2", "3", "4")
ALT = ("0", "1", "2", "3A", "4A", "5A")
_MAGIC = bytes.fromhex("f9beb4d9")


def read_reorgtest(path: Path) -> dict[str, bytes]:
    """The raw blocks of the dump by name ("0".."4", "3A".."5A")."""
    sections: dict[str, list[str]] = {}
    name: str | None = None
    for line in path.read_text(encoding="ascii").splitlines():
        header = re.match(r"\s*Block (\w+):", line)
        if header:
            name = header.group(1)
            sections[name] = []
        elif name is not None and not line.startswith("File path"):
            sections[name] += [w for w in line.split() if re.fullmatch(r"[0-9a-fA-F]+", w)]
    blocks: dict[str, bytes] = {}
    for key, words in sections.items():
        framed = bytes.fromhex("".join(words))
        assert framed[:4] == _MAGIC
        (length,) = struct.unpack("<I", framed[4:8])
        blocks[key] = framed[8 : 8 + length]
        assert len(blocks[key]) == length
    return blocks


def write_blk(blocks: list[bytes], path: Path) -> Path:
    """``blocks`` framed as a Bitcoin Core ``blk*.dat`` file."""
    path.write_bytes(b"".join(_MAGIC + struct.pack("<I", len(b)) + b for b in blocks))
    return path


def snapshot(data_dir: Path | DataDirectory, chain: str) -> dict[str, Any]:
    """Every table's rows (sorted) and the id counters: what two equal stores share."""
    directory = data_dir if isinstance(data_dir, DataDirectory) else DataDirectory(data_dir)
    state: dict[str, Any] = {}
    for table in ALL_TABLES.values():
        files = [str(p) for p in directory.table_files(chain, table.name)]
        columns = ", ".join(table.column_names)
        state[table.name] = (
            duckdb.sql(f"SELECT {columns} FROM read_parquet({files!r}) ORDER BY ALL").fetchall()
            if files
            else []
        )
    state["next_ids"] = directory.manifest(chain).next_ids
    return state


def canonical(data_dir: Path | DataDirectory, chain: str) -> list[tuple[Any, ...]]:
    """Transfers with ids replaced by what they stand for: equal whatever the numbering."""
    directory = data_dir if isinstance(data_dir, DataDirectory) else DataDirectory(data_dir)
    con = duckdb.connect()
    for table in ("transfers", "addresses", "transactions"):
        files = [str(p) for p in directory.table_files(chain, table)]
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({files!r})")
    return con.execute(
        """
        SELECT f.block_number, f.tx_index, f.seq, f.kind, t.tx_hash, s.address, d.address,
               f.asset_id, f.amount, p.tx_hash, f.prev_vout
        FROM transfers AS f
        LEFT JOIN transactions AS t ON t.tx_id = f.tx_id
        LEFT JOIN transactions AS p ON p.tx_id = f.prev_tx_id
        LEFT JOIN addresses AS s ON s.address_id = f.src_id
        LEFT JOIN addresses AS d ON d.address_id = f.dst_id
        ORDER BY ALL
        """
    ).fetchall()

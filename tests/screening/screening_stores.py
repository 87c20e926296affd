"""Small stores for screening tests: ether transfers through the real ingest, lists into the
real tag store."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import bitcoin_exports
from bitcoin_exports import utxo_tx
from counterflow.attribution.records import ListedAddress, ListEntry, ParsedList, SourceFile
from counterflow.attribution.tagstore import ImportReport, TagStore
from counterflow.ingest import ingest

HEADER = "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n"
#: 2024-11-30T21:53:20Z: transfers happen before any list version used in the tests.
T0 = 1_733_000_000


def addr(name: str) -> str:
    """A valid lowercase Ethereum address derived from ``name``."""
    return "0x" + hashlib.sha256(name.encode()).hexdigest()[:40]


def account_store(root: Path, rows: Sequence[tuple[str, str, int]]) -> Path:
    """Ingest ether transfers ``(from, to, wei)`` (named holders, one per block) into a store."""
    exports = root / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    lines = [
        f"0x{i + 1:064x},{100 + i},0,{addr(s)},{addr(d)},{v},{T0 + 60 * i}\n"
        for i, (s, d, v) in enumerate(rows)
    ]
    (exports / "transactions.csv").write_text(HEADER + "".join(lines))
    ingest("ethereum", [exports], data_dir=root / "store")
    return root / "store"


def listed(
    name: str,
    category: str,
    label: str,
    *,
    chain: str = "ethereum",
    entry: str | None = None,
    programs: tuple[str, ...] = (),
    confidence: float = 1.0,
) -> ListedAddress:
    address = addr(name) if chain == "ethereum" else name
    return ListedAddress(chain, address, category, label, confidence, entry, programs)


def import_list(
    store: Path,
    source: str,
    addresses: Sequence[ListedAddress],
    published: date,
    *,
    entries: Sequence[ListEntry] = (),
    tlp: str = "clear",
    owner: str | None = None,
) -> ImportReport:
    """Import one version of a list (its 'file' hash is its content, so versions differ)."""
    digest = hashlib.sha256(repr((source, addresses, entries, published)).encode()).hexdigest()
    parsed = ParsedList(
        source=source,
        format="test",
        files=(SourceFile(f"{source}-{published}.txt", digest),),
        published=published,
        entries=tuple(entries),
        addresses=tuple(addresses),
    )
    return TagStore(store).import_list(parsed, tlp=tlp, owner=owner)


def bitcoin_store(
    root: Path,
    txs: Sequence[tuple[str, Sequence[tuple[str, int, str, int]], Sequence[tuple[str, int]]]],
) -> Path:
    """Ingest Bitcoin transactions ``(name, inputs, outputs)``, one per block from T0, into a
    store. Inputs are ``(funding tx name, output index, address, value)``, outputs
    ``(address, value)``; a transaction without inputs is a coinbase."""
    return bitcoin_exports.bitcoin_store(
        root,
        [
            utxo_tx(name, block, inputs, outputs, t0=T0)
            for block, (name, inputs, outputs) in enumerate(txs, start=1)
        ],
    )

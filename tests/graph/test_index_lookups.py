"""The lookup tables saved with the graph index answer exactly what the store's tables hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import Traced
from counterflow.graph import lookup
from counterflow.graph.index import index_dir, load_index
from counterflow.graph.lookup import build_lookups
from counterflow.graph.session import GraphSession
from counterflow.store.reader import StoreReader


@pytest.mark.parametrize("chain", ["bitcoin", "ethereum"])
def test_round_trips_match_the_store(bybit: Traced, chain: str) -> None:
    index = load_index(bybit.store, chain)
    tables = index.lookups
    assert tables is not None
    with StoreReader(bybit.store) as reader:
        addresses = reader.rows(
            f"SELECT address_id, address FROM {reader.table(chain, 'addresses')}"
        )
        txs = reader.rows(f"SELECT tx_id, tx_hash FROM {reader.table(chain, 'transactions')}")
    assert tables.address_texts([int(i) for i, _ in addresses]) == {
        int(i): str(a) for i, a in addresses
    }
    assert tables.address_ids([str(a) for _, a in addresses]) == {
        str(a): int(i) for i, a in addresses
    }
    assert tables.tx_hashes([int(i) for i, _ in txs]) == {int(i): str(h) for i, h in txs}
    assert tables.tx_ids([str(h) for _, h in txs]) == {str(h): int(i) for i, h in txs}
    # the saved (memory-mapped) tables answer like the built ones
    reloaded = load_index(bybit.store, chain).lookups
    assert reloaded is not None
    # plain ndarray views of the memory maps (which the views keep open), read-only
    assert type(reloaded.addr_blob) is np.ndarray
    assert isinstance(reloaded.addr_blob.base, np.memmap)
    assert not reloaded.addr_blob.flags.writeable
    sample = [str(a) for _, a in addresses[:50]]
    assert reloaded.address_ids(sample) == tables.address_ids(sample)
    assert (index_dir(bybit.store, chain) / "lookup-addr_blob.npy").is_file()


def test_unknown_texts_and_ids_are_left_out(bybit: Traced) -> None:
    index = load_index(bybit.store, "ethereum")
    tables = index.lookups
    assert tables is not None
    known = tables.address_texts([0])[0]
    absent = "0x" + "00" * 19 + "01"
    assert tables.address_ids([absent, known, known.upper(), ""]) == {known: 0}
    assert tables.address_texts([-1, index.n_addresses, 10**12]) == {}
    assert tables.tx_ids(["0x" + "ab" * 32, "nonsense", ""]) == {}
    assert tables.tx_hashes([-1, index.n_transactions]) == {}


def test_hash_collisions_are_resolved_by_the_text(
    bybit: Traced, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every text hashing alike still finds its own id (a comparison per candidate)."""

    def collide(blob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        return np.zeros(len(offsets) - 1, np.uint64)

    monkeypatch.setattr(lookup, "_hash_texts", collide)
    store, chain = bybit.store, "bitcoin"
    index = load_index(store, chain)
    tables = build_lookups(
        chain,
        store.table_files(chain, "addresses"),
        store.table_files(chain, "transactions"),
    )
    assert not tables.addr_keys.any()
    texts = tables.address_texts(list(range(0, index.n_addresses, 97)))
    assert tables.address_ids(list(texts.values())) == {t: i for i, t in texts.items()}
    assert tables.address_ids(["1BoatSLRHtKNngkdXEeobR76b53LETtpyT"]) == {}


def test_unusual_hashes_and_gaps(tmp_path: Path) -> None:
    """Pseudo hashes, other cases and ids without a row keep their exact store text."""
    regular = "0x" + "12" * 32
    rows = {
        0: regular,
        1: "0x" + "AB" * 32,  # upper case: not the usual form, kept as text
        3: "pseudo:internal:7",
        4: "0x" + "12" * 31 + "13",  # shares its first 8 bytes with tx 0
    }
    path = tmp_path / "transactions.parquet"
    pq.write_table(
        pa.table(
            {
                "tx_id": pa.array(list(rows), pa.int64()),
                "tx_hash": pa.array(list(rows.values()), pa.string()),
            }
        ),
        path,
    )
    addresses = tmp_path / "addresses.parquet"
    pq.write_table(
        pa.table(
            {
                "address_id": pa.array([2, 0], pa.int64()),
                "address": pa.array(["0xbb", "0xaa"], pa.string()),
            }
        ),
        addresses,
    )
    tables = build_lookups("ethereum", [addresses], [path])
    assert tables.tx_hashes(list(range(6))) == rows
    assert tables.tx_ids([*rows.values(), "0x" + "ab" * 32]) == {h: i for i, h in rows.items()}
    assert list(tables.tx_state) == [1, 2, 0, 2, 1]
    assert tables.address_texts([0, 1, 2, 3]) == {0: "0xaa", 2: "0xbb"}
    assert tables.address_ids(["0xaa", "0xbb", ""]) == {"0xaa": 0, "0xbb": 2}


def test_transfers_read_in_key_order_with_exact_amounts(tmp_path: Path) -> None:
    """Nulls sort last, amounts above 2^63 split exactly, times round to the second."""
    from decimal import Decimal

    from counterflow.graph.index import _TRANSFER_SCHEMA, _read_transfers

    rows = {
        "block_number": [2, 1, 1, 1],
        "tx_index": [None, None, 0, 0],
        "seq": [0, 0, 1, 0],
        "kind": [1, 1, 1, 1],
        "tx_id": [None, 3, 2, 2],
        "src_id": [1, None, 2, 3],
        "dst_id": [0, 0, None, 1],
        "asset_id": [0, 0, 1, 1],
        "amount": [Decimal(5), None, Decimal(2**70 + 3), Decimal(10**18)],
        "block_time": [0, 1_500_000, 2_000_000, 3_000_000],
        "prev_tx_id": [None] * 4,
        "prev_vout": [None] * 4,
    }
    pq.write_table(pa.table(rows, schema=_TRANSFER_SCHEMA), tmp_path / "part.parquet")
    columns, shifts = _read_transfers([tmp_path / "part.parquet"], True)
    assert shifts == {0: 0, 1: 6}
    got = {name: values.tolist() for name, values in columns.items()}
    assert got["block_number"] == [1, 1, 1, 2]
    assert got["tx_id"] == [2, 2, 3, -1]
    assert got["src_id"] == [3, 2, -1, 1]
    assert got["units"] == [10**12, (2**70 + 3) // 10**6, 0, 5]
    assert got["rem"] == [0, (2**70 + 3) % 10**6, 0, 0]
    assert got["time"] == [3, 2, 2, 0]


@pytest.mark.parametrize("chain", ["bitcoin", "ethereum"])
def test_a_session_without_lookup_tables_asks_the_store_the_same(bybit: Traced, chain: str) -> None:
    with StoreReader(bybit.store) as reader:
        tables = GraphSession(bybit.store, [], reader)
        store = GraphSession(bybit.store, [], reader)
        store._lookups[chain] = None  # an index saved without its lookup tables
        addresses = reader.rows(
            f"SELECT address_id, address FROM {reader.table(chain, 'addresses')} LIMIT 40"
        )
        txs = reader.rows(
            f"SELECT tx_id, tx_hash FROM {reader.table(chain, 'transactions')} LIMIT 40"
        )
        ids, texts = [int(i) for i, _ in addresses], [str(a) for _, a in addresses]
        hashes, tx_ids = [str(h) for _, h in txs], [int(i) for i, _ in txs]
        for session in (tables, store):
            found = session.address_ids(chain, [*texts, "not-stored"])
            assert found == dict(zip(texts, ids, strict=True))
            assert session.address_texts(chain, ids) == dict(zip(ids, texts, strict=True))
            assert session.tx_ids(chain, hashes) == dict(zip(hashes, tx_ids, strict=True))
            assert session.tx_hashes(chain, tx_ids) == dict(zip(tx_ids, hashes, strict=True))
            assert session.address_ids(chain, []) == {}

"""What a trace or an exposure query loads once: each chain it touches, id <-> text lookups.

Tracing, exposure and screening's designation tables all walk the same indexes with the same
labels. A session loads a chain's index the first time a query touches it, resolves the labels'
addresses to holder ids and the chain's service boundaries, and answers id <-> address and
id <-> transaction-hash questions from the tables saved with the index (a gather or a binary
search each), falling back to the store where an index was saved without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from counterflow.attribution.tagpack import Tag
from counterflow.chains.registry import get_chain
from counterflow.errors import InputError
from counterflow.graph.boundaries import Boundaries, boundaries
from counterflow.graph.coinjoin import CoinJoins, coinjoins
from counterflow.graph.index import GraphIndex, index_dir, load_index
from counterflow.graph.lookup import Lookups
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class LoadedChain:
    """One chain as a session holds it: its index, service roles and asset symbols."""

    name: str
    index: GraphIndex
    bounds: Boundaries
    symbols: dict[int, str]
    coinjoins: CoinJoins | None = None


class GraphSession:
    """The chains a query touches (a trace, an exposure, a designation table), each loaded
    once, and id <-> text lookups."""

    def __init__(self, directory: DataDirectory, tags: list[Tag], reader: StoreReader) -> None:
        self.directory = directory
        self.tags = tags
        self.reader = reader
        self.chains: dict[str, LoadedChain] = {}
        self.stored_chains = frozenset(directory.chains())
        self._lookups: dict[str, Lookups | None] = {}

    def chain(self, name: str) -> LoadedChain:
        if name not in self.chains:
            index = load_index(self.directory, name)
            self._lookups[name] = index.lookups
            tags = {t.address: t for t in self.tags if t.chain == name}
            ids = self.address_ids(name, sorted(tags))
            labelled = {ids[a]: tags[a] for a in sorted(ids)}
            symbols = index.derived.get("symbols")
            if not isinstance(symbols, dict):
                symbols = {0: get_chain(name).native_symbol}
                for asset_id, symbol, contract in self.reader.rows(
                    f"SELECT asset_id, symbol, contract FROM {self.reader.table(name, 'assets')}"
                ):
                    if int(asset_id) != 0:
                        symbols[int(asset_id)] = str(symbol or contract)
                index.derived["symbols"] = symbols
            roles = boundaries(index, labelled, cache=index_dir(self.directory, name))
            self.chains[name] = LoadedChain(name, index, roles, symbols)
        return self.chains[name]

    def coinjoins(self, c: LoadedChain) -> CoinJoins:
        """The chain's CoinJoin sub-transactions, detected once per trace (UTXO chains)."""
        if c.coinjoins is None:
            c.coinjoins = coinjoins(self.reader, c.index, cache=index_dir(self.directory, c.name))
        return c.coinjoins

    def lookups(self, chain: str) -> Lookups | None:
        """The chain's id <-> text tables, saved with its index (None: ask the store)."""
        if chain not in self._lookups:
            self._lookups[chain] = load_index(self.directory, chain).lookups
        return self._lookups[chain]

    # The lookups below answer from the index's memory-mapped tables: a gather or a binary
    # search each, where a store query scans a whole Parquet table. Texts and ids not in the
    # store are left out of the answer, as the store query leaves them out.
    def address_ids(self, chain: str, addresses: list[str]) -> dict[str, int]:
        tables = self.lookups(chain) if addresses else None
        if tables is not None:
            return tables.address_ids(addresses)
        return self._stored(chain, "addresses", "address", "address_id", addresses, str, int)

    def address_texts(self, chain: str, ids: list[int]) -> dict[int, str]:
        tables = self.lookups(chain) if ids else None
        if tables is not None:
            return tables.address_texts(ids)
        return self._stored(chain, "addresses", "address_id", "address", ids, int, str)

    def tx_hashes(self, chain: str, ids: list[int]) -> dict[int, str]:
        tables = self.lookups(chain) if ids else None
        if tables is not None:
            return tables.tx_hashes(ids)
        return self._stored(chain, "transactions", "tx_id", "tx_hash", ids, int, str)

    def tx_ids(self, chain: str, hashes: list[str]) -> dict[str, int]:
        tables = self.lookups(chain) if hashes else None
        if tables is not None:
            return tables.tx_ids(hashes)
        return self._stored(chain, "transactions", "tx_hash", "tx_id", hashes, str, int)

    def _stored(
        self,
        chain: str,
        table: str,
        key: str,
        value: str,
        keys: Sequence[K],
        key_type: Callable[[Any], K],
        value_type: Callable[[Any], V],
    ) -> dict[K, V]:
        """``key`` -> ``value`` of ``table`` for ``keys``, asked of the store (an index saved
        without lookup tables)."""
        if not keys:
            return {}
        rows = self.reader.rows(
            f"SELECT {key}, {value} FROM {self.reader.table(chain, table)} "
            f"WHERE {key} IN (SELECT unnest(?))",
            [list(keys)],
        )
        return {key_type(k): value_type(v) for k, v in rows}


def epoch_seconds(text: str) -> int:
    """Unix seconds of an ISO 8601 time (a time without a zone is UTC), for window bounds."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())

"""What a trace or an exposure query loads once: each chain it touches, id <-> text lookups.

Tracing, exposure and screening's designation tables all walk the same indexes with the same
labels. A session loads a chain's index the first time a query touches it, resolves the labels'
addresses to holder ids and the chain's service boundaries, and answers id <-> address and
id <-> transaction-hash questions from the tables saved with the index (a gather or a binary
search each), falling back to the store where an index was saved without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from counterflow.attribution.tagpack import Tag
from counterflow.chains.registry import get_chain
from counterflow.errors import InputError
from counterflow.graph.boundaries import Boundaries, boundaries
from counterflow.graph.coinjoin import CoinJoins, coinjoins
from counterflow.graph.index import GraphIndex, index_dir, load_index
from counterflow.graph.lookup import Lookups
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader


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
        if not addresses:
            return {}
        tables = self.lookups(chain)
        if tables is not None:
            return tables.address_ids(addresses)
        rows = self.reader.rows(
            f"SELECT address, address_id FROM {self.reader.table(chain, 'addresses')} "
            "WHERE address IN (SELECT unnest(?))",
            [addresses],
        )
        return {str(a): int(i) for a, i in rows}

    def address_texts(self, chain: str, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        tables = self.lookups(chain)
        if tables is not None:
            return tables.address_texts(ids)
        rows = self.reader.rows(
            f"SELECT address_id, address FROM {self.reader.table(chain, 'addresses')} "
            "WHERE address_id IN (SELECT unnest(?))",
            [ids],
        )
        return {int(i): str(a) for i, a in rows}

    def tx_hashes(self, chain: str, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        tables = self.lookups(chain)
        if tables is not None:
            return tables.tx_hashes(ids)
        rows = self.reader.rows(
            f"SELECT tx_id, tx_hash FROM {self.reader.table(chain, 'transactions')} "
            "WHERE tx_id IN (SELECT unnest(?))",
            [ids],
        )
        return {int(i): str(h) for i, h in rows}

    def tx_ids(self, chain: str, hashes: list[str]) -> dict[str, int]:
        if not hashes:
            return {}
        tables = self.lookups(chain)
        if tables is not None:
            return tables.tx_ids(hashes)
        rows = self.reader.rows(
            f"SELECT tx_hash, tx_id FROM {self.reader.table(chain, 'transactions')} "
            "WHERE tx_hash IN (SELECT unnest(?))",
            [hashes],
        )
        return {str(h): int(i) for h, i in rows}


def epoch_seconds(text: str) -> int:
    """Unix seconds of an ISO 8601 time (a time without a zone is UTC), for window bounds."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())

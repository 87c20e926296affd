"""The screener: one object per process that answers "how risky is this address?" fast.

It holds what every answer needs in memory — the tag store's current generation
(:mod:`~counterflow.screening.listings`), each chain's graph index (memory-mapped) and the
designation tables of the viewers and screening epochs asked about so far
(:mod:`~counterflow.screening.designations`) — and checks, at most once per
``refresh_seconds``, whether the tag store, a chain's store parts or its clustering changed;
then it reloads what changed by itself. A single screening is a dictionary lookup of the
address's listings, a binary search in the table and a few reasons built; a batch validates
and looks up whole Arrow columns and builds results only for addresses that have something.

Thread safety: reads share immutable state; a reload or a new table is built under a lock and
published by replacing a reference, so concurrent callers see the old or the new state, whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from counterflow.attribution.tagstore import TagStore
from counterflow.attribution.tlp import OPERATOR, Viewer
from counterflow.errors import InputError
from counterflow.graph.index import GraphIndex, load_index, store_parts
from counterflow.screening.addresses import canonical, dictionary, normalize_batch, plain
from counterflow.screening.assess import assess
from counterflow.screening.designations import DesignationTable, designation_table, table_key
from counterflow.screening.listings import Listings
from counterflow.screening.names import NameIndex, NameMatches
from counterflow.screening.policy import DEFAULT_POLICY, RiskLevel, ScreeningPolicy
from counterflow.screening.results import ScreeningResult, ScreenRequest
from counterflow.store.datadir import DataDirectory

#: Batches at least this long are validated as Arrow columns, not address by address.
BULK = 64
#: Designation tables kept in memory (per viewer, epoch, chain and cut-off).
TABLES_KEPT = 32


@dataclass
class _ChainState:
    name: str
    index: GraphIndex
    parts: list[dict[str, Any]]
    clustering: list[str]
    times: np.ndarray


@dataclass
class _State:
    listings: Listings
    chains: dict[str, _ChainState]
    #: (partner, epoch, chain, cutoff) -> table key; table key -> table
    keys: dict[tuple[str | None, int, str, int], str] = field(default_factory=dict)
    tables: dict[str, DesignationTable] = field(default_factory=dict)
    evidence: dict[tuple[str | None, int, str, str], dict[str, Any]] = field(default_factory=dict)
    names: dict[str | None, NameIndex] = field(default_factory=dict)
    #: per-address levels and reason counts for batches (listed addresses, table addresses)
    levels: dict[tuple[Any, ...], tuple[pa.Array, np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )


class Screener:
    """Screen addresses (and names) against the lists and the graph; see the module docstring."""

    def __init__(
        self,
        directory: DataDirectory | str | Path,
        *,
        policy: ScreeningPolicy | None = None,
        refresh_seconds: float = 1.0,
    ) -> None:
        self.directory = (
            directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
        )
        self.policy = policy if policy is not None else DEFAULT_POLICY
        self.refresh_seconds = refresh_seconds
        self._store = TagStore(self.directory)
        self._lock = threading.RLock()
        self._state: _State | None = None
        self._checked = 0.0

    # -- public API -------------------------------------------------------------------------
    def screen(
        self,
        requests: Sequence[ScreenRequest],
        *,
        viewer: Viewer = OPERATOR,
        at: datetime | None = None,
    ) -> list[ScreeningResult]:
        """Screen each request; the first invalid address raises :class:`InvalidAddressError`."""
        moment = _moment(at)
        resolved = self._resolve(requests)
        state = self._current()
        return [
            self._screen_one(state, chain, address, viewer, moment) for chain, address in resolved
        ]

    def validate(self, requests: Sequence[ScreenRequest]) -> list[tuple[int, str]]:
        """``(index, message)`` of every invalid request; nothing is raised."""
        if not requests:
            return []
        batch = normalize_batch([r.address for r in requests], [r.chain for r in requests])
        return batch.errors

    def screen_names(
        self, names: Sequence[str], *, viewer: Viewer = OPERATOR, limit: int = 5
    ) -> list[NameMatches]:
        """Each name against the names and aliases of the listed parties the viewer may see."""
        if limit < 1:
            raise InputError(f"limit must be at least 1, got {limit}")
        state = self._current()
        index = state.names.get(viewer.partner)
        if index is None:
            with self._lock:
                index = state.names.get(viewer.partner)
                if index is None:
                    index = NameIndex(state.listings.visible_entries(viewer))
                    state.names[viewer.partner] = index
        return [index.search(name, limit=limit) for name in names]

    def screen_table(
        self,
        addresses: pa.Array | Sequence[str],
        chains: pa.Array | Sequence[str | None] | str | None = None,
        *,
        viewer: Viewer = OPERATOR,
        at: datetime | None = None,
        skip_invalid: bool = False,
        exposure: bool = True,
        details: bool = True,
    ) -> tuple[pa.Table, list[ScreeningResult]]:
        """Screen a whole column of addresses, vectorised.

        Returns an Arrow table with one row per input (``position``, ``chain``, ``address``
        canonical, ``risk``, ``reasons``: how many; invalid inputs, with ``skip_invalid``, have
        a null address and risk ``invalid``) and, with ``details``, the full results of the
        addresses that have any reason, in input order. ``exposure=False`` looks at listings
        only (no designation tables).

        Every address's level and reason count come from lookups in two precomputed columns —
        per listed address, per address of the designation table — each made by the same
        :func:`~counterflow.screening.assess.assess` a single screening runs, so a batch and
        single screenings agree by construction.
        """
        moment = _moment(at)
        batch = normalize_batch(addresses, chains)
        if batch.errors and not skip_invalid:
            position, message = batch.errors[0]
            _raise_invalid(_text(addresses, position), batch.chains[position].as_py(), message)
        state = self._current()
        n = len(batch.addresses)
        # every chain's key set in one: a single hash lookup per item, then the level of the
        # key on the item's own chain (EVM chains share address forms)
        present = np.flatnonzero(np.bincount(batch.codes[batch.codes >= 0], minlength=1))
        sets = [
            self._chain_levels(state, viewer, moment, batch.names[c], exposure) for c in present
        ]
        texts = [plain(keys).cast(pa.string()) for keys, _, _ in sets]
        union = dictionary(pa.concat_arrays(texts) if texts else pa.array([], pa.string()))
        slots = np.asarray(union.indices.to_numpy(zero_copy_only=False), np.int64)
        # per key, its level and count on each chain present in the batch (one column each)
        column = np.full(len(batch.names), -1, np.int64)
        column[present] = np.arange(len(present))
        key_rank = np.zeros((len(union.dictionary), len(present)), np.int8)
        key_count = np.zeros((len(union.dictionary), len(present)), np.int64)
        start = 0
        for c, (keys, ranks, counts) in enumerate(sets):
            mine = slots[start : start + len(keys)]
            key_rank[mine, c] = ranks
            key_count[mine, c] = counts
            start += len(keys)
        found = pc.fill_null(pc.index_in(batch.addresses, value_set=union.dictionary), -1)
        where = np.asarray(found.to_numpy(zero_copy_only=False), np.int64)
        hits = np.flatnonzero((where >= 0) & (batch.codes >= 0))
        rank = np.zeros(n, np.int8)
        count = np.zeros(n, np.int64)
        columns = column[batch.codes[hits]]
        rank[hits] = key_rank[where[hits], columns]
        count[hits] = key_count[where[hits], columns]
        names = [level.value for level in RiskLevel]
        rank_codes = rank.astype(np.int32)
        for position, _ in batch.errors:
            rank_codes[position] = len(names)  # "invalid", after the levels
        risk = pa.DictionaryArray.from_arrays(
            pa.array(rank_codes), pa.array([*names, "invalid"], pa.string())
        ).cast(pa.string())
        results = []
        if details:
            for position in np.flatnonzero(count > 0).tolist():
                chain = batch.chains[position].as_py()
                address = batch.addresses[position].as_py()
                results.append(
                    self._screen_one(state, chain, address, viewer, moment, exposure=exposure)
                )
        table = pa.table(
            {
                "position": pa.array(np.arange(n, dtype=np.int64)),
                "chain": batch.chains.cast(pa.string()),
                "address": batch.addresses,
                "risk": risk,
                "reasons": pa.array(count),
            }
        )
        return table, results

    def warm(self, viewer: Viewer = OPERATOR, at: datetime | None = None) -> dict[str, Any]:
        """Load everything a screening at ``at`` needs now, not on the first request."""
        moment = _moment(at)
        state = self._current()
        built = {}
        for chain in sorted(state.chains):
            table = self._table(state, viewer, moment, chain)
            built[chain] = {"key": table.key, "rows": table.n_rows, **table.stats}
        return {"generation": state.listings.generation, "tables": built}

    # -- internals ----------------------------------------------------------------------------
    def _resolve(self, requests: Sequence[ScreenRequest]) -> list[tuple[str, str]]:
        if len(requests) < BULK:
            resolved = []
            for r in requests:
                resolved.append(canonical(r.address, r.chain))
            return resolved
        batch = normalize_batch([r.address for r in requests], [r.chain for r in requests])
        if batch.errors:
            position, message = batch.errors[0]
            _raise_invalid(requests[position].address, batch.chains[position].as_py(), message)
        return list(zip(batch.chains.to_pylist(), batch.addresses.to_pylist(), strict=True))

    def _screen_one(
        self,
        state: _State,
        chain: str,
        address: str,
        viewer: Viewer,
        moment: datetime,
        *,
        exposure: bool = True,
    ) -> ScreeningResult:
        table = None
        rows = range(0)
        if exposure and chain in state.chains:
            table = self._table(state, viewer, moment, chain)
            rows = table.row_range(address)
        tags = state.listings.rows_of(chain, address, viewer)
        risk, reasons = assess(tags, rows, table, self.policy, moment)
        evidence = self._evidence(state, viewer, moment, chain, table)
        return ScreeningResult(chain, address, risk, tuple(reasons), evidence)

    def _current(self) -> _State:
        now = time.monotonic()
        state = self._state
        if state is not None and now - self._checked < self.refresh_seconds:
            return state
        with self._lock:
            state = self._state
            if state is not None and time.monotonic() - self._checked < self.refresh_seconds:
                return state
            state = self._refreshed(state)
            self._state = state
            self._checked = time.monotonic()
            return state

    def _refreshed(self, state: _State | None) -> _State:
        """The state, reloaded where the tag store, a chain's parts or its clustering changed."""
        generation = self._store.generation
        listings = state.listings if state is not None else None
        if listings is None or listings.generation != generation:
            listings = Listings.load(self._store)
        chains: dict[str, _ChainState] = {}
        changed = state is None or listings is not state.listings
        for name in self.directory.chains():
            parts = store_parts(self.directory, name)
            manifest = self.directory.manifest(name)
            clustering = sorted(manifest.files("entities")) + sorted(
                manifest.files("cluster_links")
            )
            old = state.chains.get(name) if state is not None else None
            if old is not None and old.parts == parts and old.clustering == clustering:
                chains[name] = old
                continue
            changed = True
            if not any(p["table"] == "transfers" for p in parts):
                continue
            index = load_index(self.directory, name)
            times = np.asarray(index.time, np.int64)
            chains[name] = _ChainState(name, index, parts, clustering, times)
        if state is not None and not changed and set(chains) == set(state.chains):
            return state
        return _State(listings=listings, chains=chains)

    def _table(
        self, state: _State, viewer: Viewer, moment: datetime, chain: str
    ) -> DesignationTable:
        c = state.chains[chain]
        epoch = state.listings.epoch(moment)
        cutoff = int(np.searchsorted(c.times, int(moment.timestamp()), side="right"))
        memo = (viewer.partner, epoch, chain, cutoff)
        key = state.keys.get(memo)
        if key is not None:
            table = state.tables.get(key)
            if table is not None:
                return table
        with self._lock:
            tags = state.listings.in_force(viewer, moment, chain)
            key, _ = table_key(self.directory, c.index, cutoff, tags, self.policy)
            table = state.tables.get(key)
            if table is None:
                table = designation_table(
                    self.directory, chain, tags, self.policy, cutoff=cutoff, index=c.index
                )
                if len(state.tables) >= TABLES_KEPT:
                    state.tables.pop(next(iter(state.tables)))
                    state.keys.clear()
                state.tables[key] = table
            state.keys[memo] = key
            return table

    def _chain_levels(
        self, state: _State, viewer: Viewer, moment: datetime, chain: str, exposure: bool
    ) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """Per address of a chain with any reason: its level (the higher of its listing's and
        its designation-table row's) and its reason count (their sum), one key set to look
        a batch up in."""
        listed = self._listed_levels(state, viewer, moment, chain)
        if not exposure or chain not in state.chains:
            return listed
        table = self._table(state, viewer, moment, chain)
        memo = ("chain", viewer.partner, state.listings.epoch(moment), chain, table.key)
        found = state.levels.get(memo)
        if found is not None:
            return found
        rows = self._table_levels(state, table)
        with self._lock:
            texts = [plain(listed[0]).cast(pa.string()), plain(rows[0]).cast(pa.string())]
            keys = dictionary(pa.concat_arrays(texts))
            slot = np.asarray(keys.indices.to_numpy(zero_copy_only=False), np.int64)
            ranks = np.zeros(len(keys.dictionary), np.int8)
            counts = np.zeros(len(keys.dictionary), np.int64)
            np.maximum.at(ranks, slot, np.concatenate([listed[1], rows[1]]))
            np.add.at(counts, slot, np.concatenate([listed[2], rows[2]]))
            found = (keys.dictionary, ranks, counts)
            state.levels[memo] = found
            return found

    def _listed_levels(
        self, state: _State, viewer: Viewer, moment: datetime, chain: str
    ) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """Per address with listing rows the viewer may see: its level and reason count."""
        memo = ("listed", viewer.partner, state.listings.epoch(moment), chain)
        found = state.levels.get(memo)
        if found is not None:
            return found
        with self._lock:
            texts = state.listings.addresses.get(chain, pa.array([], pa.string()))
            ranks = np.zeros(len(texts), np.int8)
            counts = np.zeros(len(texts), np.int64)
            for i, address in enumerate(texts.to_pylist()):
                tags = state.listings.rows_of(chain, address, viewer)
                if tags:
                    risk, reasons = assess(tags, range(0), None, self.policy, moment)
                    ranks[i] = risk.rank
                    counts[i] = len(reasons)
            found = (texts, ranks, counts)
            state.levels[memo] = found
            return found

    def _table_levels(
        self, state: _State, table: DesignationTable
    ) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """Per address of a designation table: the level and count of its row reasons."""
        memo = ("table", table.key)
        found = state.levels.get(memo)
        if found is not None:
            return found
        with self._lock:
            ranks = np.zeros(len(table.addresses), np.int8)
            counts = np.zeros(len(table.addresses), np.int64)
            moment = datetime.now(UTC)  # rows' reasons do not depend on the time
            for i in range(len(table.addresses)):
                rows = range(int(table.starts[i]), int(table.starts[i + 1]))
                risk, reasons = assess((), rows, table, self.policy, moment)
                ranks[i] = risk.rank
                counts[i] = len(reasons)
            found = (table.arrow_addresses, ranks, counts)
            state.levels[memo] = found
            return found

    def _evidence(
        self,
        state: _State,
        viewer: Viewer,
        moment: datetime,
        chain: str,
        table: DesignationTable | None,
    ) -> dict[str, Any]:
        epoch = state.listings.epoch(moment)
        memo = (viewer.partner, epoch, chain, table.key if table is not None else "")
        base = state.evidence.get(memo)
        if base is None:
            lists = [
                {
                    "source": v.source,
                    "version": v.version,
                    "published": v.published.isoformat() if v.published else None,
                    "owner": v.owner,
                    "tlp": v.tlp,
                }
                for v in state.listings.visible_versions(viewer)
                if v.effective <= moment
            ]
            graph = None
            if table is not None:
                graph = {
                    "chain": chain,
                    "index_fingerprint": table.fingerprint,
                    "designation_table": table.key,
                    "transfers_considered": table.cutoff,
                }
            base = {
                "tag_store": {"generation": state.listings.generation, "lists": lists},
                "graph": graph,
                "policy": {
                    "name": self.policy.name,
                    "fingerprint": self.policy.fingerprint,
                    "thresholds": self.policy.to_json(),
                },
            }
            state.evidence[memo] = base
        return {"screened_at": _iso(moment), **base}


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise InputError(f"time {at.isoformat()} has no time zone; Counterflow times are UTC")
    return at.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _raise_invalid(address: str, chain: str | None, message: str) -> None:
    """Raise the codec's own error for an address a batch found invalid."""
    canonical(address, chain)  # raises InvalidAddressError (or InputError: chain unknown)
    raise InputError(message)


def _text(addresses: pa.Array | Sequence[str], position: int) -> str:
    value = addresses[position]
    return str(value.as_py() if isinstance(value, pa.Scalar) else value)

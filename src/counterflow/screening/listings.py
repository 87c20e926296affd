"""The tag store as screening reads it: every listing row in memory, by address, per generation.

The tag store answers one query at a time from its files; a screening service answers a
thousand a second. So each generation of the store is read once into plain dictionaries: rows
by (chain, address) — delisted ones included, for the history a result reports — list versions
for evidence, and the moments at which the set of listings in force changes. Between two such
moments every screening time sees the same set, so the visible, in-force tags (and the
designation tables built from them) are computed once per *epoch*, not once per call.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from counterflow.attribution.tagstore import ListVersion, StoredEntry, StoredTag, TagStore
from counterflow.attribution.tlp import OPERATOR, Viewer


@dataclass
class Listings:
    """One generation of the tag store, indexed for screening."""

    generation: str
    tags: tuple[StoredTag, ...]
    versions: tuple[ListVersion, ...]
    entries: tuple[StoredEntry, ...]
    by_address: dict[tuple[str, str], tuple[StoredTag, ...]]
    breakpoints: list[datetime]
    #: per chain, every address with any row (for vectorised batch lookups)
    addresses: dict[str, pa.Array] = field(default_factory=dict)

    @classmethod
    def load(cls, store: TagStore) -> Listings:
        """Read every row of the current generation (all owners; visibility is applied later)."""
        generation = store.generation
        versions = tuple(store.versions(OPERATOR))
        # every row is in force from its version's effective time, so the union of the sets in
        # force at those times is every row (a row added and removed at once never counts)
        rows: dict[tuple[object, ...], StoredTag] = {}
        for moment in sorted({v.effective for v in versions}):
            for tag in store.tags(OPERATOR, at=moment):
                rows[_row_key(tag)] = tag
        tags = tuple(sorted(rows.values(), key=_row_key))
        by_address: dict[tuple[str, str], list[StoredTag]] = defaultdict(list)
        for tag in tags:
            by_address[(tag.chain, tag.address)].append(tag)
        breakpoints = sorted(
            {t.valid_from for t in tags} | {t.valid_to for t in tags if t.valid_to is not None}
        )
        per_chain: dict[str, list[str]] = defaultdict(list)
        for chain, address in by_address:
            per_chain[chain].append(address)
        entries = _all_entries(store, versions)
        return cls(
            generation=generation,
            tags=tags,
            versions=versions,
            entries=entries,
            by_address={k: tuple(v) for k, v in by_address.items()},
            breakpoints=breakpoints,
            addresses={c: pa.array(sorted(a), pa.string()) for c, a in per_chain.items()},
        )

    def epoch(self, at: datetime) -> int:
        """Which stretch between changes ``at`` falls in: equal epochs, equal in-force sets."""
        return bisect.bisect_right(self.breakpoints, at)

    def in_force(self, viewer: Viewer, at: datetime, chain: str | None = None) -> list[StoredTag]:
        return [
            t
            for t in self.tags
            if t.valid_at(at)
            and viewer.can_see(t.owner, t.tlp)
            and (chain is None or t.chain == chain)
        ]

    def rows_of(self, chain: str, address: str, viewer: Viewer) -> list[StoredTag]:
        """Every row of the address the viewer may see, in force or not."""
        rows = self.by_address.get((chain, address), ())
        return [t for t in rows if viewer.can_see(t.owner, t.tlp)]

    def visible_versions(self, viewer: Viewer) -> list[ListVersion]:
        return [v for v in self.versions if viewer.can_see(v.owner, v.tlp)]

    def visible_entries(self, viewer: Viewer) -> list[StoredEntry]:
        return [e for e in self.entries if viewer.can_see(e.owner, e.tlp)]


def _row_key(tag: StoredTag) -> tuple[object, ...]:
    return (
        tag.chain,
        tag.address,
        tag.category,
        tag.source,
        tag.owner or "",
        tag.entry or "",
        tag.valid_from,
    )


def _all_entries(store: TagStore, versions: tuple[ListVersion, ...]) -> tuple[StoredEntry, ...]:
    rows: dict[tuple[object, ...], StoredEntry] = {}
    for moment in sorted({v.effective for v in versions}):
        for entry in store.entries(OPERATOR, at=moment):
            rows[(entry.source, entry.owner or "", entry.entry, entry.valid_from)] = entry
    return tuple(rows[k] for k in sorted(rows, key=str))

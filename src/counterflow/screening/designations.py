"""Designation propagation: from listed addresses to everyone their value reached, precomputed.

A screening service must answer in milliseconds whether an address received value from a
sanctioned, stolen-funds or threat-actor address, directly or within N hops. Tracing forward
from every listed address on every request is far too slow, and the answer only changes when
the data, the visible lists or the policy change. So it is computed once per chain for one
*key* — graph index fingerprint, time cut-off, the visible listed addresses and service labels,
the propagation settings and the clustering tables — and kept as compact arrays beside the
graph index; screening an address is then a binary search.

What is computed (docs/screening.md, "Designation propagation"):

- **exposure**: per risky category, the forward kernel of tracing (graph/propagation.py) runs
  from every transfer leaving the category's listed addresses (each in full, hop 1), under the
  policy's rule (haircut by default), with custodial services and inferred exchange deposit
  addresses as boundaries, as in tracing. It runs twice: once as tracing does (mixer pools and
  CoinJoin sub-transactions passed through), once with every mixing pool as a boundary; the
  second gives the *unmixed* part, value that reached the address along a path on which no pool
  mixed it with other people's. Per holder and asset: the tainted amount received, its unmixed
  part, what the holder received in all, the fewest hops, and the designation that supplied the
  most of it (one more run per designation when a category has several).
- **entity**: with clustering done, every other address of a listed address's entity, with the
  strength of the chain of clustering links that joins them (a chain is as strong as its weakest
  link). An entity holding a custodial service's address that is not itself listed is not
  expanded: the listed address is then a customer account at the service, not the service.
  Addresses joined strongly enough (``entity_min_confidence``) also seed the exposure runs, as a
  designation of their own carrying the entity confidence.
- **mixer / bridge proximity**: the same kernel from what labelled mixer pools and bridges pay
  out, within their own hop limits.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow as pa

from counterflow.attribution.tagpack import Tag
from counterflow.attribution.tagstore import StoredTag
from counterflow.graph.boundaries import role_of
from counterflow.graph.coinjoin import CACHE_VERSION as COINJOIN_RULES
from counterflow.graph.coinjoin import CoinJoins
from counterflow.graph.index import GraphIndex, index_dir, load_index
from counterflow.graph.policies import (
    ROLE_BRIDGE,
    ROLE_MIXER,
    ROLE_NORMAL,
    ROLE_STOP,
    Policy,
)
from counterflow.graph.propagation import forward_from_transfers
from counterflow.graph.session import GraphSession, LoadedChain
from counterflow.screening.policy import ScreeningPolicy
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader

#: Bumped whenever what a table holds or how it is computed changes: old files are not reused.
TABLE_VERSION = 1
#: Row kinds.
KIND_EXPOSURE = 0
KIND_ENTITY = 1
KIND_MIXER = 2
KIND_BRIDGE = 3
#: ``via`` of a designation.
LISTED = "listed"
ENTITY = "entity"
MIXER = "mixer"
BRIDGE = "bridge"
#: Seed addresses named in a designation's evidence (the count is always complete).
SHOWN_SEEDS = 5
_ROW_ARRAYS = (
    "holder",
    "kind",
    "category",
    "asset",
    "amount",
    "unmixed",
    "received",
    "hops",
    "designation",
    "designations",
    "confidence",
    "entity",
)


@dataclass(frozen=True)
class Designation:
    """Where exposure came from: one list entry (or service) and the addresses it starts at."""

    id: int
    via: str  # listed, entity, mixer, bridge
    category: str
    source: str
    owner: str | None
    version: str
    entry: str | None
    label: str
    programs: tuple[str, ...]
    confidence: float
    seeds: tuple[str, ...]  # the first SHOWN_SEEDS seed addresses
    n_seeds: int

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["programs"] = list(self.programs)
        document["seeds"] = list(self.seeds)
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Designation:
        values = dict(document)
        values["programs"] = tuple(values["programs"])
        values["seeds"] = tuple(values["seeds"])
        return cls(**values)


@dataclass
class DesignationTable:
    """One chain's precomputed designation rows, sorted by holder (see the module docstring).

    Amounts are in the index's (fractional) units per asset; ``base_units`` turns them back into
    integer base units with the index's shifts.
    """

    chain: str
    key: str
    fingerprint: str
    cutoff: int
    shifts: dict[int, int]
    symbols: dict[int, str]
    categories: list[str]
    designations: list[Designation]
    #: unique holders with rows, their canonical addresses, and where their rows start
    holders: np.ndarray
    addresses: np.ndarray
    starts: np.ndarray
    rows: dict[str, np.ndarray]
    stats: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def _position(self) -> dict[str, int]:
        return {str(a): i for i, a in enumerate(self.addresses.tolist())}

    @cached_property
    def arrow_addresses(self) -> pa.Array:
        """The addresses with rows, for vectorised lookups (``pyarrow.compute.index_in``)."""
        return pa.array(self.addresses.tolist(), pa.string())

    def row_range(self, address: str) -> range:
        """The rows of ``address`` (canonical text); empty when nothing reached it."""
        i = self._position.get(address)
        if i is None:
            return range(0)
        return range(int(self.starts[i]), int(self.starts[i + 1]))

    def base_units(self, asset: int, units: float) -> int:
        scale: int = 10 ** self.shifts.get(int(asset), 0)
        whole = int(units)
        return whole * scale + int((units - whole) * scale)

    @property
    def n_rows(self) -> int:
        return len(self.rows["holder"])

    def nbytes(self) -> int:
        return int(
            sum(a.nbytes for a in self.rows.values())
            + self.holders.nbytes
            + self.starts.nbytes
            + self.addresses.nbytes
        )


@dataclass(frozen=True)
class _Group:
    """Seeds of one designation, resolved to holders."""

    designation: Designation
    holders: tuple[int, ...]


def table_key(
    directory: DataDirectory,
    index: GraphIndex,
    cutoff: int,
    tags: Sequence[StoredTag],
    policy: ScreeningPolicy,
) -> tuple[str, dict[str, int]]:
    """The cache key of the table these inputs give, and the holder ids of the tags' addresses.

    Only what changes the table enters the key: tags of addresses the graph does not hold, or
    of categories that neither taint nor set a boundary, do not.
    """
    wanted = [t for t in tags if t.category in policy.list_levels or _is_service(t.category)]
    ids = _address_ids(index, sorted({t.address for t in wanted}))
    digest = hashlib.sha256()
    head = {
        "version": TABLE_VERSION,
        # the CoinJoin rules shape every UTXO table: a table of older rules is not reused
        "coinjoins": COINJOIN_RULES,
        "chain": index.chain,
        "fingerprint": index.fingerprint,
        "cutoff": cutoff,
        "policy": policy.propagation_key(),
        "clustering": _clustering_parts(directory, index.chain),
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    rows = sorted(
        (
            ids[t.address],
            t.category,
            t.label,
            t.source,
            t.owner or "",
            t.version,
            t.entry or "",
            ",".join(t.programs),
            repr(t.confidence),
        )
        for t in wanted
        if t.address in ids
    )
    for row in rows:
        digest.update(("\x1f".join(str(x) for x in row) + "\n").encode())
    return digest.hexdigest()[:32], ids


def designation_table(
    directory: DataDirectory,
    chain: str,
    tags: Sequence[StoredTag],
    policy: ScreeningPolicy,
    *,
    cutoff: int | None = None,
    index: GraphIndex | None = None,
) -> DesignationTable:
    """The designation table of ``chain`` for these (visible, in force) tags: read or computed.

    ``cutoff`` is the number of leading transfers (in the chain's order) that count: what a
    screening at an earlier time could have seen. Default: all of them.
    """
    ix = index if index is not None else load_index(directory, chain)
    limit = ix.n_edges if cutoff is None else int(min(max(cutoff, 0), ix.n_edges))
    key, ids = table_key(directory, ix, limit, tags, policy)
    folder = index_dir(directory, ix.chain) / "screening"
    saved = folder / f"designations-v{TABLE_VERSION}-{key}.npz"
    if saved.is_file():
        loaded = _read(saved, key)
        if loaded is not None:
            return loaded
    table = _compute(directory, ix, limit, tags, ids, policy, key)
    _write(table, saved)
    return table


# -- computing --------------------------------------------------------------------------------


def _compute(
    directory: DataDirectory,
    ix: GraphIndex,
    cutoff: int,
    tags: Sequence[StoredTag],
    ids: dict[str, int],
    policy: ScreeningPolicy,
    key: str,
) -> DesignationTable:
    risky = [t for t in tags if t.category in policy.list_levels and t.address in ids]
    services = [t for t in tags if _is_service(t.category) and t.address in ids]
    # the session's boundaries take the last tag of an address; custodial categories last, so
    # that a sanctioned exchange stops value like any exchange
    services.sort(key=lambda t: (role_of(t.category) == ROLE_STOP, t.category, t.label))
    graph_tags: list[Tag] = [t.to_graph_tag() for t in services]
    with StoreReader(directory) as reader:
        session = GraphSession(directory, graph_tags, reader)
        c = session.chain(ix.chain)
        ix = c.index
        rule = Policy.parse(policy.propagation)
        cj = session.coinjoins(c) if ix.utxo and rule == Policy.HAIRCUT else CoinJoins.none()
        groups = _listed_groups(risky, ids)
        entity_rows: list[tuple[int, int, float, int]] = []  # holder, designation, conf, entity
        skipped: list[int] = []
        if groups and _has_entities(directory, ix.chain):
            extra, entity_rows, skipped = _entity_groups(
                reader, ix.chain, c, groups, policy.entity_min_confidence, len(groups)
            )
            groups = groups + extra
    builder = _Rows(ix, cutoff)
    categories = sorted({g.designation.category for g in groups})
    for category in categories:
        mine = [g for g in groups if g.designation.category == category]
        _exposure_runs(builder, c, cj, rule, policy, categories.index(category), mine)
    for holder, designation, confidence, entity in entity_rows:
        category = groups[designation].designation.category
        builder.add_entity(holder, categories.index(category), designation, confidence, entity)
    designations = [g.designation for g in groups]
    for kind, role, via, hops in (
        (KIND_MIXER, ROLE_MIXER, MIXER, policy.mixer.max_hops),
        (KIND_BRIDGE, ROLE_BRIDGE, BRIDGE, policy.bridge.max_hops),
    ):
        service_groups = _service_groups(c, role, via, len(designations), session)
        designations += [g.designation for g in service_groups]
        if service_groups:
            _proximity_runs(builder, c, rule, policy, kind, hops, service_groups)
    table = builder.finish(
        key=key,
        categories=categories,
        designations=designations,
        symbols=c.symbols,
        names=session,
    )
    table.stats["entities_not_expanded"] = sorted(set(skipped))
    return table


def _is_service(category: str) -> bool:
    return role_of(category) != ROLE_NORMAL


def _address_ids(index: GraphIndex, addresses: list[str]) -> dict[str, int]:
    if not addresses:
        return {}
    if index.lookups is None:  # an index assembled by hand (tests): no text tables
        return {}
    return index.lookups.address_ids(addresses)


def _clustering_parts(directory: DataDirectory, chain: str) -> list[str]:
    manifest = directory.manifest(chain)
    return sorted(manifest.files("entities")) + sorted(manifest.files("cluster_links"))


def _has_entities(directory: DataDirectory, chain: str) -> bool:
    return bool(directory.manifest(chain).files("entities"))


def _listed_groups(tags: Sequence[StoredTag], ids: dict[str, int]) -> list[_Group]:
    """One designation per list entry (or per label where the list names no entries)."""
    by_key: dict[tuple[str, str, str, str], list[StoredTag]] = defaultdict(list)
    for t in tags:
        by_key[(t.category, t.source, t.owner or "", t.entry or f"label:{t.label}")].append(t)
    groups = []
    for i, k in enumerate(sorted(by_key)):
        members = sorted(by_key[k], key=lambda t: (t.address, t.version))
        holders = sorted({ids[t.address] for t in members})
        addresses = sorted({t.address for t in members})
        first = members[0]
        designation = Designation(
            id=i,
            via=LISTED,
            category=first.category,
            source=first.source,
            owner=first.owner,
            version=max(t.version for t in members),
            entry=first.entry,
            label=first.label,
            programs=tuple(sorted({p for t in members for p in t.programs})),
            confidence=max(t.confidence for t in members),
            seeds=tuple(addresses[:SHOWN_SEEDS]),
            n_seeds=len(addresses),
        )
        groups.append(_Group(designation, tuple(holders)))
    return groups


def _entity_groups(
    reader: StoreReader,
    chain: str,
    c: LoadedChain,
    groups: list[_Group],
    min_confidence: float,
    first_id: int,
) -> tuple[list[_Group], list[tuple[int, int, float, int]], list[int]]:
    """Entity members of every listed group: rows for all, a seeding group for the strong ones.

    Returns the new groups, ``(holder, designation, confidence, entity)`` rows and the entities
    left unexpanded because they hold an unlisted custodial service address.
    """
    entities = reader.table(chain, "entities")
    listed = sorted({h for g in groups for h in g.holders})
    entity_of = dict(
        reader.rows(
            f"SELECT address_id, entity_id FROM {entities} WHERE address_id IN (SELECT unnest(?))",
            [listed],
        )
    )
    wanted = sorted({int(e) for e in entity_of.values()})
    members: dict[int, list[int]] = defaultdict(list)
    for address_id, entity_id in reader.rows(
        f"SELECT address_id, entity_id FROM {entities} WHERE entity_id IN (SELECT unnest(?)) "
        "ORDER BY address_id",
        [wanted],
    ):
        members[int(entity_id)].append(int(address_id))
    everyone = sorted({a for m in members.values() for a in m})
    links: list[tuple[int, int, float]] = []
    if len(everyone) > 1:
        table = reader.table(chain, "cluster_links")
        links = [
            (int(a), int(b), float(conf))
            for a, b, conf in reader.rows(
                f"SELECT address_id, linked_id, max(confidence) FROM {table} "
                "WHERE address_id IN (SELECT unnest(?)) GROUP BY address_id, linked_id",
                [everyone],
            )
        ]
    member_of = {a: e for e, ids in members.items() for a in ids}
    by_entity: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for a, b, conf in links:
        e = member_of.get(a)
        if e is not None:
            by_entity[e].append((a, b, conf))
    role = c.bounds.role
    rows: list[tuple[int, int, float, int]] = []
    new: list[_Group] = []
    skipped: list[int] = []
    for g in groups:
        seeds: dict[int, float] = {}
        mine = set(g.holders)
        for entity_id in sorted({int(entity_of[h]) for h in g.holders if h in entity_of}):
            member_ids = members.get(entity_id, [])
            if len(member_ids) < 2:
                continue
            if any(role[m] == ROLE_STOP and m not in mine for m in member_ids):
                skipped.append(entity_id)
                continue
            strength = _bottleneck(
                [h for h in g.holders if entity_of.get(h) == entity_id],
                member_ids,
                by_entity.get(entity_id, []),
            )
            for m, s in strength.items():
                if m in mine:
                    continue
                confidence = g.designation.confidence * s
                rows.append((m, g.designation.id, confidence, entity_id))
                if s >= min_confidence:
                    seeds[m] = max(seeds.get(m, 0.0), confidence)
        if seeds:
            holders = sorted(seeds)
            texts = c.index.lookups.address_texts(holders[:SHOWN_SEEDS]) if c.index.lookups else {}
            d = g.designation
            designation = Designation(
                id=first_id + len(new),
                via=ENTITY,
                category=d.category,
                source=d.source,
                owner=d.owner,
                version=d.version,
                entry=d.entry,
                label=d.label,
                programs=d.programs,
                confidence=min(seeds.values()),
                seeds=tuple(texts.get(h, str(h)) for h in holders[:SHOWN_SEEDS]),
                n_seeds=len(holders),
            )
            new.append(_Group(designation, tuple(holders)))
    return new, rows, skipped


def _bottleneck(
    sources: list[int], members: list[int], links: list[tuple[int, int, float]]
) -> dict[int, float]:
    """Per member, the strongest chain of links to any source, a chain being its weakest link.

    Links are added strongest first (a union-find per confidence level): a member's strength is
    the level at which it first joins a source's component.
    """
    parent = {m: m for m in members}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    strength: dict[int, float] = {s: 1.0 for s in sources if s in parent}
    ordered = sorted(links, key=lambda link: -link[2])
    i = 0
    while i < len(ordered):
        level = ordered[i][2]
        while i < len(ordered) and ordered[i][2] == level:
            a, b, _ = ordered[i]
            if a in parent and b in parent:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
            i += 1
        roots = {find(s) for s in strength if strength[s] == 1.0}
        for m in members:
            if m not in strength and find(m) in roots:
                strength[m] = level
    return strength


def _service_groups(
    c: LoadedChain, role: int, via: str, first_id: int, session: GraphSession
) -> list[_Group]:
    """One designation per labelled mixer (bridge) service, by its service name."""
    by_name: dict[str, list[int]] = defaultdict(list)
    categories: dict[str, str] = {}
    for holder, (name, category, found_by) in c.bounds.services.items():
        if found_by == "labelled" and c.bounds.role[holder] == role:
            by_name[name].append(holder)
            categories[name] = category
    groups: list[_Group] = []
    for name in sorted(by_name):
        holders = sorted(by_name[name])
        texts = session.address_texts(c.name, holders[:SHOWN_SEEDS])
        designation = Designation(
            id=first_id + len(groups),
            via=via,
            category=categories[name],
            source="labels",
            owner=None,
            version="",
            entry=None,
            label=name,
            programs=(),
            confidence=1.0,
            seeds=tuple(texts.get(h, str(h)) for h in holders[:SHOWN_SEEDS]),
            n_seeds=len(holders),
        )
        groups.append(_Group(designation, tuple(holders)))
    return groups


def _seed_edges(ix: GraphIndex, holders: Sequence[int], cutoff: int) -> np.ndarray:
    parts = [
        np.asarray(ix.out_edges[int(ix.out_ptr[h]) : int(ix.out_ptr[h + 1])], np.int64)
        for h in holders
    ]
    if not parts:
        return np.zeros(0, np.int64)
    edges = np.sort(np.concatenate(parts))
    return edges[edges < cutoff]


def _run(
    c: LoadedChain,
    role: np.ndarray,
    rule: Policy,
    max_hops: int,
    min_fraction: float,
    seeds: np.ndarray,
    cj: CoinJoins,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return forward_from_transfers(
        c.index,
        role,
        rule,
        max_hops,
        seeds,
        min_fraction=min_fraction,
        coinjoin_part=cj.part,
        coinjoin_ratio=cj.ratio,
    )


def _mixing_role(c: LoadedChain, role: np.ndarray, cj: CoinJoins) -> np.ndarray:
    """``role`` with every mixing pool a boundary: mixer pools and CoinJoin transactions."""
    ix = c.index
    unmixed = role.copy()
    unmixed[unmixed == ROLE_MIXER] = ROLE_STOP
    if ix.utxo and len(cj.part):
        rounds = np.unique(np.asarray(ix.tx)[np.asarray(cj.part) != -1])
        unmixed[ix.n_addresses + rounds[rounds >= 0]] = ROLE_STOP
    return unmixed


def _exposure_runs(
    builder: _Rows,
    c: LoadedChain,
    cj: CoinJoins,
    rule: Policy,
    policy: ScreeningPolicy,
    category: int,
    groups: list[_Group],
) -> None:
    role = c.bounds.role.copy()
    seeds_all = sorted({h for g in groups for h in g.holders})
    # listed addresses are boundaries: what they pay is seeded whole, so what they receive
    # must not be counted a second time
    role[np.array(seeds_all, np.int64)] = ROLE_STOP
    seeds = _seed_edges(c.index, seeds_all, builder.cutoff)
    if len(seeds) == 0:
        return
    hops = policy.max_hops
    total = _run(c, role, rule, hops, policy.min_fraction, seeds, cj)
    unmixed = _run(c, _mixing_role(c, role, cj), rule, hops, policy.min_fraction, seeds, cj)
    per_group = []
    if len(groups) > 1:
        for g in groups:
            mine = _seed_edges(c.index, g.holders, builder.cutoff)
            if len(mine):
                run = _run(c, role, rule, hops, policy.min_fraction, mine, cj)
                per_group.append((g.designation.id, run))
    else:
        per_group.append((groups[0].designation.id, total))
    builder.add_exposure(KIND_EXPOSURE, category, total, unmixed, per_group, 1.0, groups)


def _proximity_runs(
    builder: _Rows,
    c: LoadedChain,
    rule: Policy,
    policy: ScreeningPolicy,
    kind: int,
    hops: int,
    groups: list[_Group],
) -> None:
    role = c.bounds.role.copy()
    holders = sorted({h for g in groups for h in g.holders})
    role[np.array(holders, np.int64)] = ROLE_STOP
    seeds = _seed_edges(c.index, holders, builder.cutoff)
    if len(seeds) == 0:
        return
    none = CoinJoins.none()
    total = _run(c, role, rule, hops, policy.min_fraction, seeds, none)
    per_group = []
    if len(groups) > 1:
        for g in groups:
            mine = _seed_edges(c.index, g.holders, builder.cutoff)
            if len(mine):
                per_group.append((g.designation.id, _run(c, role, rule, hops, 0.0, mine, none)))
    else:
        per_group.append((groups[0].designation.id, total))
    builder.add_exposure(kind, -1, total, total, per_group, 1.0, groups)


class _Rows:
    """Accumulates rows, then sorts and packs them into a table."""

    def __init__(self, ix: GraphIndex, cutoff: int) -> None:
        self.ix = ix
        self.cutoff = cutoff
        self.n_assets = ix.n_assets
        self.parts: list[dict[str, np.ndarray]] = []

    def _aggregate(
        self, run: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per (receiving address, asset) key: taint received and the fewest hops."""
        edges, taint, hops = run
        keep = edges < self.cutoff
        edges, taint, hops = edges[keep], taint[keep], hops[keep]
        dst = np.asarray(self.ix.dst, np.int64)[edges]
        addresses = dst < self.ix.n_addresses
        edges, taint, hops, dst = (
            edges[addresses],
            taint[addresses],
            hops[addresses],
            dst[addresses],
        )
        asset = np.asarray(self.ix.asset, np.int64)[edges]
        keys = dst * self.n_assets + asset
        unique, inverse = np.unique(keys, return_inverse=True)
        sums = np.zeros(len(unique), np.float64)
        np.add.at(sums, inverse, taint)
        fewest = np.full(len(unique), np.iinfo(np.int64).max, np.int64)
        np.minimum.at(fewest, inverse, hops)
        return unique, sums, fewest

    def add_exposure(
        self,
        kind: int,
        category: int,
        total: tuple[np.ndarray, np.ndarray, np.ndarray],
        unmixed: tuple[np.ndarray, np.ndarray, np.ndarray],
        per_group: list[tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]]],
        confidence: float,
        groups: list[_Group],
    ) -> None:
        keys, amount, hops = self._aggregate(total)
        keep = amount > 0
        keys, amount, hops = keys[keep], amount[keep], hops[keep]
        if len(keys) == 0:
            return
        u_keys, u_amount, _ = self._aggregate(unmixed)
        clean = np.zeros(len(keys), np.float64)
        if len(u_keys):
            pos = np.searchsorted(u_keys, keys)
            found = (pos < len(u_keys)) & (u_keys[np.minimum(pos, len(u_keys) - 1)] == keys)
            clean[found] = np.minimum(u_amount[pos[found]], amount[found])
        best = np.full(len(keys), -1, np.int64)
        best_amount = np.zeros(len(keys), np.float64)
        count = np.zeros(len(keys), np.int64)
        for designation, run in per_group:
            g_keys, g_amount, _ = self._aggregate(run)
            pos = np.searchsorted(keys, g_keys)
            ok = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == g_keys)
            ok &= g_amount > 0
            pos, g_amount = pos[ok], g_amount[ok]
            count[pos] += 1
            better = g_amount > best_amount[pos]
            best[pos[better]] = designation
            best_amount[pos[better]] = g_amount[better]
        confidences = {g.designation.id: g.designation.confidence for g in groups}
        conf = np.array([confidences.get(int(b), confidence) for b in best.tolist()], np.float32)
        holder = keys // self.n_assets
        self.parts.append(
            {
                "holder": holder,
                "kind": np.full(len(keys), kind, np.int8),
                "category": np.full(len(keys), category, np.int16),
                "asset": (keys % self.n_assets).astype(np.int16),
                "amount": amount,
                "unmixed": clean,
                "received": np.zeros(len(keys), np.float64),  # filled in finish()
                "hops": hops.astype(np.int16),
                "designation": best.astype(np.int32),
                "designations": count.astype(np.int16),
                "confidence": conf,
                "entity": np.full(len(keys), -1, np.int64),
            }
        )

    def add_entity(
        self, holder: int, category: int, designation: int, confidence: float, entity: int
    ) -> None:
        self.parts.append(
            {
                "holder": np.array([holder], np.int64),
                "kind": np.array([KIND_ENTITY], np.int8),
                "category": np.array([category], np.int16),
                "asset": np.array([-1], np.int16),
                "amount": np.zeros(1, np.float64),
                "unmixed": np.zeros(1, np.float64),
                "received": np.zeros(1, np.float64),
                "hops": np.zeros(1, np.int16),
                "designation": np.array([designation], np.int32),
                "designations": np.ones(1, np.int16),
                "confidence": np.array([confidence], np.float32),
                "entity": np.array([entity], np.int64),
            }
        )

    def finish(
        self,
        *,
        key: str,
        categories: list[str],
        designations: list[Designation],
        symbols: dict[int, str],
        names: GraphSession,
    ) -> DesignationTable:
        ix = self.ix
        if self.parts:
            rows = {name: np.concatenate([p[name] for p in self.parts]) for name in _ROW_ARRAYS}
        else:
            rows = {name: np.zeros(0, _dtype(name)) for name in _ROW_ARRAYS}
        order = np.lexsort((rows["asset"], rows["category"], rows["kind"], rows["holder"]))
        rows = {name: np.ascontiguousarray(a[order]) for name, a in rows.items()}
        priced = rows["asset"] >= 0
        if priced.any():
            rows["received"][priced] = _received(
                rows["holder"][priced],
                rows["asset"][priced].astype(np.int64),
                np.asarray(ix.in_ptr, np.int64),
                np.asarray(ix.in_edges, np.int64),
                np.asarray(ix.asset, np.int64),
                ix.value,
                self.cutoff,
            )
        holders, starts = np.unique(rows["holder"], return_index=True)
        starts = np.append(starts, len(rows["holder"])).astype(np.int64)
        texts = names.address_texts(ix.chain, holders.tolist())
        addresses = np.array([texts.get(int(h), "") for h in holders.tolist()], dtype=np.str_)
        return DesignationTable(
            chain=ix.chain,
            key=key,
            fingerprint=ix.fingerprint,
            cutoff=self.cutoff,
            shifts=dict(ix.shifts),
            symbols=dict(symbols),
            categories=categories,
            designations=designations,
            holders=holders.astype(np.int64),
            addresses=addresses,
            starts=starts,
            rows=rows,
            stats={"rows": len(rows["holder"]), "holders": len(holders)},
        )


def _dtype(name: str) -> np.dtype[Any]:
    return np.dtype(
        {
            "holder": np.int64,
            "kind": np.int8,
            "category": np.int16,
            "asset": np.int16,
            "amount": np.float64,
            "unmixed": np.float64,
            "received": np.float64,
            "hops": np.int16,
            "designation": np.int32,
            "designations": np.int16,
            "confidence": np.float32,
            "entity": np.int64,
        }[name]
    )


@numba.njit(cache=True, nogil=True)
def _received(
    holders: np.ndarray,
    assets: np.ndarray,
    in_ptr: np.ndarray,
    in_edges: np.ndarray,
    asset: np.ndarray,
    value: np.ndarray,
    cutoff: int,
) -> np.ndarray:
    """What each (holder, asset) received before ``cutoff``, in fractional units."""
    out = np.zeros(len(holders), np.float64)
    for i in range(len(holders)):
        h = holders[i]
        a = assets[i]
        total = 0.0
        for p in range(in_ptr[h], in_ptr[h + 1]):
            e = in_edges[p]
            if e >= cutoff:
                break
            if asset[e] == a:
                total += value[e]
        out[i] = total
    return out


# -- saving and loading -----------------------------------------------------------------------


def _write(table: DesignationTable, path: Path) -> None:
    """Save beside the index (atomically); an unwritable folder only costs the next reload."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    meta = {
        "version": TABLE_VERSION,
        "chain": table.chain,
        "key": table.key,
        "fingerprint": table.fingerprint,
        "cutoff": table.cutoff,
        "shifts": {str(k): v for k, v in table.shifts.items()},
        "symbols": {str(k): v for k, v in table.symbols.items()},
        "categories": table.categories,
        "designations": [d.to_json() for d in table.designations],
        "stats": table.stats,
    }
    arrays: dict[str, Any] = {
        "meta": np.array(json.dumps(meta)),
        "holders": table.holders,
        "addresses": table.addresses,
        "starts": table.starts,
        **{f"row_{name}": a for name, a in table.rows.items()},
    }
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        with open(staging, "wb") as f:
            np.savez(f, **arrays)
        os.replace(staging, path)
    except OSError:
        staging.unlink(missing_ok=True)


def _read(path: Path, key: str) -> DesignationTable | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("version") != TABLE_VERSION or meta.get("key") != key:
                return None
            rows = {name: np.array(data[f"row_{name}"]) for name in _ROW_ARRAYS}
            return DesignationTable(
                chain=meta["chain"],
                key=meta["key"],
                fingerprint=meta["fingerprint"],
                cutoff=int(meta["cutoff"]),
                shifts={int(k): int(v) for k, v in meta["shifts"].items()},
                symbols={int(k): str(v) for k, v in meta["symbols"].items()},
                categories=list(meta["categories"]),
                designations=[Designation.from_json(d) for d in meta["designations"]],
                holders=np.array(data["holders"]),
                addresses=np.array(data["addresses"]),
                starts=np.array(data["starts"]),
                rows=rows,
                stats=dict(meta.get("stats", {})),
            )
    except (OSError, ValueError, KeyError):
        return None


__all__ = [
    "KIND_BRIDGE",
    "KIND_ENTITY",
    "KIND_EXPOSURE",
    "KIND_MIXER",
    "Designation",
    "DesignationTable",
    "designation_table",
    "table_key",
]

"""Exposure: how much of what an address (or entity) received came from each risk category.

``exposure(directory, chain, subject, direction=…, max_hops=…, policy=…)`` answers the question
a compliance officer asks before crediting a deposit: of the value that reached this address,
how much came from exchanges, mixers, bridges, sanctioned or stolen-funds wallets, within N
hops, under the same poison / haircut / FIFO rules the tracer uses (docs/exposure.md).

There is one propagation engine, the forward kernel in propagation.py; exposure reuses it
rather than carrying a second set of policy rules that could drift from the tracer's:

- **received**: a temporal backward *cone* (every holder that can pass value to the subject
  within N hops, respecting time) bounds the work; each category's labelled holders in the cone
  then seed their transfers into it, and the forward kernel, with every holder outside the cone
  and every labelled holder as a stop, says how much of each transfer the subject received
  carries that category's value. Value is attributed to the *first* labelled holder on its way
  back: labelled holders are boundaries, as services are for the tracer.
- **sent**: one forward run from the subject's outgoing transfers; what reaches a labelled
  holder within N hops is sent exposure to its category.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba import types
from numba.typed import Dict

from counterflow.attribution.tagpack import load_tagpacks
from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import InputError
from counterflow.graph.index import GraphIndex
from counterflow.graph.links import load_links
from counterflow.graph.policies import ROLE_NORMAL, ROLE_SINK, ROLE_STOP, Policy
from counterflow.graph.propagation import _lower_bound, forward_from_transfers
from counterflow.graph.session import GraphSession, LoadedChain, epoch_seconds
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader

REPORT_FORMAT = "counterflow-exposure/1"
RECEIVED = "received"
SENT = "sent"
BOTH = "both"
#: Category of value with no labelled origin (destination) within the hop limit.
UNLABELLED = "unlabelled"
#: Category of newly minted value: block rewards, coinbase outputs, genesis allocations.
MINTED = "minted"
#: Sent value paid as transaction fees.
FEES = "fees"
#: Sent value that came back to the address (or entity) itself, e.g. UTXO change.
RETURNED = "returned"
#: Labelled holders run one by one for the contributor list, per category (the largest first).
CONTRIBUTOR_RUNS = 25
TOP_CONTRIBUTORS = 5


@dataclass
class Contributor:
    """One labelled holder and how much of the subject's value it supplied (or received)."""

    address: str
    label: str
    category: str
    found_by: str  # "labelled" (a TagPack) or "deposit" (inferred exchange deposit address)
    amount: int
    min_hop: int


@dataclass
class CategoryExposure:
    """One category's part of one asset's received (or sent) value."""

    category: str
    asset: str
    amount: int  # base units
    share: float  # of the asset's total
    direct: int  # through a transfer with the category's holder itself (hop 1)
    indirect: int  # through 2..N hops
    min_hop: int | None
    contributors: list[Contributor] = field(default_factory=list)


@dataclass
class DirectionExposure:
    """Totals per asset and the categories that make them up, for one direction."""

    totals: dict[str, int]
    transfers: int
    categories: list[CategoryExposure]
    contributors_complete: bool = True

    def shares(self, asset: str) -> dict[str, float]:
        return {c.category: c.share for c in self.categories if c.asset == asset}

    def amount(self, category: str, asset: str) -> int:
        return sum(c.amount for c in self.categories if c.category == category and c.asset == asset)


@dataclass
class ExposureReport:
    chain: str
    subject: str
    entity_id: int | None
    addresses: int
    params: dict[str, Any]
    data: dict[str, Any]
    received: DirectionExposure | None
    sent: DirectionExposure | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document = {"format": REPORT_FORMAT, **document}
        return document


def exposure(
    directory: DataDirectory | str | Path,
    chain: str,
    address_or_entity: str,
    *,
    direction: str = RECEIVED,
    max_hops: int = 3,
    policy: str = "haircut",
    labels: list[str | Path] | tuple[str | Path, ...] = (),
    links: list[str | Path] | tuple[str | Path, ...] = (),
    entity: bool = False,
    since: str | None = None,
    until: str | None = None,
) -> ExposureReport:
    """Exposure of an address (or with ``entity``, of its whole entity) per risk category.

    ``address_or_entity`` is an address, or with ``entity=True`` also an entity id (the
    entity's smallest address id, as ``counterflow address`` shows it). ``since``/``until``
    (ISO 8601, UTC) bound the subject's own transfers; origins and destinations may lie
    outside them. See docs/exposure.md for the exact semantics.
    """
    started = clock.perf_counter()
    if direction not in (RECEIVED, SENT, BOTH):
        raise InputError(f"direction must be {RECEIVED}, {SENT} or {BOTH}, got {direction!r}")
    if isinstance(max_hops, bool) or not isinstance(max_hops, int) or max_hops < 1:
        raise InputError(f"hops must be a whole number of at least 1, got {max_hops!r}")
    rule = Policy.parse(policy)
    store = directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
    name = get_chain(chain).name
    if name not in store.chains():
        raise InputError(f"chain {name!r} is not in the store {store.root}; ingest it first")
    packs = load_tagpacks([Path(p).resolve() for p in labels])
    link_files = [load_links(Path(p).resolve()) for p in links]
    with StoreReader(store) as reader:
        session = GraphSession(store, [t for p in packs for t in p.tags], reader)
        c = session.chain(name)
        subject, entity_id, members = _subject(session, store, name, address_or_entity, entity)
        ix = c.index
        times = np.asarray(ix.time)
        lo = 0 if since is None else int(np.searchsorted(times, epoch_seconds(since), side="left"))
        hi = (
            ix.n_edges
            if until is None
            else int(np.searchsorted(times, epoch_seconds(until), "right"))
        )
        if hi < lo:
            raise InputError(f"--until {until} is before --since {since}")
        targets = np.array(sorted(members), np.int64)
        received = sent = None
        if direction in (RECEIVED, BOTH):
            received = _received(session, c, targets, lo, hi, rule, max_hops)
        if direction in (SENT, BOTH):
            sent = _sent(session, c, targets, lo, hi, rule, max_hops)
        data = {
            "store": {"fingerprint": ix.fingerprint},
            "labels": [{"path": p.path, "sha256": p.sha256} for p in packs],
            "links": [{"path": f.path, "sha256": f.sha256} for f in link_files],
        }
    params = {
        "direction": direction,
        "max_hops": max_hops,
        "policy": rule.name.lower(),
        "entity": entity,
        "since": since,
        "until": until,
    }
    return ExposureReport(
        chain=name,
        subject=subject,
        entity_id=entity_id,
        addresses=len(members),
        params=params,
        data=data,
        received=received,
        sent=sent,
        seconds=round(clock.perf_counter() - started, 4),
    )


def _subject(
    session: GraphSession, store: DataDirectory, chain: str, text: str, entity: bool
) -> tuple[str, int | None, list[int]]:
    """The subject's display name, entity id and member address ids."""
    reader = session.reader
    if entity:
        if not store.manifest(chain).files("entities"):
            raise InputError(
                f"no entities for {chain} yet: run `counterflow cluster {chain}` first, "
                "or ask for the address's own exposure (without --entity)"
            )
        entities = reader.table(chain, "entities")
        if text.strip().isdigit():
            entity_id = int(text.strip())
        else:
            address = normalize_address(chain, text)
            ids = session.address_ids(chain, [address])
            if address not in ids:
                raise InputError(f"address {address} is not in the {chain} store")
            rows = reader.rows(
                f"SELECT entity_id FROM {entities} WHERE address_id = ?", [ids[address]]
            )
            # an address the last clustering run did not see is an entity of its own
            entity_id = int(rows[0][0]) if rows else ids[address]
        members = [
            int(r[0])
            for r in reader.rows(
                f"SELECT address_id FROM {entities} WHERE entity_id = ? ORDER BY address_id",
                [entity_id],
            )
        ]
        if not members:
            if session.address_texts(chain, [entity_id]):
                members = [entity_id]
            else:
                raise InputError(f"entity {entity_id} is not in the {chain} entities")
        return f"entity {entity_id}", entity_id, members
    address = normalize_address(chain, text)
    ids = session.address_ids(chain, [address])
    if address not in ids:
        raise InputError(
            f"address {address} is not in the {chain} store (no transfer to or from it "
            "has been ingested)"
        )
    return address, None, [ids[address]]


@numba.njit(cache=True, nogil=True)
def _cone(
    src: np.ndarray,
    in_ptr: np.ndarray,
    in_edges: np.ndarray,
    stop: np.ndarray,
    targets: np.ndarray,
    deadline: int,
    layers: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every holder that can pass value to ``targets`` within ``layers`` edges, back in time.

    Returns holders and their smallest depth. A holder is expanded at the latest transfer
    through which it pays toward the targets (earlier receipts are what it could have passed
    on); one already expanded at an earlier depth with a later deadline is not expanded again,
    since that expansion reaches everything this one would, with hops to spare. Holders with
    ``stop`` set (labelled holders, the sink) are reached but not expanded: they are origins.
    """
    depth = Dict.empty(key_type=types.int64, value_type=types.int64)
    best = Dict.empty(key_type=types.int64, value_type=types.int64)
    f_h = targets.copy()
    f_d = np.full(len(targets), deadline, np.int64)
    for h in targets:
        depth[h] = 0
        best[h] = deadline
    for layer in range(1, layers + 1):
        nxt = Dict.empty(key_type=types.int64, value_type=types.int64)
        for i in range(len(f_h)):
            h = f_h[i]
            end = _lower_bound(in_edges, in_ptr[h], in_ptr[h + 1], f_d[i])
            for p in range(in_ptr[h], end):
                k = np.int64(in_edges[p])
                s = np.int64(src[k])
                if s in nxt:
                    if k > nxt[s]:
                        nxt[s] = k
                else:
                    nxt[s] = k
        g_h = np.empty(len(nxt), np.int64)
        g_d = np.empty(len(nxt), np.int64)
        n = 0
        for s, k in nxt.items():
            if s not in depth:
                depth[s] = layer
            if stop[s] != 0 or layer == layers:
                continue
            if s in best and best[s] >= k:
                continue
            best[s] = k
            g_h[n] = s
            g_d[n] = k
            n += 1
        f_h = g_h[:n]
        f_d = g_d[:n]
    holders = np.empty(len(depth), np.int64)
    depths = np.empty(len(depth), np.int64)
    for i, (h, d) in enumerate(depth.items()):
        holders[i] = h
        depths[i] = d
    return holders, depths


def _edges_of(ptr: np.ndarray, edges: np.ndarray, holders: np.ndarray) -> np.ndarray:
    if len(holders) == 0:
        return np.zeros(0, np.int64)
    parts = [np.asarray(edges[ptr[h] : ptr[h + 1]], np.int64) for h in holders.tolist()]
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def _run(
    c: LoadedChain, role: np.ndarray, policy: Policy, max_hops: int, seed_edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # no CoinJoin split: a CoinJoin transaction pools like any other under the policy
    return forward_from_transfers(c.index, role, policy, max_hops, seed_edges)


def _base_units(ix: GraphIndex, edges: np.ndarray, taint: np.ndarray) -> list[int]:
    """Traced shares in integer base units: exact for whole transfers, else rounded down.

    A share is whole when it reaches the transfer's value (fractional units, as the kernel
    ran on); untouched transfers (no share at all) are 0, never their full amount.
    """
    result = []
    value = ix.value
    for e, t in zip(edges.tolist(), taint.tolist(), strict=True):
        amount = ix.exact_amount(e)
        if t <= 0:
            result.append(0)
        elif t >= float(value[e]) * (1 - 1e-12):
            result.append(amount)
        else:
            result.append(min(amount, ix.to_base_units(int(ix.asset[e]), t)))
    return result


@dataclass
class _Tally:
    """Per category and asset: amount, direct part, smallest hop."""

    amount: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    direct: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    hop: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, category: str, asset: int, amount: int, hop: int, direct: bool) -> None:
        if amount <= 0:
            return
        key = (category, asset)
        self.amount[key] += amount
        if direct:
            self.direct[key] += amount
        self.hop[key] = min(self.hop.get(key, hop), hop)


def _received(
    session: GraphSession,
    c: LoadedChain,
    targets: np.ndarray,
    lo: int,
    hi: int,
    policy: Policy,
    max_hops: int,
) -> DirectionExposure:
    ix = c.index
    services = c.bounds.services
    sink = ix.sink
    in_target = np.zeros(ix.n_holders, np.bool_)
    in_target[targets] = True
    # what the subject received from others in the window
    edges = _edges_of(ix.in_ptr, ix.in_edges, targets)
    edges = edges[(edges >= lo) & (edges < hi)]
    srcs = np.asarray(ix.src, np.int64)[edges]
    keep = ~in_target[srcs]
    if ix.utxo:
        # an output of a transaction the subject itself funded is change, not a receipt
        for tx in np.unique(srcs[keep]).tolist():
            ins = np.asarray(ix.src[ix.in_edges[ix.in_ptr[tx] : ix.in_ptr[tx + 1]]], np.int64)
            if in_target[ins].any():
                keep &= srcs != tx
    edges = edges[keep]
    srcs = srcs[keep]
    exact = np.array([ix.exact_amount(e) for e in edges.tolist()], dtype=object)
    assets = np.asarray(ix.asset, np.int64)[edges]
    # the cone: who can have passed value to the subject within the hop limit
    stop = np.zeros(ix.n_holders, np.int8)
    labelled = services.holders()
    if len(labelled):
        stop[labelled] = 1
    stop[sink] = 1
    layers = 2 * max_hops if ix.utxo else max_hops
    holders, depths = _cone(
        ix.src, ix.in_ptr, ix.in_edges, stop, targets, int(hi) if len(edges) else 0, layers
    )
    role = np.full(ix.n_holders, ROLE_STOP, np.int8)
    relays = holders[(depths < layers) & (stop[holders] == 0)]
    role[relays] = ROLE_NORMAL
    role[targets] = ROLE_NORMAL
    role[sink] = ROLE_SINK
    # origins in the cone, by category
    origins: dict[str, list[int]] = defaultdict(list)
    for h in holders[stop[holders] == 1].tolist():
        if in_target[h]:
            continue
        if h == sink:
            origins[MINTED].append(h)
        elif h in services:
            origins[services[h][1].lower() or "labelled"].append(h)
    position = {int(e): i for i, e in enumerate(edges.tolist())}
    per_edge: dict[str, np.ndarray] = {}
    tally = _Tally()
    contributors: dict[tuple[str, int], list[Contributor]] = defaultdict(list)
    complete = True
    names = session.address_texts(c.name, sorted(h for v in origins.values() for h in v))

    def attribute(seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out_e, out_t, out_h = _run(c, role, policy, max_hops, seeds)
        taint = np.zeros(len(edges), np.float64)
        hop = np.full(len(edges), 1 << 30, np.int64)
        for e, t, h in zip(out_e.tolist(), out_t.tolist(), out_h.tolist(), strict=True):
            i = position.get(e)
            if i is not None:
                taint[i] += t
                hop[i] = min(hop[i], h)
        return taint, hop

    for category in sorted(origins):
        members = np.array(origins[category], np.int64)
        out = _edges_of(ix.out_ptr, ix.out_edges, members)
        seeds = out[role[np.asarray(ix.dst, np.int64)[out]] == ROLE_NORMAL]
        if len(seeds) == 0:
            continue
        taint, hop = attribute(seeds)
        shares = np.array(_base_units(ix, edges, taint), dtype=object)
        per_edge[category] = shares
        direct_src = np.isin(srcs, members)
        if ix.utxo:
            direct_src = hop == 1
        for i in np.nonzero(taint > 0)[0].tolist():
            tally.add(category, int(assets[i]), int(shares[i]), int(hop[i]), bool(direct_src[i]))
        if category == MINTED:
            continue
        # the labelled holders one by one, largest seeders first, for the contributor list
        weight: dict[int, int] = defaultdict(int)
        seed_src = np.asarray(ix.src, np.int64)[seeds]
        for h, e in zip(seed_src.tolist(), seeds.tolist(), strict=True):
            weight[h] += ix.exact_amount(e)
        ranked = sorted(weight, key=lambda h: (-weight[h], h))
        if len(ranked) > CONTRIBUTOR_RUNS:
            complete = False
        for h in ranked[:CONTRIBUTOR_RUNS]:
            mine = seeds[seed_src == h]
            taint_h, hop_h = attribute(mine)
            share_h = _base_units(ix, edges, taint_h)
            by_asset: dict[int, tuple[int, int]] = {}
            for i in np.nonzero(taint_h > 0)[0].tolist():
                a = int(assets[i])
                amount, best = by_asset.get(a, (0, 1 << 30))
                by_asset[a] = (amount + share_h[i], min(best, int(hop_h[i])))
            service, category_h, found_by = services[h]
            for a, (amount, best) in by_asset.items():
                if amount > 0:
                    contributors[(category, a)].append(
                        Contributor(
                            names.get(h, str(h)), service, category_h, found_by, amount, best
                        )
                    )
    # what no category explains
    if len(edges):
        covered = np.zeros(len(edges), dtype=object)
        for shares in per_edge.values():
            covered = np.maximum(covered, shares) if policy == Policy.POISON else covered + shares
        rest = exact - np.minimum(covered, exact)
        for i in np.nonzero(rest > 0)[0].tolist():
            tally.add(UNLABELLED, int(assets[i]), int(rest[i]), max_hops + 1, False)
    totals: dict[int, int] = defaultdict(int)
    for a, amount in zip(assets.tolist(), exact.tolist(), strict=True):
        totals[a] += amount
    return _direction(c, tally, totals, contributors, len(edges), complete)


def _sent(
    session: GraphSession,
    c: LoadedChain,
    targets: np.ndarray,
    lo: int,
    hi: int,
    policy: Policy,
    max_hops: int,
) -> DirectionExposure:
    ix = c.index
    services = c.bounds.services
    sink = ix.sink
    in_target = np.zeros(ix.n_holders, np.bool_)
    in_target[targets] = True
    seeds = _edges_of(ix.out_ptr, ix.out_edges, targets)
    seeds = seeds[(seeds >= lo) & (seeds < hi)]
    dst = np.asarray(ix.dst, np.int64)
    seeds = seeds[~in_target[dst[seeds]]]
    role = np.full(ix.n_holders, ROLE_NORMAL, np.int8)
    labelled = services.holders()
    if len(labelled):
        role[labelled] = ROLE_STOP
    role[targets] = ROLE_STOP
    role[sink] = ROLE_SINK
    out_e, out_t, out_h = _run(c, role, policy, max_hops, seeds)
    totals: dict[int, int] = defaultdict(int)
    for e in seeds.tolist():
        totals[int(ix.asset[e])] += ix.exact_amount(e)
    tally = _Tally()
    found: dict[tuple[str, int, int], list[int]] = {}
    shares = _base_units(ix, out_e, out_t)
    for e, amount, hop in zip(out_e.tolist(), shares, out_h.tolist(), strict=True):
        d = int(dst[e])
        a = int(ix.asset[e])
        if d == sink:
            category = FEES
        elif in_target[d]:
            category = RETURNED
        elif d in services:
            category = services[d][1].lower() or "labelled"
            entry = found.setdefault((category, d, a), [0, hop])
            entry[0] += amount
            entry[1] = min(entry[1], hop)
        else:
            continue
        tally.add(category, a, amount, hop, hop == 1)
    if policy == Policy.POISON:
        # poison marks whole transfers downstream: a destination can exceed what was sent
        for key in list(tally.amount):
            tally.amount[key] = min(tally.amount[key], totals[key[1]])
            tally.direct[key] = min(tally.direct[key], tally.amount[key])
    for a, total in totals.items():
        explained = sum(v for (_, b), v in tally.amount.items() if b == a)
        if total > explained:
            tally.add(UNLABELLED, a, total - explained, max_hops + 1, False)
    names = session.address_texts(c.name, sorted({d for _, d, _ in found}))
    contributors: dict[tuple[str, int], list[Contributor]] = defaultdict(list)
    for (category, d, a), (amount, hop) in sorted(found.items()):
        service, category_d, found_by = services[d]
        contributors[(category, a)].append(
            Contributor(names.get(d, str(d)), service, category_d, found_by, amount, hop)
        )
    return _direction(c, tally, totals, contributors, len(seeds), True)


def _direction(
    c: LoadedChain,
    tally: _Tally,
    totals: dict[int, int],
    contributors: dict[tuple[str, int], list[Contributor]],
    transfers: int,
    complete: bool,
) -> DirectionExposure:
    categories = []
    for (category, a), amount in tally.amount.items():
        total = totals.get(a, 0)
        direct = tally.direct.get((category, a), 0)
        top = sorted(contributors.get((category, a), []), key=lambda x: (-x.amount, x.address))
        categories.append(
            CategoryExposure(
                category=category,
                asset=c.symbols.get(a, str(a)),
                amount=amount,
                share=amount / total if total else 0.0,
                direct=direct,
                indirect=amount - direct,
                min_hop=None if category == UNLABELLED else tally.hop.get((category, a)),
                contributors=top[:TOP_CONTRIBUTORS],
            )
        )
    categories.sort(key=lambda x: (x.asset, -x.amount, x.category))
    return DirectionExposure(
        totals={c.symbols.get(a, str(a)): v for a, v in sorted(totals.items())},
        transfers=transfers,
        categories=categories,
        contributors_complete=complete,
    )


__all__ = [
    "CategoryExposure",
    "Contributor",
    "DirectionExposure",
    "ExposureReport",
    "exposure",
]

"""Tracing: follow value from seed addresses through time, services, swaps, mixers and bridges.

``trace(directory, params, labels=…, links=…)`` is the whole capability as one call: it loads
(or builds) each chain's index, resolves labels to roles, runs the compiled kernel, hops across
bridges through the links, and turns ids back into addresses, hashes and exact amounts. The
result is deterministic: the same data, labels, links and parameters give the same document,
which is what lets an evidence bundle be replayed byte for byte.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from counterflow.attribution.tagpack import TagPack, load_tagpack
from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import InputError
from counterflow.graph.coinjoin import CoinJoins
from counterflow.graph.crossings import by_deposit, by_release, deposit_edges, release_edges
from counterflow.graph.links import Link, LinkFile, load_links, normal_tx
from counterflow.graph.policies import (
    BACKWARD,
    ROLE_BRIDGE,
    ROLE_DEX,
    ROLE_MIXER,
    ROLE_SINK,
    ROLE_STOP,
    Policy,
    Rule,
    TraceParams,
)
from counterflow.graph.propagation import backward, forward
from counterflow.graph.session import GraphSession, LoadedChain, epoch_seconds
from counterflow.graph.traced import (
    LegTransfers,
    Namer,
    Resolved,
    Scale,
    TracedTransfers,
    iso_many,
)
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader

RESULT_FORMAT = "counterflow-trace/1"


@dataclass
class Destination:
    """Where taint stopped at a service: the receiving (deposit) address and how much."""

    chain: str
    service: str
    category: str
    address: str
    found_by: str  # "labelled" or "deposit" (inferred from sweeps, see boundaries.py)
    asset: str
    amount: int
    time: str
    tx_hash: str | None
    hop: int
    confidence: float


@dataclass
class TracedHolder:
    chain: str
    address: str
    hop: int
    role: str  # "seed", "laundering" (reached, unlabelled), "service", "mixer", "dex", "bridge"


@dataclass
class TraceResult:
    params: TraceParams
    data: dict[str, Any]
    holders: list[TracedHolder] = field(default_factory=list)
    transfers: TracedTransfers = field(default_factory=TracedTransfers)
    destinations: list[Destination] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    crossings: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RESULT_FORMAT,
            "params": self.params.to_json(),
            "data": self.data,
            "totals": self.totals,
            "destinations": _records(self.destinations, Destination),
            "held": self.held,
            "crossings": self.crossings,
            "holders": _records(self.holders, TracedHolder),
            "transfers": self.transfers.rows(),
        }

    def laundering_addresses(self) -> list[tuple[str, str]]:
        return [(h.chain, h.address) for h in self.holders if h.role == "laundering"]

    def answers(self, team: str = "trace") -> dict[str, Any]:
        """An exercise answers document: traced addresses and destinations found."""
        last = self.transfers.last_time()
        addresses = [
            {"chain": c, "address": a, "time": last} for c, a in self.laundering_addresses()
        ]
        seen: set[tuple[str, str]] = set()
        deposits = []
        for d in self.destinations:
            if (d.chain, d.address) not in seen:
                seen.add((d.chain, d.address))
                deposits.append({"chain": d.chain, "address": d.address, "time": d.time})
        return {"team": team, "addresses": addresses, "deposits": deposits}


def _records(items: list[Any], kind: type) -> list[dict[str, Any]]:
    """``dataclasses.asdict`` of flat records (fields are str, int, float or None).

    ``asdict`` deep-copies every field value, which for tens of thousands of transfers costs
    more than the trace; these values are immutable, so the dictionaries are the same.
    """
    names = [f.name for f in fields(kind)]
    return [{name: getattr(item, name) for name in names} for item in items]


def trace(
    directory: DataDirectory | str | Path,
    params: TraceParams,
    *,
    labels: list[str | Path] | tuple[str | Path, ...] = (),
    links: list[str | Path] | tuple[str | Path, ...] = (),
) -> TraceResult:
    """Trace ``params.seeds`` on ``params.chain``; see docs/tracing.md for every rule."""
    return _trace(directory, params, labels, links)


def _trace(
    directory: DataDirectory | str | Path,
    params: TraceParams,
    labels: list[str | Path] | tuple[str | Path, ...],
    links: list[str | Path] | tuple[str | Path, ...],
) -> TraceResult:
    params.validate()
    store = directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
    chain = get_chain(params.chain).name
    if chain not in store.chains():
        raise InputError(f"chain {chain!r} is not in the store {store.root}; ingest it first")
    # absolute paths: an evidence bundle must name the same files from any folder
    packs = [_tagpack(Path(p).resolve()) for p in labels]
    link_files = [load_links(Path(p).resolve()) for p in links]
    seeds = [normalize_address(chain, s) for s in params.seeds]
    policy = Policy.parse(params.policy)
    with StoreReader(store) as reader:
        session = GraphSession(store, [t for p in packs for t in p.tags], reader)
        first = session.chain(chain)
        ids = session.address_ids(chain, seeds)
        absent = [s for s in seeds if s not in ids]
        if absent:
            raise InputError(f"address(es) not in the {chain} store: {', '.join(absent)}")
        since = 0
        if params.since is not None:
            epoch = epoch_seconds(params.since)
            since = _first_at(np.asarray(first.index.time), epoch)
        if params.direction == BACKWARD:
            return _backward(session, params, first, [ids[s] for s in seeds], packs, link_files)
        return _forward(
            session, params, policy, first, [ids[s] for s in seeds], since, packs, link_files
        )


def _tagpack(path: Path) -> TagPack:
    """A TagPack parsed once per version of its bytes (YAML parsing costs more than a trace).

    The pack is kept under the hash of the bytes it was parsed from, so a changed file is
    parsed again, and a pack always carries the hash of exactly the tags it holds.
    """
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return load_tagpack(path)  # its own error names the file
    known = _PACKS.get((str(path), digest))
    if known is not None:
        return known
    pack = load_tagpack(path)
    if len(_PACKS) >= 16:
        _PACKS.clear()  # a process rarely sees more label files than this; keep memory bounded
    _PACKS[(pack.path, pack.sha256)] = pack
    return pack


_PACKS: dict[tuple[str, str], TagPack] = {}


def _first_at(times: np.ndarray, epoch: int) -> int:
    """The first edge at or after ``epoch`` in the index's (ascending, uint32) times.

    The needle is given in the array's own type: a wider one makes numpy convert the whole
    memory-mapped column first, which costs more than the search.
    """
    if epoch <= 0:
        return 0
    if epoch > int(np.iinfo(times.dtype).max):
        return len(times)
    return int(np.searchsorted(times, times.dtype.type(epoch), side="left"))


def _data_document(
    session: GraphSession, packs: list[TagPack], link_files: list[LinkFile]
) -> dict[str, Any]:
    return {
        "store": {
            name: {"fingerprint": c.index.fingerprint, "parts": c.index.parts}
            for name, c in sorted(session.chains.items())
        },
        "labels": [{"path": p.path, "sha256": p.sha256} for p in packs],
        "links": [{"path": f.path, "sha256": f.sha256} for f in link_files],
    }


@dataclass
class _Leg:
    chain: str
    confidence: float
    seed_holders: list[int] = field(default_factory=list)
    seed_since: list[int] = field(default_factory=list)
    seed_edges: list[int] = field(default_factory=list)
    seed_taint: list[float] = field(default_factory=list)
    seed_hop: list[int] = field(default_factory=list)
    seed_rule: list[int] = field(default_factory=list)


def _forward(
    session: GraphSession,
    params: TraceParams,
    policy: Policy,
    first: LoadedChain,
    seed_ids: list[int],
    since: int,
    packs: list[TagPack],
    link_files: list[LinkFile],
) -> TraceResult:
    deposit_links = by_deposit(link_files)
    legs = [_Leg(first.name, 1.0, seed_ids, [since] * len(seed_ids))]
    if params.seed_txs:
        legs = [_theft_leg(session, params, first, seed_ids, since)]
    raw: list[tuple[_Leg, tuple[np.ndarray, ...]]] = []
    followed: set[tuple[str, str]] = set()
    crossings: list[dict[str, Any]] = []
    while legs:
        leg = legs.pop(0)
        c = session.chain(leg.chain)
        ix = c.index
        min_units = np.array([ix.from_base_units(a, 0) for a in range(ix.n_assets)], np.float64)
        if params.min_amount > 0:
            decimals = _decimals(session, c)
            min_units = np.array(
                [
                    params.min_amount * 10 ** decimals.get(a, 0) / 10 ** ix.shifts.get(a, 0)
                    for a in range(ix.n_assets)
                ],
                np.float64,
            )
        cj = session.coinjoins(c) if policy == Policy.HAIRCUT and ix.utxo else CoinJoins.none()
        # fractional units (GraphIndex.value): a transfer below one unit still carries value
        out = forward(
            ix.src,
            ix.dst,
            ix.value,
            ix.asset,
            ix.tx,
            ix.link,
            ix.out_ptr,
            ix.out_edges,
            ix.in_ptr,
            ix.in_edges,
            c.bounds.role,
            ix.n_addresses,
            ix.utxo,
            int(policy),
            params.max_hops,
            min_units,
            params.min_fraction,
            np.array(leg.seed_holders, np.int64),
            np.array(leg.seed_since, np.int64),
            np.array(leg.seed_edges, np.int64),
            np.array(leg.seed_taint, np.float64),
            np.array(leg.seed_hop, np.int64),
            np.array(leg.seed_rule, np.int64),
            cj.part,
            cj.ratio,
        )
        raw.append((leg, out))
        # bridge deposits that carried taint: continue where the links say they were released
        edges, taint, hops = out[0], out[1], out[2]
        into_bridge = c.bounds.role[ix.dst[edges]] == ROLE_BRIDGE
        deposits: dict[int, tuple[float, int]] = {}
        bridged = edges[into_bridge]
        for tx, a, t, hop_e in zip(
            np.asarray(ix.tx[bridged]).tolist(),
            np.asarray(ix.asset[bridged]).tolist(),
            taint[into_bridge].tolist(),
            hops[into_bridge].tolist(),
            strict=True,
        ):
            share = ix.to_base_units(a, float(t))
            prev = deposits.get(tx, (0.0, int(hop_e)))
            deposits[tx] = (prev[0] + share, min(prev[1], int(hop_e)))
        hashes = session.tx_hashes(c.name, sorted(deposits))
        targets: dict[tuple[str, float], _Leg] = {}
        releases: list[tuple[Link, float, int, int]] = []  # link, confidence, released, hop
        for tx, (tainted, hop) in sorted(deposits.items()):
            tx_hash = normal_tx(c.name, hashes.get(tx, ""))
            for link in deposit_links.get((c.name, tx_hash), []):
                pair = (link.deposit_tx, link.release_tx)
                confidence = min(leg.confidence, link.confidence)
                if pair in followed or confidence < params.min_link_confidence:
                    continue
                followed.add(pair)
                if link.release_chain not in session.stored_chains:
                    continue
                fraction = min(1.0, tainted / link.deposit_amount) if link.deposit_amount else 0.0
                released = int(link.release_amount * fraction)
                crossings.append(_crossing(link, int(tainted), released, confidence))
                releases.append((link, confidence, released, hop))
        # one lookup per chain for all the releases this leg reached, not one per link
        edges_by_chain = {
            name: release_edges(session, session.chain(name), [r[0] for r in releases])
            for name in sorted({r[0].release_chain for r in releases})
        }
        for link, confidence, released, hop in releases:
            edge = edges_by_chain[link.release_chain].get((link.release_tx, link.release_address))
            if edge is None:
                continue
            target = session.chain(link.release_chain)
            nxt = targets.setdefault(
                (link.release_chain, confidence), _Leg(link.release_chain, confidence)
            )
            nxt.seed_edges.append(edge)
            nxt.seed_taint.append(target.index.from_base_units(target.index.asset[edge], released))
            nxt.seed_hop.append(hop + 1)
            nxt.seed_rule.append(int(Rule.BRIDGE))
        for target_key in sorted(targets):
            leg_next = targets[target_key]
            order = np.argsort(leg_next.seed_edges, kind="stable")
            leg_next.seed_edges = [leg_next.seed_edges[i] for i in order]
            leg_next.seed_taint = [leg_next.seed_taint[i] for i in order]
            leg_next.seed_hop = [leg_next.seed_hop[i] for i in order]
            leg_next.seed_rule = [leg_next.seed_rule[i] for i in order]
            legs.append(leg_next)
    return _assemble(session, params, raw, seed_ids, first.name, crossings, packs, link_files)


def _crossing(link: Link, deposit: int, release: int, confidence: float) -> dict[str, Any]:
    """A followed link as the result's ``crossings`` list it, forward and backward alike."""
    return {
        "deposit_chain": link.deposit_chain,
        "deposit_tx": link.deposit_tx,
        "tainted_deposit": deposit,
        "release_chain": link.release_chain,
        "release_tx": link.release_tx,
        "release_address": link.release_address,
        "tainted_release": release,
        "confidence": confidence,
    }


def _theft_leg(
    session: GraphSession, params: TraceParams, first: LoadedChain, seed_ids: list[int], since: int
) -> _Leg:
    """Seed the theft transactions' transfers out of the seeds, each tainted in full.

    A victim keeps operating after a theft (a bridge pays its users, an exchange its
    customers); starting from the transactions the victim reports keeps those payments clean.
    """
    hashes = [normal_tx(first.name, h) for h in params.seed_txs]
    ids = session.tx_ids(first.name, hashes)
    absent = [h for h in hashes if h not in ids]
    if absent:
        raise InputError(f"transaction(s) not in the {first.name} store: {', '.join(absent)}")
    wanted = set(ids.values())
    ix = first.index
    leg = _Leg(first.name, 1.0)
    edges: list[int] = []
    for h in seed_ids:
        for p in range(int(ix.out_ptr[h]), int(ix.out_ptr[h + 1])):
            e = int(ix.out_edges[p])
            if e >= since and int(ix.tx[e]) in wanted and float(ix.value[e]) > 0:
                edges.append(e)
    for e in sorted(set(edges)):
        leg.seed_edges.append(e)
        leg.seed_taint.append(float(ix.value[e]))
        leg.seed_hop.append(1)
        leg.seed_rule.append(int(Rule.SEED))
    return leg


def _decimals(session: GraphSession, c: LoadedChain) -> dict[int, int]:
    spec = get_chain(c.name)
    decimals = {0: spec.native_decimals}
    for asset_id, value in session.reader.rows(
        f"SELECT asset_id, decimals FROM {session.reader.table(c.name, 'assets')}"
    ):
        if int(asset_id) != 0:
            decimals[int(asset_id)] = int(value or 0)
    return decimals


def _assemble(
    session: GraphSession,
    params: TraceParams,
    raw: list[tuple[_Leg, tuple[np.ndarray, ...]]],
    seed_ids: list[int],
    seed_chain: str,
    crossings: list[dict[str, Any]],
    packs: list[TagPack],
    link_files: list[LinkFile],
) -> TraceResult:
    """The result document from the kernel's per-leg output arrays.

    Work is done per column (gathers, masks, one text lookup per chain), not per transfer: a
    trace reports tens of thousands of transfers, and a Python step per transfer and field
    costs more than the search that found them.
    """
    result = TraceResult(params=params, data=_data_document(session, packs, link_files))
    result.crossings = crossings
    hop_parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    poison = Policy.parse(params.policy) == Policy.POISON
    for leg, out in raw:
        c = session.chain(leg.chain)
        _assemble_leg(session, c, leg, out, poison, result, totals, hop_parts)
    seeds = {(seed_chain, s) for s in seed_ids}
    for chain in sorted(hop_parts):
        c = session.chain(chain)
        holders, hops = _min_hops(hop_parts[chain])
        # one lookup per chain, not one per holder: a poison trace reaches tens of thousands
        names = session.address_texts(chain, holders.tolist())
        roles = np.asarray(c.bounds.role[holders], np.int64)
        in_services = c.bounds.services.contains(holders)
        for holder, hop, role, service in zip(
            holders.tolist(), hops.tolist(), roles.tolist(), in_services.tolist(), strict=True
        ):
            name = names.get(holder)
            if name is None:
                continue
            if (chain, holder) in seeds:
                kind = "seed"
            elif role == ROLE_STOP:
                kind = "service"
            elif role != 0:
                kind = _ROLE_KINDS[role]
            elif service:
                kind = "service"
            else:
                kind = "laundering"
            result.holders.append(TracedHolder(chain, name, hop, kind))
    result.totals = {k: dict(sorted(v.items())) for k, v in sorted(totals.items())}
    result.held.sort(key=lambda x: (x["chain"], x["address"], x["asset"]))
    return result


_ROLE_KINDS = {ROLE_DEX: "dex", ROLE_MIXER: "mixer", ROLE_BRIDGE: "bridge", ROLE_SINK: "sink"}


def _assemble_leg(
    session: GraphSession,
    c: LoadedChain,
    leg: _Leg,
    out: tuple[np.ndarray, ...],
    poison: bool,
    result: TraceResult,
    totals: dict[str, dict[str, int]],
    hop_parts: dict[str, list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    """Append one leg's transfers, destinations and held amounts; add up its totals."""
    ix = c.index
    edges = np.asarray(out[0], np.int64)
    taint = np.asarray(out[1], np.float64)
    hops = np.asarray(out[2], np.int64)
    taint_in = np.asarray(out[3], np.float64)
    rules = np.asarray(out[4], np.int64)
    # every per-edge column gathered once: scalar reads of memory-mapped arrays cost
    # microseconds each
    src_e = np.asarray(ix.src[edges], np.int64)
    dst_e = np.asarray(ix.dst[edges], np.int64)
    asset_e = np.asarray(ix.asset[edges], np.int64)
    tx_e = np.asarray(ix.tx[edges], np.int64)
    role_e = np.asarray(c.bounds.role[dst_e], np.int64)
    value_e = np.asarray(ix.value[edges], np.float64)
    n_addresses = ix.n_addresses
    is_addr_src = src_e < n_addresses
    is_addr_dst = dst_e < n_addresses
    scale = Scale(ix, asset_e)
    exact = scale.exact(np.asarray(ix.units[edges], np.int64), np.asarray(ix.rem[edges], np.int64))
    # the kernel ran on fractional units: a whole transfer is reported exactly
    whole = taint >= value_e * (1 - 1e-12)
    tainted_column = np.where(whole, exact, np.minimum(exact, scale.base_units(taint)))
    symbols = [c.symbols.get(a, str(a)) for a in range(int(asset_e.max(initial=0)) + 1)]
    time_e = np.asarray(ix.time[edges])
    lookups = session.lookups(c.name)
    namer: Namer = (
        lookups
        if lookups is not None
        else _resolved(session, c.name, n_addresses, src_e, dst_e, tx_e)
    )
    result.transfers.add(
        LegTransfers(
            chain=c.name,
            confidence=leg.confidence,
            n_addresses=n_addresses,
            hop=hops,
            tx=tx_e,
            block=np.asarray(ix.block[edges]),
            time=time_e,
            source=src_e,
            target=dst_e,
            asset=asset_e,
            amount=exact,
            tainted=tainted_column,
            taint_in=taint_in,
            rule=rules,
            symbols=symbols,
            scale=scale,
            namer=namer,
        )
    )

    def add(category: str, rows: np.ndarray) -> None:
        """Add the tainted amounts of the rows in the mask to ``category``, per asset."""
        for a in np.unique(asset_e[rows]).tolist():
            totals[symbols[a]][category] += tainted_column[rows & (asset_e == a)].sum()

    add("seeded", rules == Rule.SEED)
    add("bridged_in", rules == Rule.BRIDGE)
    at_service = (role_e == ROLE_STOP) & c.bounds.services.contains(dst_e)
    stops = np.flatnonzero(at_service)
    if len(stops):
        names = session.address_texts(c.name, np.unique(dst_e[stops]).tolist())
        hashes = session.tx_hashes(c.name, np.unique(tx_e[stops][tx_e[stops] >= 0]).tolist())
        for k, time_text in zip(stops.tolist(), iso_many(time_e[stops]), strict=True):
            service, category, found_by = c.bounds.services[int(dst_e[k])]
            result.destinations.append(
                Destination(
                    chain=c.name,
                    service=service,
                    category=category,
                    address=names[int(dst_e[k])],
                    found_by=found_by,
                    asset=symbols[int(asset_e[k])],
                    amount=int(tainted_column[k]),
                    time=time_text,
                    tx_hash=hashes.get(int(tx_e[k])),
                    hop=int(hops[k]),
                    confidence=leg.confidence,
                )
            )
    add("destinations", at_service)
    rest = ~at_service
    add("fees", rest & (role_e == ROLE_SINK))
    # a deposit reached through its release (backward) came in across the bridge: not out
    add("bridged_out", rest & (role_e == ROLE_BRIDGE) & (rules != Rule.BRIDGE))
    if ix.utxo:
        unspent = np.asarray(ix.link[edges], np.int64) < 0
        held = np.flatnonzero(
            rest & (role_e != ROLE_SINK) & (role_e != ROLE_BRIDGE) & is_addr_dst & unspent
        )
        holders = session.address_texts(c.name, np.unique(dst_e[held]).tolist())
        for k in held.tolist():
            symbol, amount = symbols[int(asset_e[k])], int(tainted_column[k])
            result.held.append(
                {
                    "chain": c.name,
                    "address": holders[int(dst_e[k])],
                    "asset": symbol,
                    "amount": amount,
                }
            )
            totals[symbol]["held"] += amount
    # a holder's hop: a receiver at the transfer's hop, a sender one before (a self-transfer
    # counts as received)
    sent_hop = np.where(src_e == dst_e, hops, np.maximum(hops - 1, 0))
    hop_parts[c.name].append(
        (
            np.concatenate([src_e[is_addr_src], dst_e[is_addr_dst]]),
            np.concatenate([sent_hop[is_addr_src], hops[is_addr_dst]]),
        )
    )
    held_h = np.asarray(out[5], np.int64)
    held_at = np.asarray(out[6], np.float64)
    if len(held_h) and not poison:
        held_names = session.address_texts(c.name, np.unique(held_h[held_h < n_addresses]).tolist())
        for k, holder in enumerate(held_h.tolist()):
            if holder not in held_names:
                continue
            a = int(held_at[2 * k])
            symbol = c.symbols.get(a, str(a))
            held_amount = ix.to_base_units(a, float(held_at[2 * k + 1]))
            result.held.append(
                {
                    "chain": c.name,
                    "address": held_names[holder],
                    "asset": symbol,
                    "amount": held_amount,
                }
            )
            totals[symbol]["held"] += held_amount
    for a, d in enumerate(out[7].tolist()):
        if d > 0:
            totals[c.symbols.get(a, str(a))]["dropped"] += ix.to_base_units(a, d)


def _resolved(
    session: GraphSession,
    chain: str,
    n_addresses: int,
    source: np.ndarray,
    target: np.ndarray,
    tx: np.ndarray,
) -> Resolved:
    """A leg's names resolved now: an index saved without lookup tables asks the store,
    and the trace closes its store reader when it returns."""
    endpoints = np.concatenate([source, target])
    return Resolved(
        session.address_texts(chain, np.unique(endpoints[endpoints < n_addresses]).tolist()),
        session.tx_hashes(chain, np.unique(tx[tx >= 0]).tolist()),
    )


def _min_hops(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct holders, ascending, each with the smallest hop it was seen at."""
    holders = np.concatenate([h for h, _ in parts])
    hops = np.concatenate([k for _, k in parts])
    order = np.lexsort((hops, holders))
    holders, hops = holders[order], hops[order]
    first = np.ones(len(holders), np.bool_)
    first[1:] = holders[1:] != holders[:-1]
    return holders[first], hops[first]


def _backward(
    session: GraphSession,
    params: TraceParams,
    first: LoadedChain,
    seed_ids: list[int],
    packs: list[TagPack],
    link_files: list[LinkFile],
) -> TraceResult:
    """Attribute the seeds' receipts backward, and across bridges where a ledger links them.

    Each leg is one kernel run on one chain at one confidence: the seeds' chain at 1, then,
    per (deposit chain, confidence), the linked deposits of the releases the leg before
    reached, each entering at the hop after its release: the hop budget is shared across
    the crossings, as forward.
    """
    policy = Policy.parse(params.policy)
    release_links = by_release(link_files)
    legs = [_Leg(first.name, 1.0, seed_ids)]
    raw: list[tuple[_Leg, tuple[np.ndarray, ...]]] = []
    followed: set[tuple[str, str, str, str, str]] = set()
    crossings: list[dict[str, Any]] = []
    while legs:
        leg = legs.pop(0)
        c = session.chain(leg.chain)
        out = _backward_leg(c, params, policy, leg)
        raw.append((leg, out))
        if release_links:
            crossed = _cross_back(session, params, c, leg, out, release_links, followed, crossings)
            legs.extend(crossed)
    return _assemble(session, params, raw, seed_ids, first.name, crossings, packs, link_files)


_BACKWARD_RULES = {Policy.POISON: Rule.POISON, Policy.HAIRCUT: Rule.HAIRCUT, Policy.FIFO: Rule.FIFO}


def _backward_leg(
    c: LoadedChain, params: TraceParams, policy: Policy, leg: _Leg
) -> tuple[np.ndarray, ...]:
    """One backward kernel run, as the columns ``_assemble`` reads (a forward run's shape)."""
    ix = c.index
    edges, attributed, hops = backward(
        ix.src,
        ix.dst,
        ix.value,
        ix.asset,
        ix.link,
        ix.out_ptr,
        ix.out_edges,
        ix.in_ptr,
        ix.in_edges,
        c.bounds.role,
        ix.n_addresses,
        ix.utxo,
        int(policy),
        params.max_hops,
        params.min_fraction,
        np.array(leg.seed_holders, np.int64),
        np.array(leg.seed_edges, np.int64),
        np.array(leg.seed_taint, np.float64),
        np.array(leg.seed_hop, np.int64),
    )
    rules = np.full(len(edges), int(_BACKWARD_RULES[policy]), np.int64)
    # a leg's seed edges are bridge deposits: nothing else reaches a transfer into a bridge
    rules[np.isin(edges, np.array(leg.seed_edges, np.int64))] = int(Rule.BRIDGE)
    none_i = np.zeros(0, np.int64)
    none_f = np.zeros(0, np.float64)
    # taint_in: what the transfer's source passed on through it, its attributed amount
    return edges, attributed, hops, attributed, rules, none_i, none_f, np.zeros(ix.n_assets)


def _cross_back(
    session: GraphSession,
    params: TraceParams,
    c: LoadedChain,
    leg: _Leg,
    out: tuple[np.ndarray, ...],
    by_release: dict[tuple[str, str, str], list[Link]],
    followed: set[tuple[str, str, str, str, str]],
    crossings: list[dict[str, Any]],
) -> list[_Leg]:
    """The legs that continue a backward leg behind the linked bridge releases it reached.

    A release is a transfer the bridge paid (its source is labelled bridge; on a UTXO chain,
    a transaction spending coins of an address labelled bridge) and that a link names by
    (release chain, tx, address). Its attributed amount crosses at the link's rate,
    ``attributed × deposit amount / release amount``, onto the deposit's transfers into
    the bridge. Where several links name one release, the surest is followed (as exposure
    does). Every link followed is reported in ``crossings``, also where its deposit chain is
    not stored or no hop is left for it.
    """
    ix = c.index
    edges = np.asarray(out[0], np.int64)
    attributed = np.asarray(out[1], np.float64)
    hops = np.asarray(out[2], np.int64)
    role = np.asarray(c.bounds.role)
    src_e = np.asarray(ix.src[edges], np.int64)
    dst_e = np.asarray(ix.dst[edges], np.int64)
    paid = role[src_e] == ROLE_BRIDGE
    if ix.utxo:
        txs = np.unique(src_e[(src_e >= ix.n_addresses) & (src_e != ix.sink)])
        paid |= np.isin(src_e, _bridge_spends(c, txs))
    rows = np.flatnonzero(paid & (dst_e < ix.n_addresses))
    if not len(rows):
        return []
    tx_e = np.asarray(ix.tx[edges[rows]], np.int64)
    hashes = session.tx_hashes(c.name, np.unique(tx_e[tx_e >= 0]).tolist())
    names = session.address_texts(c.name, np.unique(dst_e[rows]).tolist())
    carried: list[tuple[Link, float, int, int]] = []  # link, confidence, deposit share, hop
    for row, tx in zip(rows.tolist(), tx_e.tolist(), strict=True):
        key = (c.name, normal_tx(c.name, hashes.get(tx, "")), names.get(int(dst_e[row]), ""))
        links = by_release.get(key)
        if not links:
            continue
        link = max(links, key=lambda x: x.confidence)  # the first of the surest
        pair = (link.deposit_chain, link.deposit_tx, *key)
        confidence = min(leg.confidence, link.confidence)
        if pair in followed or confidence < params.min_link_confidence:
            continue
        followed.add(pair)
        e = int(edges[row])
        # as reported: a whole transfer exactly, a share rounded down
        released = ix.exact_amount(e)
        if attributed[row] < float(ix.value[e]) * (1 - 1e-12):
            released = min(released, ix.to_base_units(int(ix.asset[e]), float(attributed[row])))
        deposit = (
            min(link.deposit_amount, released * link.deposit_amount // link.release_amount)
            if link.release_amount
            else 0
        )
        crossings.append(_crossing(link, deposit, released, confidence))
        hop = int(hops[row]) + 1
        if link.deposit_chain in session.stored_chains and deposit > 0 and hop <= params.max_hops:
            carried.append((link, confidence, deposit, hop))
    # one lookup per chain for all the deposits this leg reached, not one per link
    found = {
        name: deposit_edges(session, session.chain(name), [x[0] for x in carried])
        for name in sorted({x[0].deposit_chain for x in carried})
    }
    targets: dict[tuple[str, float], dict[int, tuple[float, int]]] = {}
    for link, confidence, deposit, hop in carried:
        into = found[link.deposit_chain].get(link)
        if into is None:
            continue
        target = session.chain(link.deposit_chain).index
        value = np.asarray(target.value[into], np.float64)
        paid_in = float(value.sum())
        if paid_in <= 0:
            continue
        carried_units = target.from_base_units(int(target.asset[into[0]]), deposit)
        seeds = targets.setdefault((link.deposit_chain, confidence), {})
        # the deposit's transfers (one, as a rule) share it in proportion to their amounts;
        # a transfer two links carry onto takes both, up to its amount, at the nearer hop
        for e, v in zip(into.tolist(), value.tolist(), strict=True):
            part = min(v, carried_units * v / paid_in)
            before = seeds.get(e, (0.0, hop))
            seeds[e] = (min(v, before[0] + part), min(before[1], hop))
    legs = []
    for chain, confidence in sorted(targets):
        seeds = targets[(chain, confidence)]
        leg_next = _Leg(chain, confidence)
        for e in sorted(seeds):
            leg_next.seed_edges.append(e)
            leg_next.seed_taint.append(seeds[e][0])
            leg_next.seed_hop.append(seeds[e][1])
            leg_next.seed_rule.append(int(Rule.BRIDGE))
        legs.append(leg_next)
    return legs


def _bridge_spends(c: LoadedChain, txs: np.ndarray) -> np.ndarray:
    """The UTXO transactions among ``txs`` that spend coins of an address labelled bridge."""
    ix = c.index
    in_ptr = np.asarray(ix.in_ptr, np.int64)
    start = in_ptr[txs]
    count = in_ptr[txs + 1] - start
    if not count.sum():
        return np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(txs)), count)
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    inputs = np.asarray(ix.in_edges[start[owner] + offset], np.int64)
    spends = np.asarray(c.bounds.role)[np.asarray(ix.src[inputs], np.int64)] == ROLE_BRIDGE
    return np.unique(txs[owner[spends]])

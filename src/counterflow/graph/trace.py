"""Tracing: follow value from seed addresses through time, services, swaps, mixers and bridges.

``trace(directory, params, labels=…, links=…)`` is the whole capability as one call: it loads
(or builds) each chain's index, resolves labels to roles, runs the compiled kernel, hops across
bridges through the links, and turns ids back into addresses, hashes and exact amounts. The
result is deterministic: the same data, labels, links and parameters give the same document,
which is what lets an evidence bundle be replayed byte for byte.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from counterflow.attribution.tagpack import Tag, TagPack, load_tagpacks
from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import InputError
from counterflow.graph.boundaries import Boundaries, boundaries
from counterflow.graph.coinjoin import CoinJoins, coinjoins
from counterflow.graph.index import GraphIndex, index_dir, load_index
from counterflow.graph.links import Link, LinkFile, load_links, normal_tx
from counterflow.graph.lookup import Lookups
from counterflow.graph.policies import (
    BACKWARD,
    ROLE_BRIDGE,
    ROLE_SINK,
    ROLE_STOP,
    Policy,
    Rule,
    TraceParams,
)
from counterflow.graph.propagation import backward, forward
from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader

RESULT_FORMAT = "counterflow-trace/1"


@dataclass
class TracedTransfer:
    """One transfer that carried taint, with why (the rule) and how much."""

    chain: str
    hop: int
    tx_hash: str | None
    block: int
    time: str
    source: str | None  # an address; None for a UTXO transaction or minted value
    target: str | None  # an address; None for a UTXO transaction or the fee sink
    asset: str
    amount: int
    tainted: int
    taint_in: int  # the source's taint just before this transfer (same asset)
    rule: str
    confidence: float


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
    transfers: list[TracedTransfer] = field(default_factory=list)
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
            "destinations": [asdict(d) for d in self.destinations],
            "held": self.held,
            "crossings": self.crossings,
            "holders": [asdict(h) for h in self.holders],
            "transfers": [asdict(t) for t in self.transfers],
        }

    def laundering_addresses(self) -> list[tuple[str, str]]:
        return [(h.chain, h.address) for h in self.holders if h.role == "laundering"]

    def answers(self, team: str = "trace") -> dict[str, Any]:
        """An exercise answers document: traced addresses and destinations found."""
        last = max((t.time for t in self.transfers), default=None)
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


@dataclass
class _Chain:
    name: str
    index: GraphIndex
    bounds: Boundaries
    symbols: dict[int, str]
    coinjoins: CoinJoins | None = None


class _Session:
    """The chains a trace touches, each loaded once, and id <-> text lookups."""

    def __init__(self, directory: DataDirectory, tags: list[Tag], reader: StoreReader) -> None:
        self.directory = directory
        self.tags = tags
        self.reader = reader
        self.chains: dict[str, _Chain] = {}
        self._lookups: dict[str, Lookups | None] = {}

    def chain(self, name: str) -> _Chain:
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
            self.chains[name] = _Chain(name, index, roles, symbols)
        return self.chains[name]

    def coinjoins(self, c: _Chain) -> CoinJoins:
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


_RULE_NAMES = {int(r): r.name.lower() for r in Rule}


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def trace(
    directory: DataDirectory | str | Path,
    params: TraceParams,
    *,
    labels: list[str | Path] | tuple[str | Path, ...] = (),
    links: list[str | Path] | tuple[str | Path, ...] = (),
) -> TraceResult:
    """Trace ``params.seeds`` on ``params.chain``; see docs/tracing.md for every rule."""
    params.validate()
    store = directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
    chain = get_chain(params.chain).name
    if chain not in store.chains():
        raise InputError(f"chain {chain!r} is not in the store {store.root}; ingest it first")
    # absolute paths: an evidence bundle must name the same files from any folder
    packs = load_tagpacks([Path(p).resolve() for p in labels])
    link_files = [load_links(Path(p).resolve()) for p in links]
    seeds = [normalize_address(chain, s) for s in params.seeds]
    policy = Policy.parse(params.policy)
    with StoreReader(store) as reader:
        session = _Session(store, [t for p in packs for t in p.tags], reader)
        first = session.chain(chain)
        ids = session.address_ids(chain, seeds)
        absent = [s for s in seeds if s not in ids]
        if absent:
            raise InputError(f"address(es) not in the {chain} store: {', '.join(absent)}")
        since = 0
        if params.since is not None:
            epoch = _epoch(params.since)
            since = int(np.searchsorted(np.asarray(first.index.time), epoch, side="left"))
        if params.direction == BACKWARD:
            return _backward(session, params, first, [ids[s] for s in seeds], packs, link_files)
        return _forward(
            session, params, policy, first, [ids[s] for s in seeds], since, packs, link_files
        )


def _data_document(
    session: _Session, packs: list[TagPack], link_files: list[LinkFile]
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
    session: _Session,
    params: TraceParams,
    policy: Policy,
    first: _Chain,
    seed_ids: list[int],
    since: int,
    packs: list[TagPack],
    link_files: list[LinkFile],
) -> TraceResult:
    by_deposit: dict[tuple[str, str], list[Link]] = defaultdict(list)
    for f in link_files:
        for link in f.links:
            by_deposit[(link.deposit_chain, link.deposit_tx)].append(link)
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
        for e, t, hop_e in zip(
            edges[into_bridge], taint[into_bridge], hops[into_bridge], strict=True
        ):
            tx = int(ix.tx[e])
            share = ix.to_base_units(int(ix.asset[e]), float(t))
            prev = deposits.get(tx, (0.0, int(hop_e)))
            deposits[tx] = (prev[0] + share, min(prev[1], int(hop_e)))
        hashes = session.tx_hashes(c.name, sorted(deposits))
        targets: dict[tuple[str, float], _Leg] = {}
        releases: list[tuple[Link, float, int, int]] = []  # link, confidence, released, hop
        for tx, (tainted, hop) in sorted(deposits.items()):
            tx_hash = normal_tx(c.name, hashes.get(tx, ""))
            for link in by_deposit.get((c.name, tx_hash), []):
                pair = (link.deposit_tx, link.release_tx)
                confidence = min(leg.confidence, link.confidence)
                if pair in followed or confidence < params.min_link_confidence:
                    continue
                followed.add(pair)
                if link.release_chain not in session.directory.chains():
                    continue
                fraction = min(1.0, tainted / link.deposit_amount) if link.deposit_amount else 0.0
                released = int(link.release_amount * fraction)
                crossings.append(
                    {
                        "deposit_chain": link.deposit_chain,
                        "deposit_tx": link.deposit_tx,
                        "tainted_deposit": int(tainted),
                        "release_chain": link.release_chain,
                        "release_tx": link.release_tx,
                        "release_address": link.release_address,
                        "tainted_release": released,
                        "confidence": confidence,
                    }
                )
                releases.append((link, confidence, released, hop))
        # one lookup per chain for all the releases this leg reached, not one per link
        edges_by_chain = {
            name: _release_edges(session, session.chain(name), [r[0] for r in releases])
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


def _theft_leg(
    session: _Session, params: TraceParams, first: _Chain, seed_ids: list[int], since: int
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


def _decimals(session: _Session, c: _Chain) -> dict[int, int]:
    spec = get_chain(c.name)
    decimals = {0: spec.native_decimals}
    for asset_id, value in session.reader.rows(
        f"SELECT asset_id, decimals FROM {session.reader.table(c.name, 'assets')}"
    ):
        if int(asset_id) != 0:
            decimals[int(asset_id)] = int(value or 0)
    return decimals


def _release_edges(session: _Session, c: _Chain, links: list[Link]) -> dict[tuple[str, str], int]:
    """The transfer each release pays to its address, keyed by (release tx, address)."""
    mine = [link for link in links if link.release_chain == c.name]
    txs = session.tx_ids(c.name, sorted({link.release_tx for link in mine}))
    addresses = session.address_ids(c.name, sorted({link.release_address for link in mine}))
    ix = c.index
    found: dict[tuple[str, str], int] = {}
    for link in mine:
        tx = txs.get(link.release_tx)
        address = addresses.get(link.release_address)
        if tx is None or address is None:
            continue
        start, end = int(ix.in_ptr[address]), int(ix.in_ptr[address + 1])
        for p in range(start, end):
            e = int(ix.in_edges[p])
            if int(ix.tx[e]) == tx:
                found[(link.release_tx, link.release_address)] = e
                break
    return found


def _assemble(
    session: _Session,
    params: TraceParams,
    raw: list[tuple[_Leg, tuple[np.ndarray, ...]]],
    seed_ids: list[int],
    seed_chain: str,
    crossings: list[dict[str, Any]],
    packs: list[TagPack],
    link_files: list[LinkFile],
) -> TraceResult:
    result = TraceResult(params=params, data=_data_document(session, packs, link_files))
    result.crossings = crossings
    holder_hops: dict[tuple[str, int], int] = {}
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for leg, out in raw:
        c = session.chain(leg.chain)
        ix = c.index
        edges, taint, hops, taint_in, rules = out[0], out[1], out[2], out[3], out[4]
        # gather every per-edge column once: scalar reads of memory-mapped arrays cost
        # microseconds each, and a trace reports tens of thousands of transfers
        src_e = np.asarray(ix.src[edges], np.int64)
        dst_e = np.asarray(ix.dst[edges], np.int64)
        asset_e = np.asarray(ix.asset[edges], np.int64)
        tx_e = np.asarray(ix.tx[edges], np.int64)
        link_e = np.asarray(ix.link[edges], np.int64)
        role_e = np.asarray(c.bounds.role[dst_e], np.int64)
        holders = set(src_e.tolist()) | set(dst_e.tolist())
        addr_ids = sorted(h for h in holders if h < ix.n_addresses)
        names = session.address_texts(c.name, addr_ids)
        hashes = session.tx_hashes(c.name, sorted({t for t in tx_e.tolist() if t >= 0}))
        times: dict[int, str] = {}
        for (
            _e,
            t,
            h,
            t_in,
            rule,
            a,
            src,
            dst,
            tx,
            block,
            when,
            units,
            rem,
            value,
            role,
            link,
        ) in zip(
            edges.tolist(),
            taint.tolist(),
            hops.tolist(),
            taint_in.tolist(),
            rules.tolist(),
            asset_e.tolist(),
            src_e.tolist(),
            dst_e.tolist(),
            tx_e.tolist(),
            np.asarray(ix.block[edges]).tolist(),
            np.asarray(ix.time[edges]).tolist(),
            np.asarray(ix.units[edges]).tolist(),
            np.asarray(ix.rem[edges]).tolist(),
            np.asarray(ix.value[edges]).tolist(),
            role_e.tolist(),
            link_e.tolist(),
            strict=True,
        ):
            symbol = c.symbols.get(a, str(a))
            amount = units * 10 ** ix.shifts.get(a, 0) + rem
            # the kernel ran on fractional units: a whole transfer is reported exactly
            tainted = amount if t >= value * (1 - 1e-12) else min(amount, ix.to_base_units(a, t))
            if when not in times:
                times[when] = _iso(when)
            record = TracedTransfer(
                chain=c.name,
                hop=int(h),
                tx_hash=hashes.get(tx),
                block=block,
                time=times[when],
                source=names.get(src),
                target=names.get(dst),
                asset=symbol,
                amount=amount,
                tainted=tainted,
                taint_in=min(ix.to_base_units(a, t_in), 2**127),
                rule=_RULE_NAMES[rule],
                confidence=leg.confidence,
            )
            result.transfers.append(record)
            if rule == Rule.SEED:
                totals[symbol]["seeded"] += tainted
            if rule == Rule.BRIDGE:
                totals[symbol]["bridged_in"] += tainted
            if role == ROLE_STOP and dst in c.bounds.services:
                service, category, found_by = c.bounds.services[dst]
                result.destinations.append(
                    Destination(
                        chain=c.name,
                        service=service,
                        category=category,
                        address=names[dst],
                        found_by=found_by,
                        asset=symbol,
                        amount=tainted,
                        time=record.time,
                        tx_hash=record.tx_hash,
                        hop=int(h),
                        confidence=leg.confidence,
                    )
                )
                totals[symbol]["destinations"] += tainted
            elif role == ROLE_SINK:
                totals[symbol]["fees"] += tainted
            elif role == ROLE_BRIDGE:
                totals[symbol]["bridged_out"] += tainted
            elif ix.utxo and dst < ix.n_addresses and link < 0:
                result.held.append(
                    {"chain": c.name, "address": names[dst], "asset": symbol, "amount": tainted}
                )
                totals[symbol]["held"] += tainted
            for holder in (src, dst):
                if holder < ix.n_addresses:
                    key = (c.name, holder)
                    hop = int(h) if holder == dst else max(int(h) - 1, 0)
                    holder_hops[key] = min(holder_hops.get(key, hop), hop)
        held_h, held_at = out[5], out[6]
        held_names = session.address_texts(
            c.name, sorted({int(x) for x in held_h if x < ix.n_addresses})
        )
        for k, holder in enumerate(held_h.tolist()):
            if holder not in held_names:
                continue
            a = int(held_at[2 * k])
            symbol = c.symbols.get(a, str(a))
            amount = ix.to_base_units(a, float(held_at[2 * k + 1]))
            if Policy.parse(params.policy) == Policy.POISON:
                continue
            result.held.append(
                {"chain": c.name, "address": held_names[holder], "asset": symbol, "amount": amount}
            )
            totals[symbol]["held"] += amount
        for a, d in enumerate(out[7].tolist()):
            if d > 0:
                totals[c.symbols.get(a, str(a))]["dropped"] += ix.to_base_units(a, d)
    seeds = {(seed_chain, s) for s in seed_ids}
    # one lookup per chain, not one per holder: a poison trace reaches tens of thousands
    holder_names: dict[str, dict[int, str]] = {}
    for chain in sorted({chain for chain, _ in holder_hops}):
        holder_names[chain] = session.address_texts(
            chain, sorted(h for c, h in holder_hops if c == chain)
        )
    for (chain, holder), hop in sorted(holder_hops.items()):
        c = session.chain(chain)
        name = holder_names[chain].get(holder)
        if name is None:
            continue
        role = int(c.bounds.role[holder])
        if (chain, holder) in seeds:
            kind = "seed"
        elif role == ROLE_STOP:
            kind = "service"
        elif role != 0:
            kind = {2: "dex", 3: "mixer", 4: "bridge", 5: "sink"}[role]
        elif holder in c.bounds.services:
            kind = "service"
        else:
            kind = "laundering"
        result.holders.append(TracedHolder(chain, name, hop, kind))
    result.totals = {k: dict(sorted(v.items())) for k, v in sorted(totals.items())}
    result.held.sort(key=lambda x: (x["chain"], x["address"], x["asset"]))
    return result


def _backward(
    session: _Session,
    params: TraceParams,
    first: _Chain,
    seed_ids: list[int],
    packs: list[TagPack],
    link_files: list[LinkFile],
) -> TraceResult:
    ix = first.index
    policy = Policy.parse(params.policy)
    out = backward(
        ix.src,
        ix.dst,
        ix.value,
        ix.asset,
        ix.link,
        ix.out_ptr,
        ix.out_edges,
        ix.in_ptr,
        ix.in_edges,
        first.bounds.role,
        ix.n_addresses,
        ix.utxo,
        int(policy),
        params.max_hops,
        params.min_fraction,
        np.array(seed_ids, np.int64),
    )
    empty_i = np.zeros(0, np.int64)
    empty_f = np.zeros(0, np.float64)
    rule = {Policy.POISON: Rule.POISON, Policy.HAIRCUT: Rule.HAIRCUT, Policy.FIFO: Rule.FIFO}
    rules = np.full(len(out[0]), int(rule[policy]))
    full = (out[0], out[1], out[2], out[1], rules, empty_i, empty_f, np.zeros(ix.n_assets))
    leg = _Leg(first.name, 1.0)
    return _assemble(session, params, [(leg, full)], seed_ids, first.name, [], packs, link_files)

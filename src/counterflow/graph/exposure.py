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
- **bridge links** (``links=``): a bridge is a boundary only where its other side cannot be
  seen. A release in the cone that a ledger links to a deposit on another chain carries what
  that deposit carried, found by the same received-exposure computation on the deposit chain
  over the hops left; sent value that reaches a linked deposit goes on from the release. Both
  are stated in the subject's asset (the far side's asset and amount are reported beside them),
  with the link's confidence, so that a reviewer can weigh what only a ledger asserts.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from collections.abc import Callable
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
from counterflow.graph.crossings import by_deposit, deposit_asset, into_bridges, release_edges
from counterflow.graph.index import GraphIndex
from counterflow.graph.links import Link, LinkFile, load_links
from counterflow.graph.policies import ROLE_BRIDGE, ROLE_NORMAL, ROLE_SINK, ROLE_STOP, Policy
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
#: Category of value a bridge released (received) or took (sent) whose other side is not seen.
BRIDGE = "bridge"
#: Labelled holders run one by one for the contributor list, per category (the largest first).
CONTRIBUTOR_RUNS = 25
TOP_CONTRIBUTORS = 5
#: Bridge links below this confidence are not followed (as ``TraceParams.min_link_confidence``).
MIN_LINK_CONFIDENCE = 0.5
#: What became of a bridge link the value met (``Crossing.status``).
FOLLOWED = "followed"
BELOW_MIN_CONFIDENCE = "below_min_confidence"
CHAIN_NOT_STORED = "chain_not_stored"
DEPOSIT_NOT_FOUND = "deposit_not_found"
RELEASE_NOT_FOUND = "release_not_found"
BEYOND_HOP_LIMIT = "beyond_hop_limit"
_FAR = 1 << 30  # the hop of a receipt no run reached


@dataclass
class Contributor:
    """One labelled holder and how much of the subject's value it supplied (or received)."""

    address: str
    label: str
    category: str
    found_by: str  # "labelled" (a TagPack) or "deposit" (inferred exchange deposit address)
    amount: int  # in the category's asset (the subject's side of any bridge crossing)
    min_hop: int
    chain: str  # the holder's: another than the report's where the value crossed a bridge link


@dataclass
class LinkedExposure:
    """The part of a category's value that crossed bridge links, by the crossing nearest the
    subject and the confidence of the whole way: what only a ledger asserts, to be weighed."""

    deposit_chain: str
    deposit_tx: str
    release_chain: str
    release_tx: str
    release_address: str
    confidence: float  # the weakest link on the way (a way is as sure as its least sure link)
    crossings: int  # bridge crossings on the way (1: this link only)
    amount: int  # in the category's asset: part of ``CategoryExposure.amount``
    far_chain: str  # where the category's holders are
    far_asset: str
    far_amount: int  # the same value there, at the category's holders, in that chain's asset
    min_hop: int


@dataclass
class Crossing:
    """A bridge link the subject's value met, whether it was followed, and how much crossed.

    Received: ``release_amount`` is the part of the release that reached the subject (for a
    crossing further away, that reached the deposit of the crossing nearer the subject) and
    ``deposit_amount`` the same at the link's rate. Sent: ``deposit_amount`` is the subject's
    value in the deposit that this link carried on, ``release_amount`` what it released.
    """

    deposit_chain: str
    deposit_tx: str
    release_chain: str
    release_tx: str
    release_address: str
    confidence: float  # the ledger's, for this link
    path_confidence: float  # the weakest link from the subject up to this one
    status: str  # followed, below_min_confidence, chain_not_stored, deposit_not_found, …
    depth: int  # 1: the crossing nearest the subject, 2: one beyond it, …
    hop: int  # hops from the subject to the release (received) or deposit (sent) transfer
    deposit_asset: str | None
    deposit_amount: int
    release_asset: str | None
    release_amount: int


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
    via_links: int = 0  # the part of ``amount`` that came (went) only across bridge links
    links: list[LinkedExposure] = field(default_factory=list)


@dataclass
class DirectionExposure:
    """Totals per asset and the categories that make them up, for one direction."""

    totals: dict[str, int]
    transfers: int
    categories: list[CategoryExposure]
    contributors_complete: bool = True
    crossings: list[Crossing] = field(default_factory=list)

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
    min_link_confidence: float = MIN_LINK_CONFIDENCE,
    entity: bool = False,
    since: str | None = None,
    until: str | None = None,
) -> ExposureReport:
    """Exposure of an address (or with ``entity``, of its whole entity) per risk category.

    ``address_or_entity`` is an address, or with ``entity=True`` also an entity id (the
    entity's smallest address id, as ``counterflow address`` shows it). ``since``/``until``
    (ISO 8601, UTC) bound the subject's own transfers; origins and destinations may lie
    outside them. ``links`` (bridge ledgers) are followed across chains where at least
    ``min_link_confidence`` sure. See docs/exposure.md for the exact semantics.
    """
    started = clock.perf_counter()
    if direction not in (RECEIVED, SENT, BOTH):
        raise InputError(f"direction must be {RECEIVED}, {SENT} or {BOTH}, got {direction!r}")
    if isinstance(max_hops, bool) or not isinstance(max_hops, int) or max_hops < 1:
        raise InputError(f"hops must be a whole number of at least 1, got {max_hops!r}")
    if (
        isinstance(min_link_confidence, bool)
        or not isinstance(min_link_confidence, int | float)
        or not 0 <= min_link_confidence <= 1
    ):
        raise InputError(
            f"min link confidence must be a number between 0 and 1, got {min_link_confidence!r}"
        )
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
        bridges = (
            _Bridges(session, link_files, float(min_link_confidence), rule)
            if any(f.links for f in link_files)
            else None
        )
        received = sent = None
        if direction in (RECEIVED, BOTH):
            received = _received(session, c, targets, lo, hi, rule, max_hops, bridges)
        if direction in (SENT, BOTH):
            sent = _sent(session, c, targets, lo, hi, rule, max_hops, bridges)
        data = {
            "store": {"fingerprint": ix.fingerprint},
            "labels": [{"path": p.path, "sha256": p.sha256} for p in packs],
            "links": [{"path": f.path, "sha256": f.sha256} for f in link_files],
        }
        if bridges is not None:
            # every other chain a crossing read: its index is part of what the answer rests on
            data["linked_stores"] = {
                other: {"fingerprint": loaded.index.fingerprint}
                for other, loaded in sorted(session.chains.items())
                if other != name
            }
    params = {
        "direction": direction,
        "max_hops": max_hops,
        "policy": rule.name.lower(),
        "min_link_confidence": min_link_confidence,
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
    deadlines: np.ndarray,
    layers: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every holder that can pass value to ``targets`` within ``layers`` edges, back in time.

    Returns holders and their smallest depth. Each target counts only its receipts before its
    deadline. A holder is expanded at the latest transfer through which it pays toward the
    targets (earlier receipts are what it could have passed on); one already expanded at an
    earlier depth with a later deadline is not expanded again, since that expansion reaches
    everything this one would, with hops to spare. Holders with ``stop`` set (labelled holders,
    the sink) are reached but not expanded: they are origins.
    """
    depth = Dict.empty(key_type=types.int64, value_type=types.int64)
    best = Dict.empty(key_type=types.int64, value_type=types.int64)
    f_h = targets.copy()
    f_d = deadlines.copy()
    for i in range(len(targets)):
        depth[targets[i]] = 0
        best[targets[i]] = deadlines[i]
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


def _deposit_cone(
    ix: GraphIndex, stop: np.ndarray, receipts: np.ndarray, layers: int
) -> tuple[np.ndarray, np.ndarray]:
    """The cone of a bridge deposit: its payers at depth 1, then whoever paid them before.

    The bridge is no target: what else it took in is other people's deposits, and walking
    back from it would cost the bridge's whole history.
    """
    latest: dict[int, int] = {}
    for s, e in zip(
        np.asarray(ix.src, np.int64)[receipts].tolist(), receipts.tolist(), strict=True
    ):
        latest[s] = max(latest.get(s, e), e)
    depth = dict.fromkeys(latest, 1)
    expand = [s for s in sorted(latest) if stop[s] == 0]
    if layers > 1 and expand:
        holders, depths = _cone(
            ix.src,
            ix.in_ptr,
            ix.in_edges,
            stop,
            np.array(expand, np.int64),
            np.array([latest[s] for s in expand], np.int64),
            layers - 1,
        )
        for h, d in zip(holders.tolist(), depths.tolist(), strict=True):
            depth[h] = min(depth.get(h, d + 1), d + 1)
    return np.array(list(depth), np.int64), np.array(list(depth.values()), np.int64)


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


def _stops(c: LoadedChain) -> np.ndarray:
    """Where attribution ends: labelled holders and the sink (minted value, fees)."""
    stop = np.zeros(c.index.n_holders, np.int8)
    labelled = c.bounds.services.holders()
    if len(labelled):
        stop[labelled] = 1
    stop[c.index.sink] = 1
    return stop


def _category(c: LoadedChain, holder: int) -> str:
    return c.bounds.services[holder][1].lower() or "labelled"


def _part_of(amount: int, numerator: int, denominator: int, poison: bool) -> int:
    """``amount × numerator / denominator`` rounded down; under poison, any part is the whole."""
    if amount <= 0 or numerator <= 0 or denominator <= 0:
        return 0
    if poison:
        return amount
    return amount * numerator // denominator


# --- shares of receipts, across bridge links ----------------------------------------------


#: A linked part's key: category, the links crossed (nearest first), their weakest confidence,
#: and the chain and asset of the category's holders.
_Key = tuple[str, tuple[Link, ...], float, str, str]


@dataclass
class _Share:
    """One category's (or one linked part's) share of each receipt, in base units."""

    amount: list[int]
    hop: list[int]
    direct: list[bool]
    far: list[int]  # linked parts: the same value at the category's holders, in their asset
    #: linked parts: (chain, address) -> the holder as a contributor, per receipt asset
    contributors: dict[int, dict[tuple[str, str], Contributor]] = field(default_factory=dict)

    @classmethod
    def empty(cls, n: int) -> _Share:
        return cls([0] * n, [_FAR] * n, [False] * n, [0] * n)

    def add(self, i: int, amount: int, hop: int, poison: bool, direct: bool, far: int = 0) -> None:
        if amount <= 0:
            return
        if poison:
            self.amount[i] = max(self.amount[i], amount)
            self.far[i] = max(self.far[i], far)
        else:
            self.amount[i] += amount
            self.far[i] += far
        self.hop[i] = min(self.hop[i], hop)
        self.direct[i] = self.direct[i] or direct


def _merge_contributor(
    into: dict[tuple[str, str], Contributor], x: Contributor, amount: int, hop: int
) -> None:
    if amount <= 0:
        return
    known = into.get((x.chain, x.address))
    if known is None:
        into[(x.chain, x.address)] = Contributor(
            x.address, x.label, x.category, x.found_by, amount, hop, x.chain
        )
    else:
        known.amount += amount
        known.min_hop = min(known.min_hop, hop)


@dataclass
class _Explained:
    """Where each receipt's value came from: categories on this chain, parts across links."""

    own: dict[str, _Share]
    linked: dict[_Key, _Share]
    contributors: dict[tuple[str, int], list[Contributor]]
    complete: bool
    crossings: list[Crossing]


@dataclass
class _Part:
    """One category's part of a bridge deposit, as the deposit's own asset carried it."""

    category: str
    path: tuple[Link, ...]  # links crossed behind the deposit, nearest first
    confidence: float  # of the whole way from the subject
    amount: int  # in the deposit's asset
    far_chain: str
    far_asset: str
    far: int  # at the category's holders, in their asset
    hop: int  # counted from the deposit transfer (1: the category's holder paid the deposit)
    contributors: list[Contributor]


@dataclass
class _Composition:
    """What a bridge deposit carried, per category, within a hop budget."""

    asset: str
    total: int  # the deposit transfers' amount (into holders labelled bridge), base units
    parts: list[_Part]
    crossings: list[Crossing]


class _Bridges:
    """The bridge ledgers as one exposure query follows them.

    A ledger holds many links and a query meets few, so links are resolved to transfers once per
    chain and query, and a deposit's composition once per hop budget left: several releases of
    one deposit, or several ways to one release, share it.
    """

    def __init__(
        self, session: GraphSession, files: list[LinkFile], min_confidence: float, policy: Policy
    ) -> None:
        self.session = session
        self.files = files
        self.min_confidence = min_confidence
        self.policy = policy
        self.by_deposit = by_deposit(files)
        self._releases: dict[str, tuple[np.ndarray, dict[int, Link]]] = {}
        self._release_at: dict[str, dict[tuple[str, str], int]] = {}
        self._deposits: dict[str, dict[int, np.ndarray]] = {}
        self._deposit_ids: dict[str, dict[str, int]] = {}
        self._deposit_hashes: dict[str, dict[int, list[str]]] = {}
        self._compositions: dict[tuple[str, str, int, int, float], _Composition | None] = {}
        #: False once a deposit side had more labelled holders than the contributor runs
        self.complete = True

    def releases(self, c: LoadedChain) -> tuple[np.ndarray, dict[int, Link]]:
        """Every linked release transfer on the chain (ascending) and its link.

        Where several links name one release, the surest is followed.
        """
        if c.name not in self._releases:
            mine = [link for f in self.files for link in f.links if link.release_chain == c.name]
            found = release_edges(self.session, c, mine) if mine else {}
            best: dict[int, Link] = {}
            for link in mine:
                e = found.get((link.release_tx, link.release_address))
                if e is not None and (e not in best or link.confidence > best[e].confidence):
                    best[e] = link
            self._release_at[c.name] = found
            self._releases[c.name] = (np.array(sorted(best), np.int64), best)
        return self._releases[c.name]

    def release_edge(self, c: LoadedChain, link: Link) -> int | None:
        self.releases(c)
        return self._release_at[c.name].get((link.release_tx, link.release_address))

    def deposits(self, c: LoadedChain) -> dict[int, np.ndarray]:
        """Per linked deposit transaction (id): its transfers into holders labelled bridge."""
        if c.name not in self._deposits:
            hashes = sorted({tx for chain, tx in self.by_deposit if chain == c.name})
            ids = self.session.tx_ids(c.name, hashes)
            grouped: dict[int, np.ndarray] = {}
            if ids:
                into = into_bridges(c)
                txs = np.asarray(c.index.tx, np.int64)[into]
                hit = np.isin(txs, np.array(sorted(ids.values()), np.int64))
                into, txs = into[hit], txs[hit]
                for tx in np.unique(txs).tolist():
                    grouped[int(tx)] = into[txs == tx]
            by_id: dict[int, list[str]] = defaultdict(list)
            for tx_hash, tx_id in ids.items():
                by_id[tx_id].append(tx_hash)
            self._deposit_ids[c.name] = ids
            self._deposit_hashes[c.name] = dict(by_id)
            self._deposits[c.name] = grouped
        return self._deposits[c.name]

    def deposit_links(self, c: LoadedChain, tx: int) -> list[Link]:
        """The links whose deposit is transaction ``tx`` (an id) of the chain."""
        self.deposits(c)
        hashes = self._deposit_hashes[c.name].get(tx, [])
        return [link for h in hashes for link in self.by_deposit.get((c.name, h), [])]

    def deposit_asset(self, c: LoadedChain, tx: int, amount: int) -> int | None:
        """The asset of a linked deposit: a ledger names none, so where the deposit pays the
        bridge in several, the one whose total is nearest the ledger's ``amount``."""
        edges = self.deposits(c).get(tx)
        return None if edges is None else deposit_asset(c.index, edges, amount)

    def releases_into(
        self, c: LoadedChain, role: np.ndarray, receipts: np.ndarray, in_target: np.ndarray
    ) -> dict[int, Link]:
        """The linked releases that can pass value to the receipts through the cone."""
        edges, best = self.releases(c)
        if not len(edges) or not len(receipts):
            return {}
        edges = edges[edges <= int(receipts.max())]  # a later release cannot reach them
        ix = c.index
        src = np.asarray(ix.src, np.int64)[edges]
        dst = np.asarray(ix.dst, np.int64)[edges]
        keep = ((role[dst] == ROLE_NORMAL) | np.isin(edges, receipts)) & ~in_target[src]
        return {int(e): best[int(e)] for e in edges[keep].tolist()}

    def composition(self, link: Link, budget: int, confidence: float) -> _Composition | None:
        """What the link's deposit carried, per category, within ``budget`` hops (None: the
        deposit is not in the store, or pays no holder labelled bridge)."""
        key = (link.deposit_chain, link.deposit_tx, link.deposit_amount, budget, confidence)
        if key not in self._compositions:
            self._compositions[key] = self._compose(link, budget, confidence)
        return self._compositions[key]

    def _compose(self, link: Link, budget: int, confidence: float) -> _Composition | None:
        c = self.session.chain(link.deposit_chain)
        ix = c.index
        grouped = self.deposits(c)
        tx = self._deposit_ids[c.name].get(link.deposit_tx)
        asset = None if tx is None else self.deposit_asset(c, tx, link.deposit_amount)
        if tx is None or asset is None:
            return None
        edges = grouped[tx]
        receipts = np.sort(edges[np.asarray(ix.asset, np.int64)[edges] == asset])
        srcs = np.asarray(ix.src, np.int64)[receipts]
        layers = 2 * budget if ix.utxo else budget
        holders, depths = _deposit_cone(ix, _stops(c), receipts, layers)
        none = np.zeros(0, np.int64)
        ex = _explain(
            self.session,
            self,
            c,
            receipts,
            srcs,
            holders,
            depths,
            layers,
            none,
            self.policy,
            budget,
            confidence,
        )
        self.complete = self.complete and ex.complete
        poison = self.policy == Policy.POISON
        symbol = c.symbols.get(asset, str(asset))
        exact = [ix.exact_amount(e) for e in receipts.tolist()]
        parts: list[_Part] = []
        covered = [0] * len(exact)
        for category, share in sorted(ex.own.items()):
            amount = sum(share.amount)
            if amount <= 0:
                continue
            for i, v in enumerate(share.amount):
                covered[i] = max(covered[i], v) if poison else covered[i] + v
            parts.append(
                _Part(
                    category,
                    (),
                    confidence,
                    amount,
                    c.name,
                    symbol,
                    amount,
                    min(h for h, v in zip(share.hop, share.amount, strict=True) if v > 0),
                    ex.contributors.get((category, asset), []),
                )
            )
        for key, share in sorted(ex.linked.items(), key=lambda kv: _key_order(kv[0])):
            amount = sum(share.amount)
            if amount <= 0:
                continue
            for i, v in enumerate(share.amount):
                covered[i] = max(covered[i], v) if poison else covered[i] + v
            category, path, path_confidence, far_chain, far_asset = key
            parts.append(
                _Part(
                    category,
                    path,
                    path_confidence,
                    amount,
                    far_chain,
                    far_asset,
                    max(share.far) if poison else sum(share.far),
                    min(h for h, v in zip(share.hop, share.amount, strict=True) if v > 0),
                    list(share.contributors.get(asset, {}).values()),
                )
            )
        rest = sum(max(x - min(v, x), 0) for x, v in zip(exact, covered, strict=True))
        if rest > 0:
            parts.append(
                _Part(UNLABELLED, (), confidence, rest, c.name, symbol, rest, budget + 1, [])
            )
        return _Composition(symbol, sum(exact), parts, ex.crossings)


def _key_order(key: _Key) -> tuple[Any, ...]:
    category, path, confidence, far_chain, far_asset = key
    return (
        category,
        [(x.deposit_tx, x.release_tx) for x in path],
        -confidence,
        far_chain,
        far_asset,
    )


def _crossing(
    link: Link,
    path_confidence: float,
    status: str,
    depth: int,
    hop: int,
    deposit: tuple[str | None, int],
    release: tuple[str | None, int],
) -> Crossing:
    return Crossing(
        deposit_chain=link.deposit_chain,
        deposit_tx=link.deposit_tx,
        release_chain=link.release_chain,
        release_tx=link.release_tx,
        release_address=link.release_address,
        confidence=link.confidence,
        path_confidence=path_confidence,
        status=status,
        depth=depth,
        hop=hop,
        deposit_asset=deposit[0],
        deposit_amount=deposit[1],
        release_asset=release[0],
        release_amount=release[1],
    )


def _explain(
    session: GraphSession,
    bridges: _Bridges | None,
    c: LoadedChain,
    edges: np.ndarray,
    srcs: np.ndarray,
    holders: np.ndarray,
    depths: np.ndarray,
    layers: int,
    targets: np.ndarray,
    policy: Policy,
    max_hops: int,
    confidence: float,
) -> _Explained:
    """Each receipt's value by origin category: the received-exposure rule over a cone.

    ``edges`` are the receipts (a subject's, or a bridge deposit's transfers), ``holders`` and
    ``depths`` their cone. Linked releases in the cone are run one by one: where their link is
    followed, resolved on their deposit chain over the hops left, else counted with what paid
    them; ``confidence`` is the weakest link crossed to get here (1.0 at the subject).
    """
    ix = c.index
    services = c.bounds.services
    sink = ix.sink
    n = len(edges)
    stop = _stops(c)
    in_target = np.zeros(ix.n_holders, np.bool_)
    in_target[targets] = True
    role = np.full(ix.n_holders, ROLE_STOP, np.int8)
    relays = holders[(depths < layers) & (stop[holders] == 0)]
    role[relays] = ROLE_NORMAL
    role[targets] = ROLE_NORMAL
    role[sink] = ROLE_SINK
    src_all = np.asarray(ix.src, np.int64)
    dst_all = np.asarray(ix.dst, np.int64)
    # origins in the cone, by category
    origins: dict[str, list[int]] = defaultdict(list)
    for h in holders[stop[holders] == 1].tolist():
        if in_target[h]:
            continue
        if h == sink:
            origins[MINTED].append(h)
        elif h in services:
            origins[_category(c, h)].append(h)
    # linked releases: what pays one is the bridge, an origin; each release is its own seed
    releases: dict[int, Link] = {}
    if bridges is not None and n:
        releases = bridges.releases_into(c, role, edges, in_target)
        for payer in sorted({int(src_all[e]) for e in releases}):
            role[payer] = ROLE_STOP
            if payer not in services and payer not in origins[BRIDGE]:
                origins[BRIDGE].append(payer)
        receipts = set(edges.tolist())
        releases = {
            e: link
            for e, link in releases.items()
            if role[dst_all[e]] == ROLE_NORMAL or e in receipts
        }
    release_edges = np.array(sorted(releases), np.int64)
    position = {int(e): i for i, e in enumerate(edges.tolist())}
    assets = np.asarray(ix.asset, np.int64)[edges].tolist()
    exact = [ix.exact_amount(e) for e in edges.tolist()]
    own: dict[str, _Share] = {}
    found: dict[tuple[str, int, int], list[int]] = {}  # (category, holder, asset) -> amount, hop
    complete = True

    def attribute(seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out_e, out_t, out_h = _run(c, role, policy, max_hops, seeds)
        taint = np.zeros(n, np.float64)
        hop = np.full(n, _FAR, np.int64)
        for e, t, h in zip(out_e.tolist(), out_t.tolist(), out_h.tolist(), strict=True):
            i = position.get(e)
            if i is not None:
                taint[i] += t
                hop[i] = min(hop[i], h)
        return taint, hop

    def credit(category: str, holder: int, i: int, amount: int, hop: int) -> None:
        entry = found.setdefault((category, holder, assets[i]), [0, hop])
        entry[0] += amount
        entry[1] = min(entry[1], hop)

    # each linked release alone first: where it reaches the receipts, and whether its link is
    # followed there at all
    planned: list[_Release] = []
    if bridges is not None:
        planned = [
            _plan(bridges, c, e, link, attribute(np.array([e], np.int64)), max_hops, confidence)
            for e, link in sorted(releases.items())
        ]
    # a release followed at no receipt is its payer's value in full, as without the link: it
    # runs with the rest of its payer's category, one run that cannot disagree with itself on
    # a holder's balance as two runs can (``_fitted``)
    unfollowed: dict[str, list[int]] = defaultdict(list)
    for r in planned:
        if not r.compositions:
            unfollowed[r.category].append(r.edge)
    runs: dict[str, tuple[np.ndarray, np.ndarray, list[int]]] = {}  # seeds, hop, base units
    for category in sorted(set(origins) | set(unfollowed)):
        members = np.array(origins.get(category, []), np.int64)
        out = _edges_of(ix.out_ptr, ix.out_edges, members)
        seeds = out[(role[dst_all[out]] == ROLE_NORMAL) | np.isin(out, edges)]
        if len(release_edges):
            seeds = seeds[~np.isin(seeds, release_edges)]
        seeds = np.union1d(seeds, np.array(unfollowed.get(category, []), np.int64))
        if len(seeds) == 0:
            continue
        taint, hop = attribute(seeds)
        runs[category] = (seeds, hop, _base_units(ix, edges, taint))
    followed = {r.edge: _base_units(ix, edges, r.taint) for r in planned if r.compositions}
    claimed = [shares for _, _, shares in runs.values()] + list(followed.values())
    fitted = _fitted(exact, claimed, policy)
    fitted_followed = dict(zip(followed, fitted[len(runs) :], strict=True))
    for (category, (seeds, hop, shares)), fit in zip(
        runs.items(), fitted[: len(runs)], strict=True
    ):
        seed_src = src_all[seeds]
        direct = hop == 1 if ix.utxo else np.isin(srcs, seed_src)
        own[category] = _Share(fit, hop.tolist(), [bool(d) for d in direct.tolist()], [0] * n)
        if category == MINTED:
            continue
        # the labelled holders one by one, largest seeders first, for the contributor list
        weight: dict[int, int] = defaultdict(int)
        for h, e in zip(seed_src.tolist(), seeds.tolist(), strict=True):
            weight[h] += ix.exact_amount(e)
        ranked = sorted((h for h in weight if h in services), key=lambda h: (-weight[h], h))
        if len(ranked) > CONTRIBUTOR_RUNS:
            complete = False
        for h in ranked[:CONTRIBUTOR_RUNS]:
            taint_h, hop_h = attribute(seeds[seed_src == h])
            share_h = _base_units(ix, edges, taint_h)
            for i in np.nonzero(taint_h > 0)[0].tolist():
                # where the category's part was cut down (``_fitted``), its holders' are too
                part = share_h[i] if fit[i] == shares[i] else share_h[i] * fit[i] // shares[i]
                credit(category, h, i, part, int(hop_h[i]))
    linked: dict[_Key, _Share] = {}
    crossings: list[Crossing] = []
    if bridges is not None:
        for r in planned:
            s = fitted_followed.get(r.edge)
            if s is None:
                s = _base_units(ix, edges, r.taint)
            crossings += _resolve(bridges, c, r, s, edges, assets, own, linked, credit)
    contributors: dict[tuple[str, int], list[Contributor]] = defaultdict(list)
    names = session.address_texts(c.name, sorted({h for _, h, _ in found}))
    for (category, h, a), (amount, best) in sorted(found.items()):
        if amount > 0:
            service, category_h, found_by = services[h]
            contributors[(category, a)].append(
                Contributor(
                    names.get(h, str(h)), service, category_h, found_by, amount, best, c.name
                )
            )
    return _Explained(own, linked, dict(contributors), complete, crossings)


def _fitted(exact: list[int], parts: list[list[int]], policy: Policy) -> list[list[int]]:
    """The parts of each receipt (one list per run), cut down where they add up to more than
    the receipt (``_less``).

    Each category's part of a receipt, and each followed release's, comes from a run of its
    own. The runs agree on every holder's balance where the store holds the holder's whole
    history, and the parts then add up to at most the receipt. Where the store shows a holder
    paying out more than it had received (what it held before the store's first block), two
    runs that reach it at different transfers can count its balance differently; and the
    kernel's float arithmetic can put a few units over on amounts beyond 2**53 base units.
    Under poison the parts overlap by design.
    """
    if policy == Policy.POISON:
        return parts
    fitted = [list(p) for p in parts]
    for i, whole in enumerate(exact):
        claimed = [p[i] for p in parts]
        over = sum(claimed) - whole
        if over > 0:
            for p, v in zip(fitted, _less(claimed, over), strict=True):
                p[i] = v
    return fitted


def _less(parts: list[int], over: int) -> list[int]:
    """``parts`` less ``over`` in all: each gives up its share of it, rounded down, and the
    units that rounding leaves come from the largest parts.

    What runs claimed beyond what there is cannot be placed more exactly: float error is
    relative to a part's size, and of two runs that disagree on a holder's balance neither is
    known to be the right one. Only the excess goes: a part far smaller than it keeps its units.
    """
    total = sum(parts)
    over = min(over, total)
    if over <= 0:
        return list(parts)
    cut = [p * over // total for p in parts]
    left = over - sum(cut)
    for j in sorted(range(len(parts)), key=lambda j: (cut[j] - parts[j], j)):
        take = min(left, parts[j] - cut[j])
        cut[j] += take
        left -= take
    return [p - x for p, x in zip(parts, cut, strict=True)]


@dataclass
class _Release:
    """A linked release into the cone, run alone: its part of each receipt and, at each
    receipt where its link is followed, the deposit's composition within the hops left."""

    edge: int
    link: Link
    taint: np.ndarray  # per receipt, in the kernel's fractional units
    hops: np.ndarray
    payer: int
    category: str  # of what paid it: bridge, or the payer's own label's
    labelled: bool
    path_confidence: float
    status: str
    compositions: dict[int, _Composition]  # receipt position -> composition (followed there)


def _plan(
    bridges: _Bridges,
    c: LoadedChain,
    e: int,
    link: Link,
    run: tuple[np.ndarray, np.ndarray],
    max_hops: int,
    confidence: float,
) -> _Release:
    """Where a linked release reaches the receipts (``run``: its taint and hop on each), and
    whether its link is followed there: a receipt the release reaches at hop ``h`` has
    ``max_hops - h`` hops left for the deposit side."""
    taint, hops = run
    payer = int(c.index.src[e])
    labelled = payer in c.bounds.services
    path_confidence = min(confidence, link.confidence)
    status = FOLLOWED
    if path_confidence < bridges.min_confidence:
        status = BELOW_MIN_CONFIDENCE
    elif link.deposit_chain not in bridges.session.stored_chains:
        status = CHAIN_NOT_STORED
    compositions: dict[int, _Composition] = {}
    if status == FOLLOWED:
        within = False
        for i in np.nonzero(taint > 0)[0].tolist():
            left = max_hops - int(hops[i])
            if left >= 1:
                within = True
                composition = bridges.composition(link, left, path_confidence)
                if composition is not None:
                    compositions[i] = composition
        if not compositions:
            status = DEPOSIT_NOT_FOUND if within else BEYOND_HOP_LIMIT
    return _Release(
        e,
        link,
        taint,
        hops,
        payer,
        _category(c, payer) if labelled else BRIDGE,
        labelled,
        path_confidence,
        status,
        compositions,
    )


def _resolve(
    bridges: _Bridges,
    c: LoadedChain,
    r: _Release,
    s: list[int],
    edges: np.ndarray,
    assets: list[int],
    own: dict[str, _Share],
    linked: dict[_Key, _Share],
    credit: Callable[[str, int, int, int, int], None],
) -> list[Crossing]:
    """One linked release into the cone: its part ``s`` of each receipt, by its deposit's
    categories, and the crossings it makes.

    The release's part is split by the deposit's categories, each ``part / max(deposit found,
    link's deposit amount)``: where the ledger says more went in than the deposit shows, that
    rest stays the bridge's, as does all of it at a receipt where the link is not followed. A
    release followed at no receipt ran with its payer's category (``_explain``): only its
    crossing is left to record.
    """
    ix = c.index
    n = len(edges)
    poison = bridges.policy == Policy.POISON
    link = r.link
    touched = np.nonzero(r.taint > 0)[0].tolist()
    if not touched:
        return []
    used: dict[int, tuple[_Composition, int]] = {}  # id -> composition, nearest hop
    for i in touched if r.compositions else []:
        hop = int(r.hops[i])
        composition = r.compositions.get(i)
        unresolved = s[i]
        if composition is not None:
            seen = used.get(id(composition))
            used[id(composition)] = (composition, min(hop, seen[1]) if seen else hop)
            den = max(composition.total, link.deposit_amount)
            for part in composition.parts:
                amount = _part_of(s[i], part.amount, den, poison)
                if amount <= 0:
                    continue
                key = (
                    part.category,
                    (link, *part.path),
                    part.confidence,
                    part.far_chain,
                    part.far_asset,
                )
                far = _part_of(
                    part.far,
                    min(s[i], link.release_amount) * link.deposit_amount,
                    link.release_amount * den,
                    poison,
                )
                share = linked.setdefault(key, _Share.empty(n))
                share.add(i, amount, hop + part.hop, poison, False, far)
                into = share.contributors.setdefault(assets[i], {})
                for holder in part.contributors:
                    _merge_contributor(
                        into,
                        holder,
                        _part_of(s[i], holder.amount, den, poison),
                        hop + holder.min_hop,
                    )
            unresolved = _part_of(s[i], den - composition.total, den, poison)
        if unresolved > 0:
            own.setdefault(r.category, _Share.empty(n)).add(i, unresolved, hop, poison, hop == 1)
            if r.labelled:
                credit(r.category, r.payer, i, unresolved, hop)
    reached = sum(s[i] for i in touched)
    deposit_units = (
        min(reached, link.release_amount) * link.deposit_amount // link.release_amount
        if link.release_amount
        else 0
    )
    deposit_asset = next(iter(used.values()))[0].asset if used else None
    release_asset = c.symbols.get(int(ix.asset[r.edge]), str(int(ix.asset[r.edge])))
    nearest = min(int(r.hops[i]) for i in touched)
    result = [
        _crossing(
            link,
            r.path_confidence,
            r.status,
            1,
            nearest,
            (deposit_asset, deposit_units),
            (release_asset, reached),
        )
    ]
    for composition, hop in used.values():
        for x in composition.crossings:
            result.append(Crossing(**{**asdict(x), "depth": x.depth + 1, "hop": x.hop + hop}))
    return result


def _merged(crossings: list[Crossing]) -> list[Crossing]:
    """One record per link and outcome: the amounts added up, the nearest depth and hop."""
    merged: dict[tuple[str, ...], Crossing] = {}
    for x in crossings:
        key = (
            x.deposit_chain,
            x.deposit_tx,
            x.release_chain,
            x.release_tx,
            x.release_address,
            x.status,
        )
        known = merged.get(key)
        if known is None:
            merged[key] = Crossing(**asdict(x))
            continue
        known.deposit_amount += x.deposit_amount
        known.release_amount += x.release_amount
        known.depth = min(known.depth, x.depth)
        known.hop = min(known.hop, x.hop)
        known.path_confidence = max(known.path_confidence, x.path_confidence)
        known.deposit_asset = known.deposit_asset or x.deposit_asset
    return sorted(
        merged.values(),
        key=lambda x: (
            x.depth,
            x.hop,
            x.deposit_chain,
            x.deposit_tx,
            x.release_tx,
            x.release_address,
            x.status,
        ),
    )


# --- tallies and the two directions ---------------------------------------------------------

#: A linked tally's key: category, asset, nearest link, confidence, crossings, far chain, asset.
_LinkTallyKey = tuple[str, int, Link, float, int, str, str]


@dataclass
class _Tally:
    """Per category and asset: amount, direct part, smallest hop, part across bridge links."""

    amount: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    direct: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    hop: dict[tuple[str, int], int] = field(default_factory=dict)
    via: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    #: per linked key: amount, far amount, smallest hop
    linked: dict[_LinkTallyKey, list[int]] = field(default_factory=dict)

    def add(self, category: str, asset: int, amount: int, hop: int, direct: bool) -> None:
        if amount <= 0:
            return
        key = (category, asset)
        self.amount[key] += amount
        if direct:
            self.direct[key] += amount
        self.hop[key] = min(self.hop.get(key, hop), hop)

    def link(
        self,
        category: str,
        asset: int,
        path: tuple[Link, ...],
        confidence: float,
        far: tuple[str, str, int],
        amount: int,
        hop: int,
        poison: bool,
    ) -> None:
        """Record (not add) ``amount`` of the category as having crossed ``path``."""
        if amount <= 0:
            return
        key = (category, asset, path[0], confidence, len(path), far[0], far[1])
        entry = self.linked.setdefault(key, [0, 0, hop])
        entry[0] += amount
        entry[1] = max(entry[1], far[2]) if poison else entry[1] + far[2]
        entry[2] = min(entry[2], hop)

    def cut(self, key: tuple[str, int], amount: int) -> None:
        """Bring a category's amount down to ``amount``, its direct part and the part that
        crossed links (and the crossings that make it up) with it."""
        if amount <= 0:
            for table in (self.amount, self.direct, self.hop, self.via):
                table.pop(key, None)
            for k in [k for k in self.linked if k[:2] == key]:
                del self.linked[k]
            return
        self.amount[key] = amount
        self.direct[key] = min(self.direct.get(key, 0), amount)
        via = self.via.get(key, 0)
        if via > amount:
            self.via[key] = amount
            ways = [k for k in self.linked if k[:2] == key]
            kept = _less([self.linked[k][0] for k in ways], via - amount)
            for k, v in zip(ways, kept, strict=True):
                self.linked[k][0] = v


def _received(
    session: GraphSession,
    c: LoadedChain,
    targets: np.ndarray,
    lo: int,
    hi: int,
    policy: Policy,
    max_hops: int,
    bridges: _Bridges | None,
) -> DirectionExposure:
    ix = c.index
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
    exact = [ix.exact_amount(e) for e in edges.tolist()]
    assets = np.asarray(ix.asset, np.int64)[edges].tolist()
    # the cone: who can have passed value to the subject within the hop limit
    layers = 2 * max_hops if ix.utxo else max_hops
    deadline = int(hi) if len(edges) else 0
    holders, depths = _cone(
        ix.src,
        ix.in_ptr,
        ix.in_edges,
        _stops(c),
        targets,
        np.full(len(targets), deadline, np.int64),
        layers,
    )
    ex = _explain(
        session, bridges, c, edges, srcs, holders, depths, layers, targets, policy, max_hops, 1.0
    )
    poison = policy == Policy.POISON
    tally = _Tally()
    covered = [0] * len(edges)
    for category in sorted(set(ex.own) | {k[0] for k in ex.linked}):
        share = ex.own.get(category)
        parts = [s for k, s in ex.linked.items() if k[0] == category]
        # the receipts the category reaches at all (a subject can have many receipts)
        reached = {i for i, v in enumerate(share.amount) if v} if share is not None else set()
        for part in parts:
            reached.update(i for i, v in enumerate(part.amount) if v)
        for i in sorted(reached):
            mine = share.amount[i] if share is not None else 0
            across, hop = 0, _FAR
            for part in parts:
                if part.amount[i] > 0:
                    across = max(across, part.amount[i]) if poison else across + part.amount[i]
                    hop = min(hop, part.hop[i])
            if share is not None and mine > 0:
                tally.add(category, assets[i], mine, share.hop[i], share.direct[i])
            # only across a link: under poison, a receipt the category reaches anyway is not
            only = (across if mine == 0 else 0) if poison else across
            if only > 0:
                tally.add(category, assets[i], only, hop, False)
                tally.via[(category, assets[i])] += only
            both = mine + only
            covered[i] = max(covered[i], both) if poison else covered[i] + both
    for key, part in ex.linked.items():
        category, path, confidence, far_chain, far_asset = key
        for i, amount in enumerate(part.amount):
            far = (far_chain, far_asset, part.far[i])
            tally.link(category, assets[i], path, confidence, far, amount, part.hop[i], poison)
    # what no category explains
    for i, (whole, got) in enumerate(zip(exact, covered, strict=True)):
        if whole > got:
            tally.add(UNLABELLED, assets[i], whole - got, max_hops + 1, False)
    totals: dict[int, int] = defaultdict(int)
    for a, amount in zip(assets, exact, strict=True):
        totals[a] += amount
    contributors: dict[tuple[str, int], list[Contributor]] = defaultdict(list)
    for key2, found in ex.contributors.items():
        contributors[key2] += found
    merged: dict[tuple[str, int], dict[tuple[str, str], Contributor]] = defaultdict(dict)
    for key, part in ex.linked.items():
        for a, holders_a in part.contributors.items():
            for x in holders_a.values():
                _merge_contributor(merged[(key[0], a)], x, x.amount, x.min_hop)
    for key2, holders_m in merged.items():
        contributors[key2] += holders_m.values()
    complete = ex.complete and (bridges is None or bridges.complete)
    return _direction(c, tally, totals, contributors, len(edges), complete, _merged(ex.crossings))


class _Onward:
    """Sent value followed forward, and across the bridge links it reaches, into one tally.

    Amounts on another chain are counted in the subject's asset (``near``: the share of what
    the subject sent that they are) and recorded in their own asset beside it.
    """

    def __init__(
        self,
        session: GraphSession,
        bridges: _Bridges | None,
        policy: Policy,
        max_hops: int,
        subject: LoadedChain,
        in_target: np.ndarray,
    ) -> None:
        self.session = session
        self.bridges = bridges
        self.policy = policy
        self.poison = policy == Policy.POISON
        self.max_hops = max_hops
        self.subject = subject.name
        self.in_target = in_target
        self.targets = np.flatnonzero(in_target)
        self.tally = _Tally()
        self.found: dict[tuple[str, str, int, int], list[int]] = {}
        self.crossings: list[Crossing] = []

    def leg(
        self,
        c: LoadedChain,
        seeds: np.ndarray,
        scale: tuple[int, int] | None,
        near: Callable[[int], int],
        near_asset: int | None,
        hop0: int,
        path: tuple[Link, ...],
        confidence: float,
    ) -> int:
        """Follow ``seeds`` on ``c`` (``scale``: the part of them that is the subject's) and
        tally where they go; returns the subject's value (near units) this leg explained."""
        ix = c.index
        services = c.bounds.services
        sink = ix.sink
        same = c.name == self.subject
        role = np.full(ix.n_holders, ROLE_NORMAL, np.int8)
        labelled = services.holders()
        if len(labelled):
            role[labelled] = ROLE_STOP
        if same:
            role[self.targets] = ROLE_STOP
        role[sink] = ROLE_SINK
        out_e, out_t, out_h = _run(c, role, self.policy, self.max_hops - hop0, seeds)
        shares = _base_units(ix, out_e, out_t)
        dst = np.asarray(ix.dst, np.int64)[out_e].tolist()
        asset = np.asarray(ix.asset, np.int64)[out_e].tolist()
        tx = np.asarray(ix.tx, np.int64)[out_e].tolist()
        bridge_role = np.asarray(c.bounds.role)
        linked = self.bridges.deposits(c) if self.bridges is not None else {}
        explained = 0
        pending: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
        for k, (full, h) in enumerate(zip(shares, out_h.tolist(), strict=True)):
            amount = full if scale is None else _part_of(full, scale[0], scale[1], self.poison)
            if amount <= 0:
                continue
            d, a, hop = dst[k], asset[k], hop0 + h
            holder: int | None = None
            if d == sink:
                category = FEES
            elif same and self.in_target[d]:
                category = RETURNED
            elif d in services:
                if bridge_role[d] == ROLE_BRIDGE and tx[k] in linked:
                    pending[(tx[k], a)].append((d, amount, hop))
                    continue
                category, holder = _category(c, d), d
            else:
                continue
            na = a if near_asset is None else near_asset
            explained += self.add(
                category,
                c,
                holder,
                na,
                near(amount),
                hop,
                (a, amount),
                path,
                confidence,
                h == 1 and not path,
            )
        for (t, a), parts in sorted(pending.items()):
            na = a if near_asset is None else near_asset
            explained += self.cross(c, t, a, parts, near, na, path, confidence)
        return explained

    def add(
        self,
        category: str,
        c: LoadedChain,
        holder: int | None,
        near_asset: int,
        amount: int,
        hop: int,
        far: tuple[int, int],
        path: tuple[Link, ...],
        confidence: float,
        direct: bool,
    ) -> int:
        if amount <= 0:
            return 0
        self.tally.add(category, near_asset, amount, hop, direct)
        if path:
            self.tally.via[(category, near_asset)] += amount
            symbol = c.symbols.get(far[0], str(far[0]))
            self.tally.link(
                category,
                near_asset,
                path,
                confidence,
                (c.name, symbol, far[1]),
                amount,
                hop,
                self.poison,
            )
        if holder is not None:
            entry = self.found.setdefault((category, c.name, holder, near_asset), [0, hop])
            entry[0] += amount
            entry[1] = min(entry[1], hop)
        return amount

    def cross(
        self,
        c: LoadedChain,
        tx: int,
        asset: int,
        parts: list[tuple[int, int, int]],
        near: Callable[[int], int],
        near_asset: int,
        path: tuple[Link, ...],
        confidence: float,
    ) -> int:
        """The subject's value in one linked deposit: on from each release, the rest stays
        the bridge's. A link carries ``deposit_amount`` of a deposit pool holding
        ``max(pool, deposit_amount)`` (the whole pool where the ledger says so)."""
        assert self.bridges is not None
        ix = c.index
        pool = sum(
            ix.exact_amount(e)
            for e in self.bridges.deposits(c)[tx].tolist()
            if int(ix.asset[e]) == asset
        )
        tainted = sum(amount for _, amount, _ in parts)
        hop = min(h for _, _, h in parts)
        symbol = c.symbols.get(asset, str(asset))
        crossed = explained = 0
        links = sorted(
            self.bridges.deposit_links(c, tx),
            key=lambda x: (x.release_chain, x.release_tx, x.release_address, -x.confidence),
        )
        for link in links:
            if self.bridges.deposit_asset(c, tx, link.deposit_amount) != asset:
                continue  # the link is for what the deposit paid in another asset
            path_confidence = min(confidence, link.confidence)
            den = max(pool, link.deposit_amount)
            carried = min(_part_of(tainted, link.deposit_amount, den, False), tainted - crossed)
            released = _part_of(link.release_amount, tainted, den, False)
            edge = None
            target: LoadedChain | None = None
            if path_confidence < self.bridges.min_confidence:
                status = BELOW_MIN_CONFIDENCE
            elif link.release_chain not in self.session.stored_chains:
                status = CHAIN_NOT_STORED
            elif self.max_hops - hop < 1:
                status = BEYOND_HOP_LIMIT
            else:
                target = self.session.chain(link.release_chain)
                edge = self.bridges.release_edge(target, link)
                status = FOLLOWED if edge is not None else RELEASE_NOT_FOUND
            release_asset = None
            if target is not None and edge is not None:
                a = int(target.index.asset[edge])
                release_asset = target.symbols.get(a, str(a))
            self.crossings.append(
                _crossing(
                    link,
                    path_confidence,
                    status,
                    len(path) + 1,
                    hop,
                    (symbol, carried),
                    (release_asset, released),
                )
            )
            if target is None or edge is None or carried <= 0 or released <= 0:
                continue
            crossed += carried
            near_carried = near(carried)
            value = target.index.exact_amount(edge)

            def onward(x: int, whole: int = near_carried, out: int = released) -> int:
                return _part_of(whole, x, out, self.poison)

            got = self.leg(
                target,
                np.array([edge], np.int64),
                (min(released, value), value),
                onward,
                near_asset,
                hop,
                (*path, link),
                path_confidence,
            )
            if not self.poison and near_carried > got:
                # crossed, but reached no labelled holder within the hops
                rest = _part_of(released, near_carried - got, near_carried, False)
                got += self.add(
                    UNLABELLED,
                    target,
                    None,
                    near_asset,
                    near_carried - got,
                    self.max_hops + 1,
                    (int(target.index.asset[edge]), rest),
                    (*path, link),
                    path_confidence,
                    False,
                )
            explained += got
        # what no followed link carried on stays the bridge's
        for d, amount, h in parts:
            keep = amount - _part_of(amount, crossed, tainted, False)
            explained += self.add(
                _category(c, d),
                c,
                d,
                near_asset,
                near(keep),
                h,
                (asset, keep),
                path,
                confidence,
                h == 1 and not path,
            )
        return explained


def _sent(
    session: GraphSession,
    c: LoadedChain,
    targets: np.ndarray,
    lo: int,
    hi: int,
    policy: Policy,
    max_hops: int,
    bridges: _Bridges | None,
) -> DirectionExposure:
    ix = c.index
    in_target = np.zeros(ix.n_holders, np.bool_)
    in_target[targets] = True
    seeds = _edges_of(ix.out_ptr, ix.out_edges, targets)
    seeds = seeds[(seeds >= lo) & (seeds < hi)]
    dst = np.asarray(ix.dst, np.int64)
    seeds = seeds[~in_target[dst[seeds]]]
    totals: dict[int, int] = defaultdict(int)
    for e in seeds.tolist():
        totals[int(ix.asset[e])] += ix.exact_amount(e)
    walk = _Onward(session, bridges, policy, max_hops, c, in_target)
    walk.leg(c, seeds, None, lambda x: x, None, 0, (), 1.0)
    tally = walk.tally
    if policy == Policy.POISON:
        # poison marks whole transfers downstream: a destination can exceed what was sent
        for key in list(tally.amount):
            tally.amount[key] = min(tally.amount[key], totals[key[1]])
            tally.direct[key] = min(tally.direct[key], tally.amount[key])
            tally.via[key] = min(tally.via[key], tally.amount[key])
    else:
        # one run passes on no more than it was given, but its float arithmetic can put a few
        # units over on amounts beyond 2**53 base units, as can rounding a deposit's parts
        for a, total in totals.items():
            keys = sorted(k for k in tally.amount if k[1] == a)
            kept = _less(
                [tally.amount[k] for k in keys], sum(tally.amount[k] for k in keys) - total
            )
            for key, amount in zip(keys, kept, strict=True):
                if amount != tally.amount[key]:
                    tally.cut(key, amount)
    for a, total in totals.items():
        explained = sum(v for (_, b), v in tally.amount.items() if b == a)
        if total > explained:
            tally.add(UNLABELLED, a, total - explained, max_hops + 1, False)
    contributors: dict[tuple[str, int], list[Contributor]] = defaultdict(list)
    for chain in sorted({chain for _, chain, _, _ in walk.found}):
        mine = {k: v for k, v in walk.found.items() if k[1] == chain}
        names = session.address_texts(chain, sorted({d for _, _, d, _ in mine}))
        services = session.chain(chain).bounds.services
        for (category, _, d, a), (amount, hop) in sorted(mine.items()):
            amount = min(amount, tally.amount.get((category, a), 0))
            if amount <= 0:
                continue
            service, category_d, found_by = services[d]
            contributors[(category, a)].append(
                Contributor(names.get(d, str(d)), service, category_d, found_by, amount, hop, chain)
            )
    return _direction(c, tally, totals, contributors, len(seeds), True, _merged(walk.crossings))


def _direction(
    c: LoadedChain,
    tally: _Tally,
    totals: dict[int, int],
    contributors: dict[tuple[str, int], list[Contributor]],
    transfers: int,
    complete: bool,
    crossings: list[Crossing],
) -> DirectionExposure:
    linked: dict[tuple[str, int], list[LinkedExposure]] = defaultdict(list)
    for (category, a, link, confidence, count, far_chain, far_asset), (
        amount,
        far,
        hop,
    ) in tally.linked.items():
        linked[(category, a)].append(
            LinkedExposure(
                deposit_chain=link.deposit_chain,
                deposit_tx=link.deposit_tx,
                release_chain=link.release_chain,
                release_tx=link.release_tx,
                release_address=link.release_address,
                confidence=confidence,
                crossings=count,
                amount=amount,
                far_chain=far_chain,
                far_asset=far_asset,
                far_amount=far,
                min_hop=hop,
            )
        )
    categories = []
    for (category, a), amount in tally.amount.items():
        total = totals.get(a, 0)
        direct = tally.direct.get((category, a), 0)
        top = sorted(contributors.get((category, a), []), key=lambda x: (-x.amount, x.address))
        links = sorted(
            linked.get((category, a), []),
            key=lambda x: (-x.amount, -x.confidence, x.deposit_tx, x.release_tx),
        )
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
                via_links=tally.via.get((category, a), 0),
                links=links,
            )
        )
    categories.sort(key=lambda x: (x.asset, -x.amount, x.category))
    return DirectionExposure(
        totals={c.symbols.get(a, str(a)): v for a, v in sorted(totals.items())},
        transfers=transfers,
        categories=categories,
        contributors_complete=complete,
        crossings=crossings,
    )


__all__ = [
    "CategoryExposure",
    "Contributor",
    "Crossing",
    "DirectionExposure",
    "ExposureReport",
    "LinkedExposure",
    "exposure",
]

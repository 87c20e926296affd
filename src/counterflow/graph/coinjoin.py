"""CoinJoin rounds as sub-transactions, for a haircut that does not taint the other participants.

A CoinJoin is many payments in one transaction: each participant brings inputs and takes some
equal outputs (the denomination) and, usually, one change output. Treating it as one holder (a
plain haircut over all inputs) gives every output, the other participants' change included, the
round's tainted share, and taints everyone they pay next. What the transaction shows is more:

- **Which transactions are CoinJoins**: the clustering's detection, reused as is
  (:func:`counterflow.graph.clustering.rules.coinjoin_query`; docs/clustering.md).
- **Whose change is whose** (sub-transaction matching): a participant's inputs pay its equal
  outputs, its change and its share of the fee, so for the inputs of one address, summing to
  ``S``, and a non-denomination output ``c``: ``S − c − k·d = r`` with ``k ≥ 1`` equal outputs
  and ``0 ≤ r ≤`` the transaction's fee. An output matched by exactly one input address, which
  itself matches exactly one output, is that address's change; ambiguous matches are not used.

The kernel then splits the transaction: a matched participant's change carries the tainted
share of *that participant's* inputs (``taint × c / S``), the rest of its inputs goes to the
pool; unmatched inputs go to the pool whole; the equal outputs (and any unmatched output) share
the pool by haircut. The equal outputs stay indistinguishable, as they are.

Assumptions (stated in docs/tracing.md): inputs of one address belong to one participant
(address reuse across participants in one round is not handled: such inputs would be grouped
and, mostly, left unmatched, which falls back to the pool); a participant's fee share is at most
the transaction's fee.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from counterflow.graph.clustering.rules import coinjoin_query
from counterflow.graph.index import GraphIndex
from counterflow.store.reader import StoreReader

#: cj_part values: not an edge of a CoinJoin; an edge of one that belongs to the shared pool.
NOT_COINJOIN = -1
POOL = -2
#: Bumped when detection or matching changes, so a cached result of older rules is not reused.
CACHE_VERSION = 1


@dataclass
class CoinJoins:
    """Per edge: NOT_COINJOIN, POOL, or the participant (sub-transaction) it belongs to."""

    part: np.ndarray  # int32 per edge (empty when the chain has none)
    ratio: np.ndarray  # float64 per participant: change / inputs
    rounds: int
    matched: int  # participants whose change was matched

    @classmethod
    def none(cls) -> CoinJoins:
        return cls(np.zeros(0, np.int32), np.zeros(0, np.float64), 0, 0)


def coinjoins(reader: StoreReader, index: GraphIndex, cache: Path | None = None) -> CoinJoins:
    """Detect the chain's CoinJoins and match each participant's change to its inputs.

    The result depends only on the store's data, so with ``cache`` (the index's folder) it is
    computed once per store version and read back by every later trace.
    """
    if not index.utxo:
        return CoinJoins.none()
    known = index.derived.get(("coinjoins", CACHE_VERSION))
    if isinstance(known, CoinJoins):
        return known
    found = _cached(reader, index, cache)
    index.derived[("coinjoins", CACHE_VERSION)] = found
    return found


def _cached(reader: StoreReader, index: GraphIndex, cache: Path | None) -> CoinJoins:
    name = f"coinjoins-v{CACHE_VERSION}-{index.fingerprint[:24]}.npz"
    saved = cache / name if cache is not None else None
    if saved is not None and saved.is_file():
        with np.load(saved) as data:
            return CoinJoins(data["part"], data["ratio"], int(data["rounds"]), int(data["matched"]))
    found = _detect(reader, index)
    if saved is not None and saved.parent.is_dir():
        staging = saved.with_name(f".{saved.name}.{os.getpid()}")
        with open(staging, "wb") as f:
            np.savez(
                f, part=found.part, ratio=found.ratio, rounds=found.rounds, matched=found.matched
            )
        os.replace(staging, saved)
    return found


def _detect(reader: StoreReader, index: GraphIndex) -> CoinJoins:
    # Plain arrays: the index's memory maps cost a Python object per element access.
    view = _Arrays(
        np.asarray(index.src), np.asarray(index.units), np.asarray(index.in_edges),
        np.asarray(index.in_ptr), np.asarray(index.out_edges), np.asarray(index.out_ptr),
    )  # fmt: skip
    sql = coinjoin_query(
        reader.table(index.chain, "transfers"), reader.table(index.chain, "addresses")
    )
    tx_ids = [int(row[0]) for row in reader.rows(sql)]
    if not tx_ids:
        return CoinJoins.none()
    part = np.full(index.n_edges, NOT_COINJOIN, np.int32)
    ratios: list[float] = []
    for tx in tx_ids:
        holder = index.n_addresses + tx
        ins = view.in_edges[view.in_ptr[holder] : view.in_ptr[holder + 1]]
        outs = view.out_edges[view.out_ptr[holder] : view.out_ptr[holder + 1]]
        part[ins] = POOL
        part[outs] = POOL
        for inputs, change in _match(view, ins, outs):
            total = float(view.units[inputs].sum())
            part[inputs] = len(ratios)
            part[change] = len(ratios)
            ratios.append(float(view.units[change]) / total if total > 0 else 0.0)
    return CoinJoins(part, np.asarray(ratios, np.float64), len(tx_ids), len(ratios))


@dataclass
class _Arrays:
    src: np.ndarray
    units: np.ndarray
    in_edges: np.ndarray
    in_ptr: np.ndarray
    out_edges: np.ndarray
    out_ptr: np.ndarray


def _match(index: _Arrays, ins: np.ndarray, outs: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """(a participant's input edges, its change edge) for each unambiguous match."""
    values = index.units[outs].astype(np.int64)
    paid = values[values > 0]
    if len(paid) == 0 or len(ins) == 0:
        return []
    amounts, counts = np.unique(paid, return_counts=True)
    best = counts.max()
    if best < 2:
        return []
    denomination = int(amounts[counts == best].max())
    fee = int(index.units[ins].sum()) - int(values.sum())
    if fee < 0:
        return []
    by_address: dict[int, list[int]] = defaultdict(list)
    for e in ins.tolist():
        by_address[int(index.src[e])].append(e)
    sums = {a: int(index.units[np.asarray(es)].sum()) for a, es in by_address.items()}
    candidates = [o for o, v in zip(outs.tolist(), values.tolist(), strict=True) if v > 0]
    candidates = [o for o in candidates if int(index.units[o]) != denomination]
    pairs: list[tuple[int, int]] = []
    for o in candidates:
        c = int(index.units[o])
        for a, s in sums.items():
            k, r = divmod(s - c, denomination)
            if k >= 1 and 0 <= r <= fee:
                pairs.append((a, o))
    per_address: dict[int, int] = defaultdict(int)
    per_output: dict[int, int] = defaultdict(int)
    for a, o in pairs:
        per_address[a] += 1
        per_output[o] += 1
    out: list[tuple[np.ndarray, int]] = []
    for a, o in pairs:
        if per_address[a] == 1 and per_output[o] == 1:
            out.append((np.asarray(by_address[a], np.int64), o))
    return out

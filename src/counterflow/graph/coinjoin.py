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
- **Whose equal outputs are whose** (post-mix spending): equal outputs are indistinguishable
  in the round itself, but not afterwards. When one later transaction spends exactly ``m`` of
  the round's equal outputs together (each output's address spent into that transaction only),
  those ``m`` belong to one owner (the multi-input rule); if exactly one matched participant took
  ``m`` equal outputs (``k = m`` above) and no other group has ``m`` outputs, they are its.
  Such a group also settles a change that matched several ways: when, of the pairs no unique
  match used, exactly one took ``m`` equal outputs, that pair is the participant.

The kernel then splits the transaction: a matched participant's change carries the tainted
share of *that participant's* inputs (``taint × c / S``), the rest of its inputs goes to the
pool; a participant whose equal outputs are identified too keeps all its taint on its own
outputs, shared by their value (none reaches the pool, and no output takes more than its
amount); unmatched inputs go to the pool whole;
the other equal outputs (and any unmatched output) share the pool by haircut.

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
CACHE_VERSION = 3


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
        np.asarray(index.src), np.asarray(index.dst), np.asarray(index.units),
        np.asarray(index.in_edges),
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
        for participant in _match(view, ins, outs):
            owned = [participant.change, *participant.equal]
            total = float(view.units[participant.inputs].sum())
            part[participant.inputs] = len(ratios)
            part[owned] = len(ratios)
            if participant.equal:  # all its outputs known: its taint is theirs alone
                ratios.append(1.0)
            else:  # its change known: the rest of its inputs pays into the pool
                ratios.append(float(view.units[owned].sum()) / total if total > 0 else 0.0)
    return CoinJoins(part, np.asarray(ratios, np.float64), len(tx_ids), len(ratios))


@dataclass
class _Arrays:
    src: np.ndarray
    dst: np.ndarray
    units: np.ndarray
    in_edges: np.ndarray
    in_ptr: np.ndarray
    out_edges: np.ndarray
    out_ptr: np.ndarray


@dataclass
class _Participant:
    inputs: np.ndarray  # its input edges
    change: int  # its change output edge
    equal: list[int]  # its equal output edges, where their spending identifies them


def _match(index: _Arrays, ins: np.ndarray, outs: np.ndarray) -> list[_Participant]:
    """Each participant whose change matches unambiguously, with its equal outputs where a
    later transaction spends exactly as many of the round's equal outputs as it took."""
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
    pairs: list[tuple[int, int, int]] = []  # (address, change, equal outputs taken)
    for o in candidates:
        c = int(index.units[o])
        for a, s in sums.items():
            k, r = divmod(s - c, denomination)
            if k >= 1 and 0 <= r <= fee:
                pairs.append((a, o, k))
    per_address: dict[int, int] = defaultdict(int)
    per_output: dict[int, int] = defaultdict(int)
    for a, o, _ in pairs:
        per_address[a] += 1
        per_output[o] += 1
    matched = [(a, o, k) for a, o, k in pairs if per_address[a] == 1 and per_output[o] == 1]
    # a group of k co-spent equal outputs is the participant's that took k, when no other
    # participant took k and no other group has k outputs (unique both ways, as for change)
    equal_outputs = [
        o for o, v in zip(outs.tolist(), values.tolist(), strict=True) if v == denomination
    ]
    groups: dict[int, list[list[int]]] = defaultdict(list)
    for group in _spent_together(index, equal_outputs):
        groups[len(group)].append(group)
    taking: dict[int, int] = defaultdict(int)
    for _, _, k in matched:
        taking[k] += 1
    # a change that matched several ways is settled by a group: of the pairs left, the only
    # one that took exactly as many equal outputs as a group (of a size no one else took)
    used_addresses = {a for a, _, _ in matched}
    used_outputs = {o for _, o, _ in matched}
    for size, same_size in groups.items():
        if len(same_size) != 1 or taking[size] > 0:
            continue
        options = [
            (a, o, k)
            for a, o, k in pairs
            if k == size and a not in used_addresses and o not in used_outputs
        ]
        if len(options) == 1:
            matched.append(options[0])
            taking[size] = 1
    found = []
    for a, o, k in matched:
        unique = taking[k] == 1 and len(groups.get(k, [])) == 1
        equal = groups[k][0] if unique else []
        found.append(_Participant(np.asarray(by_address[a], np.int64), o, equal))
    return found


def _spent_together(index: _Arrays, equal: list[int]) -> list[list[int]]:
    """The round's equal outputs grouped by the one later transaction that spends each (two
    or more to a group); an output whose address is spent into several transactions, or not
    yet spent, is in no group."""
    spender: dict[int, list[int]] = defaultdict(list)
    for o in equal:
        address = int(index.dst[o])
        later = index.out_edges[index.out_ptr[address] : index.out_ptr[address + 1]]
        later = later[later > o]
        if len(later) == 0:
            continue
        targets = np.unique(index.dst[later])
        if len(targets) == 1:
            spender[int(targets[0])].append(o)
    return [group for group in spender.values() if len(group) >= 2]

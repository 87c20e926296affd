"""Service boundaries: where a trace stops, passes through, or jumps to another chain.

Labels (TagPack categories) give each labelled holder a role:

- custodial services (exchange, OTC desk, mining pool, payment processor, …): taint stops and
  the receiving address is reported as a destination;
- ``mixing_service``: pooled by haircut whatever the trace's policy;
- ``defi_dex``: passed through per transaction (swap rule, see propagation.py);
- ``bridge``: stops here and continues on the other chain through a published link.

Exchange deposit addresses are not labelled in practice. Rule: an unlabelled holder whose every
outgoing transfer (fees aside) pays the labelled wallets of one and the same exchange is that
exchange's deposit address, and is a destination itself. On UTXO chains "pays" means: every
transaction spending its coins has all of its outputs at that exchange's labelled addresses
(a sweep).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from counterflow.attribution.tagpack import Tag
from counterflow.graph.index import GraphIndex
from counterflow.graph.policies import (
    ROLE_BRIDGE,
    ROLE_DEX,
    ROLE_MIXER,
    ROLE_NORMAL,
    ROLE_SINK,
    ROLE_STOP,
)

CUSTODIAL = frozenset(
    {
        "exchange",
        "otc_broker",
        "miner",
        "payment_processor",
        "gambling",
        "market",
        "hosted_wallet",
        "custodial_wallet",
        "atm",
    }
)
MIXERS = frozenset({"mixing_service", "mixer", "coinjoin"})
DEXES = frozenset({"defi_dex", "dex"})
BRIDGES = frozenset({"bridge", "defi_bridge"})
#: Bumped when the deposit rule changes, so a cached inference of an older rule is not reused.
DEPOSITS_VERSION = 1


class ServiceMap(Mapping[int, tuple[str, str, str]]):
    """holder -> (service name, category, "labelled" or "deposit"), without a Python object
    per inferred deposit address: a large chain has hundreds of thousands of them, and a trace
    asks about the few it reaches."""

    def __init__(
        self,
        labelled: dict[int, tuple[str, str, str]],
        deposit_holders: np.ndarray,
        deposit_service: np.ndarray,
        exchange_names: list[str],
        n_holders: int,
    ) -> None:
        order = np.argsort(deposit_holders, kind="stable")
        self._labelled = labelled
        self._holders = np.ascontiguousarray(deposit_holders[order], np.int64)
        self._service = np.ascontiguousarray(deposit_service[order], np.int64)
        self._names = exchange_names
        # most questions are about holders that are no deposit: answer those from a bitmap
        self._is_deposit = np.zeros(n_holders, np.bool_)
        self._is_deposit[self._holders] = True
        self._labelled_ids = np.sort(np.fromiter(labelled, np.int64, len(labelled)))

    def _deposit(self, holder: int) -> int:
        if not 0 <= holder < len(self._is_deposit) or not self._is_deposit[holder]:
            return -1
        at = int(self._holders.searchsorted(holder))
        if at < len(self._holders) and int(self._holders[at]) == holder:
            return at
        return -1

    def __getitem__(self, holder: int) -> tuple[str, str, str]:
        # an inferred deposit address is reported as the exchange's, even if also labelled
        at = self._deposit(holder)
        if at >= 0:
            return (self._names[int(self._service[at])], "exchange", "deposit")
        return self._labelled[holder]

    def __contains__(self, holder: object) -> bool:
        if not isinstance(holder, int | np.integer):
            return False
        return int(holder) in self._labelled or self._deposit(int(holder)) >= 0

    def contains(self, holders: np.ndarray) -> np.ndarray:
        """``holder in self`` for every holder at once: a trace asks about thousands."""
        wanted = np.asarray(holders, np.int64)
        inside = (wanted >= 0) & (wanted < len(self._is_deposit))
        found = np.zeros(len(wanted), np.bool_)
        found[inside] = self._is_deposit[wanted[inside]]
        if len(self._labelled_ids):
            found |= np.isin(wanted, self._labelled_ids)
        return found

    def __iter__(self) -> Iterator[int]:
        return iter(self.holders().tolist())

    def __len__(self) -> int:
        return len(self._labelled) + len(self._holders)

    def holders(self) -> np.ndarray:
        """Every holder with a service, ascending (int64)."""
        labelled = np.fromiter(self._labelled, np.int64, len(self._labelled))
        return np.union1d(labelled, self._holders)


@dataclass
class Boundaries:
    """Per-holder roles of one chain, and what each stopping holder is."""

    role: np.ndarray  # int8 per holder
    services: ServiceMap


def role_of(category: str) -> int:
    c = category.lower()
    if c in CUSTODIAL:
        return ROLE_STOP
    if c in MIXERS:
        return ROLE_MIXER
    if c in DEXES:
        return ROLE_DEX
    if c in BRIDGES:
        return ROLE_BRIDGE
    return ROLE_NORMAL


def boundaries(
    index: GraphIndex, labelled: dict[int, Tag], cache: Path | None = None
) -> Boundaries:
    """Roles for ``index``'s holders from tags already resolved to holder ids.

    Inferring deposit addresses reads every transfer; with ``cache`` (the index's folder) the
    inference is kept per store version and set of exchange wallets, so later traces and
    exposure queries with the same labels skip it. Within one process the result is also kept
    on the index object, keyed by the labels, for the next trace with the same labels.
    """
    key = hashlib.sha256()
    for holder, tag in sorted(labelled.items()):
        key.update(f"{holder}\t{tag.category}\t{tag.label}\n".encode())
    memo_key = ("boundaries", DEPOSITS_VERSION, key.hexdigest())
    known = index.derived.get(memo_key)
    if isinstance(known, Boundaries):
        return known
    role = np.zeros(index.n_holders, np.int8)
    role[index.sink] = ROLE_SINK
    services: dict[int, tuple[str, str, str]] = {}
    exchange_names: list[str] = []
    exchange_of = np.full(index.n_holders, -1, np.int64)
    for holder, tag in sorted(labelled.items()):
        role[holder] = role_of(tag.category)
        services[holder] = (_service_name(tag.label), tag.category, "labelled")
        if tag.category.lower() == "exchange":
            name = _service_name(tag.label)
            if name not in exchange_names:
                exchange_names.append(name)
            exchange_of[holder] = exchange_names.index(name)
    deposit_holders = np.zeros(0, np.int64)
    deposit_service = np.zeros(0, np.int64)
    if exchange_names:
        deposit_holders, deposit_service = _cached_deposits(index, role, exchange_of, cache)
        role[deposit_holders] = ROLE_STOP
    result = Boundaries(
        role=role,
        services=ServiceMap(
            services, deposit_holders, deposit_service, exchange_names, index.n_holders
        ),
    )
    index.derived[memo_key] = result
    return result


def _cached_deposits(
    index: GraphIndex, role: np.ndarray, exchange_of: np.ndarray, cache: Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """Inferred deposit addresses and the exchange (index into the names) each pays."""
    if cache is None or not cache.is_dir():
        return _deposits(index, role, exchange_of)
    wallets = np.flatnonzero(exchange_of >= 0)
    key = hashlib.sha256(index.fingerprint.encode())
    key.update(np.ascontiguousarray(wallets, np.int64).tobytes())
    key.update(np.ascontiguousarray(exchange_of[wallets], np.int64).tobytes())
    key.update(np.ascontiguousarray(role[wallets], np.int8).tobytes())
    saved = cache / f"deposits-v{DEPOSITS_VERSION}-{key.hexdigest()[:24]}.npz"
    if saved.is_file():
        with np.load(saved) as data:
            return np.asarray(data["holder"], np.int64), np.asarray(data["service"], np.int64)
    holders, service = _deposits(index, role, exchange_of)
    staging = saved.with_name(f".{saved.name}.{os.getpid()}")
    with open(staging, "wb") as f:
        np.savez(f, holder=holders, service=service)
    os.replace(staging, saved)
    return holders, service


def _service_name(label: str) -> str:
    # "Northwind Exchange hot wallet" and "Northwind Exchange cold wallet" are one service.
    for suffix in (" hot wallet", " cold wallet", " deposit"):
        if label.endswith(suffix):
            return label[: -len(suffix)]
    return label


def _sole_target(
    src: np.ndarray, target: np.ndarray, n_holders: int, counted: np.ndarray
) -> np.ndarray:
    """Per holder: the one exchange every counted outgoing edge pays, else -1."""
    total = np.bincount(src[counted], minlength=n_holders)
    hits = counted & (target >= 0)
    paid = np.bincount(src[hits], minlength=n_holders)
    low = np.full(n_holders, np.iinfo(np.int64).max, np.int64)
    high = np.full(n_holders, -1, np.int64)
    np.minimum.at(low, src[hits], target[hits])
    np.maximum.at(high, src[hits], target[hits])
    sole = (total > 0) & (paid == total) & (low == high)
    return np.where(sole, high, -1)


def _deposits(
    index: GraphIndex, role: np.ndarray, exchange_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    src = np.asarray(index.src, np.int64)
    dst = np.asarray(index.dst, np.int64)
    n = index.n_holders
    counted = dst != index.sink
    target = exchange_of[dst]
    if index.utxo:
        # transactions whose outputs all pay one exchange: sweeps
        sweep_of = _sole_target(src, target, n, counted)
        spends = counted & (dst >= index.n_addresses) & (src < index.n_addresses)
        target = np.where(spends, sweep_of[dst], -1)
        sole = _sole_target(src, target, n, spends)
    else:
        sole = _sole_target(src, target, n, counted)
    candidates = np.nonzero((sole >= 0) & (role == ROLE_NORMAL))[0]
    if index.utxo:
        candidates = candidates[candidates < index.n_addresses]
    candidates = np.asarray(candidates, np.int64)
    return candidates, np.asarray(sole[candidates], np.int64)

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
from dataclasses import dataclass, field
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


@dataclass
class Boundaries:
    """Per-holder roles of one chain, and what each stopping holder is."""

    role: np.ndarray  # int8 per holder
    #: holder -> (service label, category, "labelled" or "deposit")
    services: dict[int, tuple[str, str, str]] = field(default_factory=dict)


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
    exposure queries with the same labels skip it.
    """
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
    if exchange_names:
        for holder, service in _cached_deposits(index, role, exchange_of, cache).items():
            role[holder] = ROLE_STOP
            services[holder] = (exchange_names[service], "exchange", "deposit")
    return Boundaries(role=role, services=services)


def _cached_deposits(
    index: GraphIndex, role: np.ndarray, exchange_of: np.ndarray, cache: Path | None
) -> dict[int, int]:
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
            return dict(zip(data["holder"].tolist(), data["service"].tolist(), strict=True))
    found = _deposits(index, role, exchange_of)
    staging = saved.with_name(f".{saved.name}.{os.getpid()}")
    with open(staging, "wb") as f:
        np.savez(
            f,
            holder=np.fromiter(found.keys(), np.int64, len(found)),
            service=np.fromiter(found.values(), np.int64, len(found)),
        )
    os.replace(staging, saved)
    return found


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


def _deposits(index: GraphIndex, role: np.ndarray, exchange_of: np.ndarray) -> dict[int, int]:
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
    return {int(h): int(sole[h]) for h in candidates}

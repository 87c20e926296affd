"""Bridge links placed on the graph: which transfers a ledger's deposits and releases are.

A ledger (links.py) names transactions and a release address; tracing (forward and backward)
and exposure (received and sent) need the transfers those are in the chains' indexes. The
rules are stated once here so that every direction crosses a bridge at the same transfers:

- a **release** is the transfer of ``release_tx`` to ``release_address``;
- a **deposit** is the transfers of ``deposit_tx`` into holders labelled ``bridge`` (a ledger
  names no deposit address); where that transaction pays the bridge in several assets, the
  asset whose total is nearest the ledger's ``deposit_amount`` (a ledger names no asset).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

import numpy as np

from counterflow.graph.index import GraphIndex
from counterflow.graph.links import Link, LinkFile
from counterflow.graph.policies import ROLE_BRIDGE
from counterflow.graph.session import GraphSession, LoadedChain

K = TypeVar("K", bound=Hashable)


def by_deposit(link_files: list[LinkFile]) -> dict[tuple[str, str], list[Link]]:
    """The links by (deposit chain, deposit tx)."""
    return _grouped(link_files, "deposit", lambda link: (link.deposit_chain, link.deposit_tx))


def by_release(link_files: list[LinkFile]) -> dict[tuple[str, str, str], list[Link]]:
    """The links by (release chain, release tx, release address)."""
    return _grouped(
        link_files,
        "release",
        lambda link: (link.release_chain, link.release_tx, link.release_address),
    )


def _grouped(
    link_files: list[LinkFile], side: str, key: Callable[[Link], K]
) -> dict[K, list[Link]]:
    """The links grouped by ``key``, kept per side for the same ledger files' versions.

    A ledger holds tens of thousands of links and a query follows a few; grouping them again
    for every trace costs more than following them. Only the latest ledgers are kept: they
    can be large.
    """
    version = (side, tuple((f.path, f.sha256) for f in link_files))
    known = _GROUPED.get(version)
    if known is None:
        grouped: dict[K, list[Link]] = defaultdict(list)
        for f in link_files:
            for link in f.links:
                grouped[key(link)].append(link)
        for old in [v for v in _GROUPED if v[0] == side]:
            del _GROUPED[old]
        known = _GROUPED[version] = dict(grouped)
    return cast(dict[K, list[Link]], known)


_GROUPED: dict[tuple[str, tuple[tuple[str, str], ...]], dict[Any, list[Link]]] = {}


def release_edges(
    session: GraphSession, c: LoadedChain, links: list[Link]
) -> dict[tuple[str, str], int]:
    """The transfer each release pays to its address, keyed by (release tx, address)."""
    mine = [link for link in links if link.release_chain == c.name]
    txs = session.tx_ids(c.name, sorted({link.release_tx for link in mine}))
    addresses = session.address_ids(c.name, sorted({link.release_address for link in mine}))
    # plain views: an element read through a memory map builds a memmap object each time
    in_ptr, in_edges, edge_tx = (
        np.asarray(a) for a in (c.index.in_ptr, c.index.in_edges, c.index.tx)
    )
    found: dict[tuple[str, str], int] = {}
    for link in mine:
        tx = txs.get(link.release_tx)
        address = addresses.get(link.release_address)
        if tx is None or address is None:
            continue
        start, end = int(in_ptr[address]), int(in_ptr[address + 1])
        for p in range(start, end):
            e = int(in_edges[p])
            if int(edge_tx[e]) == tx:
                found[(link.release_tx, link.release_address)] = e
                break
    return found


def into_bridges(c: LoadedChain) -> np.ndarray:
    """Every transfer into a holder labelled bridge, ascending."""
    ix = c.index
    holders = np.flatnonzero(np.asarray(c.bounds.role) == ROLE_BRIDGE).tolist()
    if not holders:
        return np.zeros(0, np.int64)
    in_ptr, in_edges = np.asarray(ix.in_ptr), np.asarray(ix.in_edges)
    parts = [in_edges[in_ptr[h] : in_ptr[h + 1]] for h in holders]
    return np.sort(np.concatenate(parts).astype(np.int64))


def deposit_asset(ix: GraphIndex, edges: np.ndarray, amount: int) -> int | None:
    """The asset of a deposit's transfers ``edges``: the one whose total is nearest the
    ledger's ``amount`` (the smallest asset id on a tie); None for no transfers."""
    sums: dict[int, int] = defaultdict(int)
    for e in np.asarray(edges, np.int64).tolist():
        sums[int(ix.asset[e])] += ix.exact_amount(e)
    if not sums:
        return None
    return min(sums, key=lambda a: (abs(sums[a] - amount), a))


def deposit_edges(
    session: GraphSession, c: LoadedChain, links: list[Link]
) -> dict[Link, np.ndarray]:
    """Per link, its deposit's transfers (ascending), for the links that have one here."""
    mine = [link for link in links if link.deposit_chain == c.name]
    ids = session.tx_ids(c.name, sorted({link.deposit_tx for link in mine}))
    into = into_bridges(c)
    if not ids or not len(into):
        return {}
    ix = c.index
    txs = np.asarray(ix.tx, np.int64)[into]
    assets = np.asarray(ix.asset, np.int64)[into]
    found: dict[Link, np.ndarray] = {}
    for link in mine:
        tx = ids.get(link.deposit_tx)
        if tx is None:
            continue
        paid = txs == tx
        asset = deposit_asset(ix, into[paid], link.deposit_amount)
        if asset is not None:
            found[link] = into[paid & (assets == asset)]
    return found

"""Placing raw blocks on the chain: their heights, and which of competing blocks to keep.

A serialised block does not say its height; only its parent's hash. Bitcoin Core's block files
hold blocks in the order they arrived (parents may come after children) and keep stale blocks
that lost a race. So heights are found by linking each block to its parent: within the files
given, in the store (an earlier ingest), or at a network's genesis. A chain segment whose first
block has none of these is placed by the height its coinbase states (BIP-34, every block since
2013), and otherwise cannot be placed: an error says which block and what to add.

Where blocks compete for a height, the branch with the most proof of work wins, as a node
decides; the others are reported as stale and left out. Following a reorganisation across runs
(a stored block replaced by a competitor) is not done here: it is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from counterflow.errors import InputError

NULL_PARENT = "0" * 64


@dataclass(frozen=True, slots=True)
class BlockLink:
    """What placing a block needs: its hash, its parent's, its work, its stated height."""

    hash: str
    prev_hash: str
    work: int
    coinbase_height: int | None
    where: str  # file and byte offset, for messages


@dataclass(frozen=True, slots=True)
class Placement:
    """Heights of the blocks kept (hash → height) and the hashes of stale blocks left out."""

    heights: dict[str, int]
    stale: list[str]


def place_blocks(
    links: Sequence[BlockLink],
    *,
    genesis_hashes: Collection[str],
    stored_heights: Callable[[list[str]], Mapping[str, int]],
) -> Placement:
    """Give every block a height and keep, per connected segment, its most-work branch.

    ``links`` must not repeat a hash. ``stored_heights`` maps the hashes it is asked about to
    the heights the store holds them at (absent when not stored).
    """
    by_hash = {link.hash: link for link in links}
    children: dict[str, list[BlockLink]] = {}
    for link in links:
        children.setdefault(link.prev_hash, []).append(link)
    roots = [link for link in links if link.prev_hash not in by_hash]
    asked = sorted({r.prev_hash for r in roots} - {NULL_PARENT, *genesis_hashes})
    stored = stored_heights(asked) if asked else {}

    heights: dict[str, int] = {}
    kept: dict[int, BlockLink] = {}
    stale: list[str] = []
    for root in roots:
        height = _root_height(root, genesis_hashes, stored)
        # Walk the segment from its root: heights and cumulative work of every block in it.
        work = {root.hash: root.work}
        depth = {root.hash: height}
        order = [root]
        for link in order:
            for child in children.get(link.hash, ()):
                work[child.hash] = work[link.hash] + child.work
                depth[child.hash] = depth[link.hash] + 1
                order.append(child)
        # The first block seen with the most work wins a tie, as a node keeps the first.
        best = max(order, key=lambda link: work[link.hash])
        chain: set[str] = set()
        cursor: BlockLink | None = best
        while cursor is not None:
            chain.add(cursor.hash)
            cursor = by_hash.get(cursor.prev_hash) if cursor is not root else None
        for link in order:
            if link.hash not in chain:
                stale.append(link.hash)
                continue
            h = depth[link.hash]
            other = kept.get(h)
            if other is not None:
                raise InputError(
                    f"two different blocks at height {h}: {other.hash} ({other.where}) and "
                    f"{link.hash} ({link.where}); they are not linked through the files given, "
                    "so the chain cannot be chosen"
                )
            kept[h] = link
            heights[link.hash] = h
    return Placement(heights, stale)


def _root_height(
    root: BlockLink, genesis_hashes: Collection[str], stored: Mapping[str, int]
) -> int:
    if root.prev_hash == NULL_PARENT:
        return 0
    if root.prev_hash in genesis_hashes:
        return 1
    if root.prev_hash in stored:
        return stored[root.prev_hash] + 1
    if root.coinbase_height is not None:
        return root.coinbase_height
    raise InputError(
        f"cannot tell the height of block {root.hash} ({root.where}): its parent "
        f"{root.prev_hash} is neither in the files given nor in the store, and its coinbase "
        "does not state a height (BIP-34 blocks, version 2 and later, do); add the files "
        "holding its ancestors, or ingest them first"
    )

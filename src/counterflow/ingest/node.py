"""A node a chain is followed from: its tip, its block hashes, and the blocks in a range.

Both node families (Bitcoin Core and Ethereum clients over JSON-RPC) present this one face to
the sync loop, which is all it needs to resume where the store stopped, stay some blocks
behind the tip, and notice a reorganisation: a stored block whose hash the node no longer
has at that height.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from counterflow.ingest.sources import RelationSource


class NodeChain(Protocol):
    """One chain as a node serves it."""

    #: The node's URL without credentials, for reports and messages.
    url: str

    def tip(self) -> int:
        """The height of the node's best block."""
        ...

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        """The hashes of the node's blocks at ``heights`` (lowercase hex, as stored)."""
        ...

    def source(self, first: int, last: int) -> RelationSource:
        """The blocks ``first``..``last`` (inclusive) as a source for the ingest pipeline."""
        ...


N = TypeVar("N", bound=NodeChain)


class NodeRangeSource(RelationSource, Generic[N]):
    """Blocks ``first``..``last`` of a node, fetched only when the ingest asks for them.

    The fetch happens inside the ingest, under the store's write lock, so the blocks are
    placed against exactly what is stored when they arrive.
    """

    stage = "fetching blocks from the node"

    def __init__(self, node: N, first: int, last: int) -> None:
        self.node = node
        self.first = first
        self.last = last

    @property
    def files(self) -> list[str]:
        return [f"{self.node.url} blocks {self.first}..{self.last}"]

"""Taint policies and trace parameters: the rules a trace applies, named and numbered.

The numbers are what the compiled kernels see; the names are what users, evidence bundles and
docs/tracing.md use. Changing a number invalidates no saved data (bundles store names).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any

from counterflow.errors import InputError


class Policy(IntEnum):
    """How a holder's outgoing transfers share the taint it has received.

    - ``poison``: once any tainted value has reached the holder, every later outgoing transfer
      (of that asset) is tainted in full.
    - ``haircut``: an outgoing transfer carries the tainted share of the holder's balance at
      that moment: ``tainted × amount / balance``.
    - ``fifo``: the holder's balance is a queue of received lots; an outgoing transfer takes
      value from the oldest lots first, and carries whatever taint those lots held.
    """

    POISON = 0
    HAIRCUT = 1
    FIFO = 2

    @classmethod
    def parse(cls, name: str | Policy) -> Policy:
        if isinstance(name, Policy):
            return name
        try:
            return cls[name.strip().upper()]
        except KeyError:
            known = ", ".join(p.name.lower() for p in cls)
            raise InputError(f"unknown policy {name!r}; choose one of {known}") from None


class Rule(IntEnum):
    """Why a transfer carries taint: written per hop into the evidence bundle."""

    SEED = 0  # leaves a seed address after the start: tainted in full
    POISON = 1
    HAIRCUT = 2
    FIFO = 3
    COIN = 4  # UTXO: an input spends a tainted output, exactly
    SWAP = 5  # DEX: output of the same transaction, in the input's tainted proportion
    MIXER = 6  # mixer pool: haircut over every withdrawal after the deposit
    BRIDGE = 7  # bridge release linked to a tainted deposit on another chain
    COINJOIN = 8  # CoinJoin sub-transaction: own change, or a share of the equal-output pool


#: Holder roles the kernel distinguishes (from labels and inferred deposits).
ROLE_NORMAL = 0
ROLE_STOP = 1  # custodial service or its deposit address: taint stops, a destination
ROLE_DEX = 2
ROLE_MIXER = 3
ROLE_BRIDGE = 4  # stops here; continues on the other chain through a link
ROLE_SINK = 5  # fees and minted value: outside the graph

FORWARD = "forward"
BACKWARD = "backward"


@dataclass(frozen=True)
class TraceParams:
    """Everything that, with the data, decides a trace's result (recorded in evidence)."""

    chain: str
    seeds: tuple[str, ...]
    direction: str = FORWARD
    policy: str = "haircut"
    max_hops: int = 64
    #: Smallest tainted amount followed, in whole units of the asset (ETH, BTC, USDX …).
    min_amount: float = 0.0
    #: Smallest tainted share of a transfer followed. Below it most of the transfer is someone
    #: else's value and following it names more bystanders than launderers (CoinJoin partners,
    #: mixer users, whoever they pay); chosen on simulated heists, validated on held-out seeds
    #: (docs/tracing.md, "Thresholds").
    min_fraction: float = 0.4
    #: Seeds taint what leaves them from this time on (ISO 8601 UTC; None: from the start).
    since: str | None = None
    #: When given, only the seeds' transfers in these transactions are tainted (the theft
    #: transactions a victim reports), not whatever else the victim pays later.
    seed_txs: tuple[str, ...] = ()
    #: Bridge links below this confidence are not followed.
    min_link_confidence: float = 0.5

    def validate(self) -> None:
        Policy.parse(self.policy)
        if self.direction not in (FORWARD, BACKWARD):
            raise InputError(f"direction must be {FORWARD} or {BACKWARD}, got {self.direction!r}")
        if not self.seeds:
            raise InputError("give at least one seed address (--from ADDR)")
        if self.max_hops < 1:
            raise InputError(f"--max-hops must be at least 1, got {self.max_hops}")
        if self.min_amount < 0:
            raise InputError(f"--min-amount must not be negative, got {self.min_amount}")
        if not 0 <= self.min_link_confidence <= 1:
            raise InputError(
                f"--min-link-confidence must be between 0 and 1, got {self.min_link_confidence}"
            )
        if not 0 <= self.min_fraction <= 1:
            raise InputError(f"--min-fraction must be between 0 and 1, got {self.min_fraction}")

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["seeds"] = list(self.seeds)
        document["seed_txs"] = list(self.seed_txs)
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TraceParams:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(document) - known
        if unknown:
            raise InputError(f"unknown trace parameter(s): {', '.join(sorted(unknown))}")
        values = dict(document)
        values["seeds"] = tuple(values.get("seeds", ()))
        values["seed_txs"] = tuple(values.get("seed_txs", ()))
        return cls(**values)

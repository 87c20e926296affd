"""What screening answers: a risk level per address and the reasons behind it, with evidence.

A reason is what a compliance officer forwards to a regulator: which list (source and version),
which entry and programme, how much value and over how many hops, with what confidence, under
which policy. Amounts are integers in base units and travel as strings in JSON, where a wei
amount would lose digits as a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from counterflow.screening.policy import RiskLevel

RESULT_FORMAT = "counterflow-screening/1"

#: Reason kinds.
LIST_HIT = "list_hit"
ENTITY_HIT = "entity_hit"
EXPOSURE = "exposure"
MIXER_PROXIMITY = "mixer_proximity"
BRIDGE_PROXIMITY = "bridge_proximity"
SERVICE_LABEL = "service_label"
DELISTED = "delisted"
LISTED_LATER = "listed_later"


@dataclass(frozen=True, slots=True)
class ScreenRequest:
    """One address to screen; ``chain=None`` lets the screener infer it from the address form."""

    address: str
    chain: str | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """One fact that bears on an address's risk, and the level it contributes.

    ``kind`` is one of ``list_hit``, ``entity_hit``, ``exposure``, ``mixer_proximity``,
    ``bridge_proximity``, ``service_label`` (the address itself is a labelled service), and,
    contributing nothing, ``delisted`` (a listing no longer in force at the screening time) and
    ``listed_later`` (a listing that took effect after it).
    """

    kind: str
    level: RiskLevel
    category: str
    source: str | None = None
    version: str | None = None
    entry: str | None = None
    programs: tuple[str, ...] = ()
    label: str | None = None
    amount: int | None = None  # base units of ``asset``
    asset: str | None = None
    share: float | None = None
    hops: int | None = None
    confidence: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "level": self.level.value,
            "category": self.category,
            "source": self.source,
            "version": self.version,
            "entry": self.entry,
            "programs": list(self.programs),
            "label": self.label,
            "amount": None if self.amount is None else str(self.amount),
            "asset": self.asset,
            "share": self.share,
            "hops": self.hops,
            "confidence": self.confidence,
            "detail": _json_ready(self.detail),
        }


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """The risk of one address, every reason for it, and what the answer was computed from."""

    chain: str
    address: str
    risk: RiskLevel
    reasons: tuple[Reason, ...]
    evidence: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "address": self.address,
            "risk": self.risk.value,
            "reasons": [r.to_json() for r in self.reasons],
            "evidence": _json_ready(self.evidence),
        }


def _json_ready(value: Any) -> Any:
    """Big integers as strings (JSON numbers lose digits past 2^53), tuples as lists."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value) if abs(value) >= 1 << 53 else value
    if isinstance(value, RiskLevel):
        return value.value
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value

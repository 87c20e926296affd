"""Screening: the risk of an address (or a name) against lists, entities and the value-flow graph.

``Screener(directory).screen([ScreenRequest(address)])`` answers, per address, a risk level
(severe, high, medium, low, none) and every reason behind it with the evidence a regulator
asks for: the list, its version, entry and programme for a listed address; the entity and
clustering confidence for an address clustered with one; the amount, share, hops and
designation for value that reached the address from a listed one; proximity to mixers and
bridges. docs/screening.md describes the policy, the reasons and how it is computed.
"""

from counterflow.screening.names import NameIndex, NameMatch, NameMatches, normalize_name
from counterflow.screening.policy import (
    DEFAULT_POLICY,
    ExposureRule,
    ProximityRule,
    RiskLevel,
    ScreeningPolicy,
)
from counterflow.screening.results import Reason, ScreeningResult, ScreenRequest
from counterflow.screening.screener import Screener

__all__ = [
    "DEFAULT_POLICY",
    "ExposureRule",
    "NameIndex",
    "NameMatch",
    "NameMatches",
    "ProximityRule",
    "Reason",
    "RiskLevel",
    "ScreenRequest",
    "Screener",
    "ScreeningPolicy",
    "ScreeningResult",
    "normalize_name",
]

"""The screening policy: which facts raise an address to which risk level (docs/screening.md).

A compliance team must be able to say, for any result, which rule produced it and with which
thresholds; so the policy is data — one dataclass, loadable from a JSON file, fingerprinted —
and every result carries the policy's name, fingerprint and the thresholds that fired. Changing
a threshold changes the fingerprint, which also keys the precomputed designation tables, so a
result is never explained by a policy other than the one that produced it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from counterflow.attribution.records import SANCTIONED, STOLEN_FUNDS, THREAT_ACTOR
from counterflow.errors import ConfigError, InputError
from counterflow.graph.policies import Policy

POLICY_FORMAT = "counterflow-screening-policy/1"


class RiskLevel(StrEnum):
    """Risk levels, ordered: ``RiskLevel.SEVERE > RiskLevel.HIGH`` holds."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    SEVERE = "severe"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, RiskLevel):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, RiskLevel):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, RiskLevel):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, RiskLevel):
            return NotImplemented
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str | RiskLevel) -> RiskLevel:
        if isinstance(text, RiskLevel):
            return text
        try:
            return cls(text.strip().lower())
        except ValueError:
            known = ", ".join(level.value for level in cls)
            raise InputError(f"unknown risk level {text!r}; use one of {known}") from None


_RANK = {level: i for i, level in enumerate(RiskLevel)}

#: Whose exposure counts towards a rule: the whole tainted share, or only the part that reached
#: the address without passing through a mixing pool (a mixer pool or a CoinJoin's equal outputs).
TOTAL = "total"
UNMIXED = "unmixed"


@dataclass(frozen=True)
class ExposureRule:
    """Indirect exposure at or above these thresholds gives ``level``.

    ``min_share`` is of what the address received in the asset (up to the screening time);
    ``min_amount`` maps an asset symbol to base units (an asset not named has no amount floor);
    ``share_of`` says which exposure the share is measured on (``total`` or ``unmixed``).
    """

    level: RiskLevel
    max_hops: int
    min_share: float
    share_of: str = TOTAL
    min_amount: dict[str, int] = field(default_factory=dict)

    def validate(self, where: str) -> None:
        if self.share_of not in (TOTAL, UNMIXED):
            raise ConfigError(f"{where}.share_of: {self.share_of!r} is not {TOTAL} or {UNMIXED}")
        if self.max_hops < 1:
            raise ConfigError(f"{where}.max_hops: must be at least 1, got {self.max_hops}")
        if not 0 <= self.min_share <= 1:
            raise ConfigError(f"{where}.min_share: must be in [0, 1], got {self.min_share}")
        for symbol, amount in self.min_amount.items():
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise ConfigError(
                    f"{where}.min_amount.{symbol}: a whole number of base units, got {amount!r}"
                )


@dataclass(frozen=True)
class ProximityRule:
    """Value from a labelled mixer (or bridge) within ``max_hops`` gives ``level``."""

    level: RiskLevel
    max_hops: int
    min_share: float = 0.0

    def validate(self, where: str) -> None:
        if self.max_hops < 1:
            raise ConfigError(f"{where}.max_hops: must be at least 1, got {self.max_hops}")
        if not 0 <= self.min_share <= 1:
            raise ConfigError(f"{where}.min_share: must be in [0, 1], got {self.min_share}")


@dataclass(frozen=True)
class ScreeningPolicy:
    """Every threshold screening applies; ``DEFAULT_POLICY`` is documented in docs/screening.md.

    The exposure thresholds were chosen on simulated heists (seeds 1 and 2 of every playbook)
    and validated on others (seeds 3 and 4): benchmarks/screen_accuracy.py.
    """

    name: str = "default"
    #: Categories whose listed addresses taint what they pay out (with the level of a direct
    #: hit on such a list).
    list_levels: dict[str, RiskLevel] = field(
        default_factory=lambda: {
            SANCTIONED: RiskLevel.SEVERE,
            STOLEN_FUNDS: RiskLevel.SEVERE,
            THREAT_ACTOR: RiskLevel.SEVERE,
        }
    )
    #: Level of an address in the same entity (clustering) as a listed one, when the chain of
    #: clustering links joining them is at least ``entity_min_confidence`` strong (below it:
    #: ``entity_weak_level``).
    entity_level: RiskLevel = RiskLevel.HIGH
    entity_weak_level: RiskLevel = RiskLevel.MEDIUM
    entity_min_confidence: float = 0.8
    #: Propagation: the tracer's policy, hop limit and smallest tainted share followed.
    propagation: str = "haircut"
    max_hops: int = 10
    min_fraction: float = 0.0
    #: Indirect exposure rules, evaluated for every category of ``list_levels``; the highest
    #: level any rule reaches is the exposure's level.
    exposure: tuple[ExposureRule, ...] = (
        ExposureRule(RiskLevel.HIGH, max_hops=10, min_share=0.01, share_of=UNMIXED),
        ExposureRule(RiskLevel.HIGH, max_hops=10, min_share=0.85, share_of=TOTAL),
        ExposureRule(RiskLevel.MEDIUM, max_hops=10, min_share=0.001, share_of=TOTAL),
    )
    mixer: ProximityRule = ProximityRule(RiskLevel.MEDIUM, max_hops=2, min_share=0.01)
    bridge: ProximityRule = ProximityRule(RiskLevel.LOW, max_hops=1, min_share=0.01)
    #: Level of an address that itself carries a mixer or bridge label.
    mixer_label_level: RiskLevel = RiskLevel.MEDIUM
    bridge_label_level: RiskLevel = RiskLevel.LOW

    def __post_init__(self) -> None:
        Policy.parse(self.propagation)
        if self.max_hops < 1:
            raise ConfigError(f"policy.max_hops: must be at least 1, got {self.max_hops}")
        if not 0 <= self.min_fraction < 1:
            raise ConfigError(f"policy.min_fraction: must be in [0, 1), got {self.min_fraction}")
        if not 0 <= self.entity_min_confidence <= 1:
            raise ConfigError("policy.entity_min_confidence: must be in [0, 1]")
        for i, rule in enumerate(self.exposure):
            rule.validate(f"policy.exposure[{i}]")
            if rule.max_hops > self.max_hops:
                raise ConfigError(
                    f"policy.exposure[{i}].max_hops: {rule.max_hops} is beyond the propagation "
                    f"limit policy.max_hops = {self.max_hops}"
                )
        self.mixer.validate("policy.mixer")
        self.bridge.validate("policy.bridge")

    @property
    def risky_categories(self) -> tuple[str, ...]:
        return tuple(sorted(self.list_levels))

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document = _plain(document)
        document["exposure"] = [_plain(asdict(rule)) for rule in self.exposure]
        return {"format": POLICY_FORMAT, **document}

    @property
    def fingerprint(self) -> str:
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def propagation_key(self) -> dict[str, Any]:
        """The settings a designation table depends on (thresholds of levels do not)."""
        return {
            "categories": list(self.risky_categories),
            "propagation": Policy.parse(self.propagation).name.lower(),
            "max_hops": self.max_hops,
            "min_fraction": self.min_fraction,
            "mixer_hops": self.mixer.max_hops,
            "bridge_hops": self.bridge.max_hops,
            "entity_min_confidence": self.entity_min_confidence,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any], where: str = "policy") -> ScreeningPolicy:
        """A policy from a JSON document: any field left out keeps its default."""
        if not isinstance(document, dict):
            raise ConfigError(f"{where}: a screening policy is a JSON object")
        values = dict(document)
        fmt = values.pop("format", POLICY_FORMAT)
        if fmt != POLICY_FORMAT:
            raise ConfigError(f"{where}: format {fmt!r} is not {POLICY_FORMAT!r}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
        try:
            if "list_levels" in values:
                values["list_levels"] = {
                    str(k): RiskLevel.parse(v) for k, v in dict(values["list_levels"]).items()
                }
            for name in (
                "entity_level",
                "entity_weak_level",
                "mixer_label_level",
                "bridge_label_level",
            ):
                if name in values:
                    values[name] = RiskLevel.parse(values[name])
            if "exposure" in values:
                values["exposure"] = tuple(
                    ExposureRule(
                        level=RiskLevel.parse(r["level"]),
                        max_hops=int(r["max_hops"]),
                        min_share=float(r["min_share"]),
                        share_of=str(r.get("share_of", TOTAL)),
                        min_amount={str(k): v for k, v in dict(r.get("min_amount", {})).items()},
                    )
                    for r in values["exposure"]
                )
            for name in ("mixer", "bridge"):
                if name in values:
                    r = values[name]
                    values[name] = ProximityRule(
                        level=RiskLevel.parse(r["level"]),
                        max_hops=int(r["max_hops"]),
                        min_share=float(r.get("min_share", 0.0)),
                    )
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> ScreeningPolicy:
        file = Path(path)
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{file}: no such policy file") from None
        except ValueError as exc:
            raise ConfigError(f"{file}: not valid JSON: {exc}") from None
        return cls.from_json(document, where=str(file))

    def with_changes(self, **changes: Any) -> ScreeningPolicy:
        return replace(self, **changes)


def _plain(value: Any) -> Any:
    if isinstance(value, RiskLevel):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


DEFAULT_POLICY = ScreeningPolicy()

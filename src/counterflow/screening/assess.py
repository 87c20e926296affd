"""From facts to a risk level: the listings of an address and its designation rows, judged.

Pure functions: the same tags, rows and policy give the same reasons, so a result can be
re-derived and explained. docs/screening.md lists every reason kind and the rule behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from counterflow.attribution.tagstore import StoredTag
from counterflow.graph.boundaries import BRIDGES, MIXERS
from counterflow.screening.designations import (
    KIND_ENTITY,
    KIND_EXPOSURE,
    KIND_MIXER,
    DesignationTable,
)
from counterflow.screening.policy import UNMIXED, RiskLevel, ScreeningPolicy
from counterflow.screening.results import (
    BRIDGE_PROXIMITY,
    DELISTED,
    ENTITY_HIT,
    EXPOSURE,
    LIST_HIT,
    LISTED_LATER,
    MIXER_PROXIMITY,
    SERVICE_LABEL,
    Reason,
)


def assess(
    tags: Sequence[StoredTag],
    rows: range,
    table: DesignationTable | None,
    policy: ScreeningPolicy,
    at: datetime,
) -> tuple[RiskLevel, list[Reason]]:
    """The risk level and reasons of one address.

    ``tags`` are every listing row of the address the viewer may see (in force at ``at`` or
    not); ``rows`` are its rows in ``table`` (the designation table of the viewer's tags in
    force at ``at``).
    """
    reasons = [_tag_reason(t, policy, at) for t in tags]
    if table is not None:
        for i in rows:
            reason = _row_reason(table, i, policy)
            if reason is not None:
                reasons.append(reason)
    reasons.sort(key=_order)
    risk = max((r.level for r in reasons), default=RiskLevel.NONE)
    return risk, reasons


def _order(reason: Reason) -> tuple[int, str, str, int]:
    return (-reason.level.rank, reason.kind, reason.category, -(reason.amount or 0))


def _tag_reason(tag: StoredTag, policy: ScreeningPolicy, at: datetime) -> Reason:
    detail: dict[str, Any] = {
        "valid_from": _iso(tag.valid_from),
        "valid_to": _iso(tag.valid_to),
        "removed_in": tag.removed_in,
        "tlp": tag.tlp,
    }
    if tag.owner is not None:
        detail["owner"] = tag.owner
    if tag.ticker is not None:
        detail["ticker"] = tag.ticker
    if not tag.valid_at(at):
        kind = LISTED_LATER if tag.valid_from > at else DELISTED
        level = RiskLevel.NONE
    elif tag.category in policy.list_levels:
        kind, level = LIST_HIT, policy.list_levels[tag.category]
    else:
        kind, level = SERVICE_LABEL, _label_level(tag.category, policy)
    return Reason(
        kind=kind,
        level=level,
        category=tag.category,
        source=tag.source,
        version=tag.version,
        entry=tag.entry,
        programs=tag.programs,
        label=tag.label,
        confidence=tag.confidence,
        hops=0,
        detail=detail,
    )


def _label_level(category: str, policy: ScreeningPolicy) -> RiskLevel:
    lowered = category.lower()
    if lowered in MIXERS:
        return policy.mixer_label_level
    if lowered in BRIDGES:
        return policy.bridge_label_level
    # an exchange, a DEX router, a token contract …: reported, no risk of its own
    return RiskLevel.NONE


def _row_reason(table: DesignationTable, i: int, policy: ScreeningPolicy) -> Reason | None:
    rows = table.rows
    kind = int(rows["kind"][i])
    d = table.designations[int(rows["designation"][i])] if rows["designation"][i] >= 0 else None
    if d is None:
        return None
    confidence = round(float(rows["confidence"][i]), 6)
    if kind == KIND_ENTITY:
        strong = confidence >= policy.entity_min_confidence
        return Reason(
            kind=ENTITY_HIT,
            level=policy.entity_level if strong else policy.entity_weak_level,
            category=d.category,
            source=d.source,
            version=d.version,
            entry=d.entry,
            programs=d.programs,
            label=d.label,
            hops=0,
            confidence=confidence,
            detail={
                "entity": int(rows["entity"][i]),
                "listed": list(d.seeds),
                "listed_count": d.n_seeds,
                "entity_min_confidence": policy.entity_min_confidence,
            },
        )
    asset = int(rows["asset"][i])
    symbol = table.symbols.get(asset, str(asset))
    units = float(rows["amount"][i])
    received_units = float(rows["received"][i])
    amount = table.base_units(asset, units)
    received = table.base_units(asset, received_units)
    amount = min(amount, received) if received > 0 else amount
    share = min(units / received_units, 1.0) if received_units > 0 else 1.0
    unmixed_units = float(rows["unmixed"][i])
    unmixed = min(table.base_units(asset, unmixed_units), amount)
    unmixed_share = min(unmixed_units / received_units, 1.0) if received_units > 0 else 0.0
    hops = int(rows["hops"][i])
    detail: dict[str, Any] = {
        "via": d.via,
        "received": str(received),
        "designations": int(rows["designations"][i]),
        "seeds": list(d.seeds),
        "seed_count": d.n_seeds,
        "propagation": policy.propagation,
    }
    if kind == KIND_EXPOSURE:
        detail["unmixed_amount"] = str(unmixed)
        detail["unmixed_share"] = round(unmixed_share, 6)
        level = RiskLevel.NONE
        fired: dict[str, Any] | None = None
        for rule in policy.exposure:
            measured = unmixed_share if rule.share_of == UNMIXED else share
            if (
                hops <= rule.max_hops
                and measured >= rule.min_share
                and amount >= rule.min_amount.get(symbol, 0)
                and rule.level > level
            ):
                level = rule.level
                fired = {
                    "level": rule.level.value,
                    "share_of": rule.share_of,
                    "min_share": rule.min_share,
                    "max_hops": rule.max_hops,
                    "min_amount": str(rule.min_amount.get(symbol, 0)),
                }
        if fired is None:
            return None
        detail["rule"] = fired
        reason_kind = EXPOSURE
    else:
        proximity = policy.mixer if kind == KIND_MIXER else policy.bridge
        if hops > proximity.max_hops or share < proximity.min_share:
            return None
        level = proximity.level
        detail["rule"] = {
            "level": proximity.level.value,
            "max_hops": proximity.max_hops,
            "min_share": proximity.min_share,
        }
        reason_kind = MIXER_PROXIMITY if kind == KIND_MIXER else BRIDGE_PROXIMITY
    return Reason(
        kind=reason_kind,
        level=level,
        category=d.category,
        source=d.source,
        version=d.version or None,
        entry=d.entry,
        programs=d.programs,
        label=d.label,
        amount=amount,
        asset=symbol,
        share=round(share, 6),
        hops=hops,
        confidence=confidence,
        detail=detail,
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")

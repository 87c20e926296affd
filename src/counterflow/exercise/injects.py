"""Timed injects: what the exercise's players are told, and when.

An exercise does not hand the players the ground truth; it feeds them what the real world
would: the victim's report, a partner agency's hop wallets, a bridge operator's alert, a
designation. Each inject has a time relative to the theft (``T+6h``) and indicators drawn
from the ground truth, so a team's speed can be scored from the moment it could have acted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from counterflow.exercise.truth import GroundTruth, HeistTruth


def build_injects(truth: GroundTruth, rng: np.random.Generator) -> dict[str, Any]:
    injects: list[dict[str, Any]] = []
    for heist in truth.heists:
        injects.extend(_heist_injects(heist, rng))
    injects.sort(key=lambda i: (i["time"], i["id"]))
    return {"format": "counterflow-injects/1", "injects": injects}


def _heist_injects(heist: HeistTruth, rng: np.random.Generator) -> list[dict[str, Any]]:
    theft = datetime.strptime(heist.theft_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    by_role: dict[str, list[dict[str, str]]] = {}
    for a in heist.addresses:
        by_role.setdefault(a["role"], []).append(a)
    drains = sorted({t.tx_hash for t in heist.transfers if t.step == "drain"})
    out: list[dict[str, Any]] = []

    def add(
        hours: float, kind: str, source: str, message: str, indicators: list[dict[str, str]]
    ) -> None:
        when = theft + timedelta(hours=hours)
        out.append(
            {
                "id": f"{heist.name}/{len(out) + 1}",
                "heist": heist.name,
                "at": f"T+{hours:g}h",
                "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "kind": kind,
                "from": source,
                "message": message,
                "indicators": indicators,
            }
        )

    victims = [{"chain": v["chain"], "address": v["address"]} for v in heist.victims]
    theft_addresses = [_indicator(a) for a in by_role.get("theft", [])]
    add(
        0.5,
        "victim-report",
        "victim",
        "Theft reported: funds drained from these wallets by these transactions.",
        victims + theft_addresses + [{"chain": "ethereum", "tx": h} for h in drains],
    )
    hops = by_role.get("hop-1", [])
    if hops:
        shared = rng.choice(len(hops), size=min(len(hops), 8), replace=False)
        add(
            6,
            "partner-share",
            "partner FIU",
            "A partner agency shares hop wallets it attributes to the attacker.",
            [_indicator(hops[int(i)]) for i in sorted(shared)],
        )
    if heist.links:
        add(
            48,
            "bridge-alert",
            "bridge operator",
            "The bridge operator reports deposits from flagged wallets and the Bitcoin "
            "addresses it paid.",
            [{"chain": "bitcoin", "address": link.target_address} for link in heist.links[:3]],
        )
    add(
        120,
        "designation",
        "sanctions authority",
        "The theft address is designated; screen and report any exposure.",
        theft_addresses,
    )
    return out


def _indicator(address: dict[str, str]) -> dict[str, str]:
    return {"chain": address["chain"], "address": address["address"]}

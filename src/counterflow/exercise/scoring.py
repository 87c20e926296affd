"""Score a team's answers against a scenario's ground truth.

A team submits the laundering addresses it traced, the cash-out deposit addresses it found and
the freeze requests it sent, each with the time it had it (ISO 8601, UTC)::

    {"team": "blue",
     "addresses":       [{"chain": "ethereum", "address": "0x…", "time": "…"}],
     "deposits":        [{"chain": "bitcoin",  "address": "bc1…", "time": "…"}],
     "freeze_requests": [{"chain": "ethereum", "address": "0x…", "time": "…"}]}

Measures (all heists of the scenario together):

- ``addresses``: precision and recall of the traced laundering addresses;
- ``deposits``: precision and recall of cash-out destinations found (exchange deposit
  addresses and the OTC desk's) — a deposit address counts when named in ``deposits`` or in
  ``freeze_requests``;
- ``funds_located``: the share of the stolen value (in the scenario's dollar prices) whose
  final resting place the team named: cash-out destinations it found plus laundering addresses
  it traced that still hold stolen value;
- ``first_correct_freeze_hours``: hours from the theft to the first freeze request that names
  an address that received stolen value (a destination or a laundering address), and
  ``deposit_hours``: hours from the theft to each correctly found deposit (median and max).

The function is pure: tests of the tracing and monitoring capabilities call it directly.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from counterflow.errors import InputError
from counterflow.exercise.truth import GroundTruth

#: Dollar prices of the scenario's assets, per base unit, for adding them up.
USD_PER_UNIT = {
    "BTC": 96_000 / 10**8,
    "ETH": 3_000 / 10**18,
    "LSTX": 2_994 / 10**18,
    "USDX": 1 / 10**6,
}
_KINDS = ("addresses", "deposits", "freeze_requests")


@dataclass(frozen=True)
class Answer:
    chain: str
    address: str
    time: datetime | None


@dataclass
class Answers:
    team: str
    addresses: list[Answer] = field(default_factory=list)
    deposits: list[Answer] = field(default_factory=list)
    freeze_requests: list[Answer] = field(default_factory=list)


@dataclass
class Measure:
    precision: float | None
    recall: float
    true_positives: int
    submitted: int
    expected: int


@dataclass
class Score:
    team: str
    addresses: Measure
    deposits: Measure
    funds_located: float
    funds_located_usd: float
    stolen_usd: float
    first_correct_freeze_hours: float | None
    deposit_hours: dict[str, float | None]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_answers(document: Any, source: str = "answers") -> Answers:
    """Validate an answers document; errors name the entry and field."""
    if not isinstance(document, dict):
        raise InputError(f"{source}: expected a JSON object with {', '.join(_KINDS)}")
    unknown = set(document) - {"team", *_KINDS}
    if unknown:
        raise InputError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    answers = Answers(team=str(document.get("team", "")))
    for kind in _KINDS:
        entries = document.get(kind, [])
        if not isinstance(entries, list):
            raise InputError(f"{source}: {kind} must be a list")
        parsed = getattr(answers, kind)
        for i, entry in enumerate(entries):
            where = f"{source}: {kind}[{i}]"
            if not isinstance(entry, dict):
                raise InputError(f"{where}: expected an object with chain and address")
            chain, address = entry.get("chain"), entry.get("address")
            if chain not in ("bitcoin", "ethereum"):
                raise InputError(f"{where}.chain: expected bitcoin or ethereum, got {chain!r}")
            if not isinstance(address, str) or not address:
                raise InputError(f"{where}.address: missing")
            parsed.append(Answer(chain, _normal(chain, address), _time(entry.get("time"), where)))
    return answers


def load_answers(path: Path) -> Answers:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such answers file") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    return parse_answers(document, str(path))


def score(truth: GroundTruth, answers: Answers) -> Score:
    laundering = set()
    destinations: dict[tuple[str, str], float] = {}
    held: dict[tuple[str, str], float] = {}
    stolen_usd = 0.0
    thefts: dict[tuple[str, str], datetime] = {}
    for heist in truth.heists:
        theft = _time(heist.theft_time, heist.name)
        assert theft is not None
        laundering |= heist.laundering_addresses
        for d in heist.destinations:
            key = (d.chain, _normal(d.chain, d.address))
            destinations[key] = destinations.get(key, 0.0) + d.amount * USD_PER_UNIT[d.asset]
            thefts[key] = min(thefts.get(key, theft), theft)
        for h in heist.held:
            key = (h["chain"], _normal(h["chain"], h["address"]))
            held[key] = held.get(key, 0.0) + h["amount"] * USD_PER_UNIT[h["asset"]]
        for chain, address in heist.laundering_addresses:
            key = (chain, _normal(chain, address))
            thefts[key] = min(thefts.get(key, theft), theft)
        stolen_usd += sum(amount * USD_PER_UNIT[asset] for asset, amount in heist.stolen.items())
    laundering = {(c, _normal(c, a)) for c, a in laundering}

    traced = {(a.chain, a.address) for a in answers.addresses}
    found = {(a.chain, a.address) for a in answers.deposits + answers.freeze_requests}
    named_deposits = {(a.chain, a.address) for a in answers.deposits}
    located = sum(v for k, v in destinations.items() if k in found)
    located += sum(v for k, v in held.items() if k in traced | found)
    first_freeze = None
    for a in answers.freeze_requests:
        key = (a.chain, a.address)
        if a.time is not None and (key in destinations or key in laundering):
            hours = (a.time - thefts[key]).total_seconds() / 3600
            first_freeze = hours if first_freeze is None else min(first_freeze, hours)
    deposit_hours = [
        (a.time - thefts[(a.chain, a.address)]).total_seconds() / 3600
        for a in answers.deposits
        if a.time is not None and (a.chain, a.address) in destinations
    ]
    return Score(
        team=answers.team,
        addresses=_measure(traced, laundering),
        deposits=_measure(named_deposits | (found & set(destinations)), set(destinations)),
        funds_located=round(located / stolen_usd, 6) if stolen_usd else 0.0,
        funds_located_usd=round(located, 2),
        stolen_usd=round(stolen_usd, 2),
        first_correct_freeze_hours=None if first_freeze is None else round(first_freeze, 3),
        deposit_hours={
            "median": round(statistics.median(deposit_hours), 3) if deposit_hours else None,
            "max": round(max(deposit_hours), 3) if deposit_hours else None,
        },
    )


def _measure(submitted: set[tuple[str, str]], expected: set[tuple[str, str]]) -> Measure:
    hits = len(submitted & expected)
    return Measure(
        precision=round(hits / len(submitted), 6) if submitted else None,
        recall=round(hits / len(expected), 6) if expected else 0.0,
        true_positives=hits,
        submitted=len(submitted),
        expected=len(expected),
    )


def _normal(chain: str, address: str) -> str:
    # Ethereum addresses compare case-insensitively (EIP-55 only adds a checksum);
    # Bitcoin's bech32 is lowercase by rule and Base58 is case-sensitive.
    return address.lower() if chain == "ethereum" or address[:3].lower() == "bc1" else address


def _time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}.time: expected an ISO 8601 time, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}.time: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise InputError(f"{where}.time: give a UTC offset (e.g. {value}Z)")
    return parsed.astimezone(UTC)

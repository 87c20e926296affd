"""An exercise's injects as a list: what partners, bridges and authorities told the team.

``counterflow exercise run`` writes DIR/injects.json: timed messages from the victim, partner
agencies, the bridge operator and the sanctions authority, each with indicators (chain,
address). During an exercise a team imports them as it would import the real messages: a
designation as ``sanctioned``, a partner's hop wallets and a bridge's payout addresses as
``stolen_funds``, the victim's drained wallets as ``victim`` (the seeds of a trace, not a risk
of their own). ``kinds`` picks which; ``until`` keeps only injects received by then, so a
screening run at T+6h does not know what arrives at T+120h.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from counterflow.attribution.list_files import expand_paths, read_text, source_file
from counterflow.attribution.records import (
    SANCTIONED,
    STOLEN_FUNDS,
    ListedAddress,
    ParsedList,
    Reject,
)
from counterflow.chains.registry import normalize_address
from counterflow.errors import ConfigError, CounterflowError, InputError

FORMAT = "exercise-injects"
#: What each kind of inject says about its indicators: (category, confidence).
MEANING = {
    "designation": (SANCTIONED, 1.0),
    "partner-share": (STOLEN_FUNDS, 0.9),
    "bridge-alert": (STOLEN_FUNDS, 0.9),
    "victim-report": ("victim", 1.0),
}
DEFAULT_KINDS = ("designation", "partner-share", "bridge-alert")


def parse_exercise_injects(
    paths: Sequence[str | Path],
    *,
    source: str = "exercise-injects",
    kinds: Sequence[str] = DEFAULT_KINDS,
    until: datetime | None = None,
    published: date | None = None,
) -> ParsedList:
    """The indicators of the chosen kinds of inject, received no later than ``until``."""
    unknown = sorted(set(kinds) - set(MEANING))
    if unknown:
        raise ConfigError(
            f"unknown inject kind(s) {', '.join(unknown)}; kinds: {', '.join(MEANING)}"
        )
    files = expand_paths(paths)
    addresses: list[ListedAddress] = []
    rejects: list[Reject] = []
    latest: datetime | None = None
    for path in files:
        for position, inject in enumerate(_injects(path)):
            where = f"{path}, injects[{position}]"
            kind = inject.get("kind")
            if kind not in kinds:
                continue
            received = _time(inject.get("time"), where)
            if until is not None and received > until:
                continue
            latest = received if latest is None or received > latest else latest
            category, confidence = MEANING[str(kind)]
            label = f"{inject.get('heist', 'exercise')}: {kind} from {inject.get('from', '?')}"
            for k, indicator in enumerate(inject.get("indicators") or []):
                try:
                    chain = str(indicator["chain"])
                    address = normalize_address(chain, str(indicator["address"]))
                except (KeyError, TypeError):
                    rejects.append(
                        Reject(f"{where}.indicators[{k}]", str(indicator), "no chain/address")
                    )
                    continue
                except CounterflowError as exc:
                    rejects.append(Reject(f"{where}.indicators[{k}]", str(indicator), str(exc)))
                    continue
                addresses.append(
                    ListedAddress(
                        chain=chain,
                        address=address,
                        category=category,
                        label=label,
                        confidence=confidence,
                        entry=str(inject.get("id")) if inject.get("id") else None,
                    )
                )
    return ParsedList(
        source=source,
        format=FORMAT,
        files=tuple(source_file(p) for p in files),
        published=published or (latest.date() if latest else None),
        addresses=tuple(dict.fromkeys(addresses)),
        rejects=tuple(rejects),
    )


def is_injects_document(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("injects"), list)
        and str(document.get("format", "")).startswith("counterflow-injects")
    )


def _injects(path: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(document, dict) or not isinstance(document.get("injects"), list):
        raise InputError(f"{path}: not an injects file (a JSON object with an 'injects' list)")
    return [i if isinstance(i, dict) else {} for i in document["injects"]]


def _time(text: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}.time: not an ISO 8601 time: {text!r}") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

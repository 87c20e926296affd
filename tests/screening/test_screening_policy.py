"""The policy as data (JSON in, fingerprint, refusals naming the field) and what it changes;
the screening time cuts the transfers too."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from screening_stores import T0, account_store, addr, import_list, listed

from counterflow.errors import ConfigError
from counterflow.screening import (
    DEFAULT_POLICY,
    ExposureRule,
    RiskLevel,
    Screener,
    ScreeningPolicy,
    ScreenRequest,
)


def test_policy_round_trips_through_json(tmp_path: Path) -> None:
    document = DEFAULT_POLICY.to_json()
    assert document["format"] == "counterflow-screening-policy/1"
    assert document["list_levels"]["sanctioned"] == "severe"
    again = ScreeningPolicy.from_json(json.loads(json.dumps(document)))
    assert again == DEFAULT_POLICY and again.fingerprint == DEFAULT_POLICY.fingerprint
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"name": "x", "max_hops": 4, "exposure": []}))
    loaded = ScreeningPolicy.load(path)
    assert (loaded.name, loaded.max_hops, loaded.exposure) == ("x", 4, ())
    assert loaded.fingerprint != DEFAULT_POLICY.fingerprint


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"max_hop": 3}, "unknown field"),
        ({"entity_level": "extreme"}, "extreme"),
        ({"exposure": [{"level": "high", "max_hops": 20, "min_share": 0.1}]}, "beyond"),
        ({"exposure": [{"level": "high", "max_hops": 2, "min_share": 2}]}, "min_share"),
        ({"propagation": "random"}, "random"),
        ({"format": "other/1"}, "format"),
    ],
)
def test_bad_policies_are_refused(document: dict[str, object], message: str) -> None:
    with pytest.raises((ConfigError, Exception), match=message):
        ScreeningPolicy.from_json(document)


def test_risk_levels_are_ordered() -> None:
    assert RiskLevel.SEVERE > RiskLevel.HIGH > RiskLevel.MEDIUM > RiskLevel.LOW > RiskLevel.NONE
    assert max([RiskLevel.LOW, RiskLevel.HIGH, RiskLevel.NONE]) == RiskLevel.HIGH
    assert RiskLevel.parse(" High ") == RiskLevel.HIGH


@pytest.fixture(scope="module")
def chain_of_payments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """L (listed) -> A 10 at T0, A -> B 10 at T0 + 60 s, X -> B 990 at T0 + 120 s."""
    store = account_store(
        tmp_path_factory.mktemp("policy"), [("L", "A", 10), ("A", "B", 10), ("X", "B", 990)]
    )
    import_list(store, "fbi", [listed("L", "stolen_funds", "Heist")], date(2024, 1, 1))
    return store


def test_thresholds_and_amount_floor(chain_of_payments: Path) -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    request = [ScreenRequest(addr("B"))]
    [b] = Screener(chain_of_payments).screen(request, at=at)
    # B received 1000, 10 of it stolen: 1 % unmixed reaches the default high rule
    exposure = b.reasons[0]
    assert (exposure.share, exposure.hops, b.risk) == (0.01, 2, RiskLevel.HIGH)
    floor = ScreeningPolicy(
        exposure=(
            ExposureRule(RiskLevel.HIGH, 10, 0.01, "unmixed", {"ETH": 11}),
            ExposureRule(RiskLevel.MEDIUM, 10, 0.001),
        )
    )
    [b] = Screener(chain_of_payments, policy=floor).screen(request, at=at)
    assert b.risk == RiskLevel.MEDIUM
    assert b.reasons[0].detail["rule"]["level"] == "medium"
    assert b.evidence["policy"]["fingerprint"] == floor.fingerprint


def test_screening_time_cuts_the_transfers(chain_of_payments: Path) -> None:
    screener = Screener(chain_of_payments)
    between = datetime.fromtimestamp(T0 + 90, UTC)  # after A -> B, before X -> B
    [b] = screener.screen([ScreenRequest(addr("B"))], at=between)
    assert (b.reasons[0].share, b.reasons[0].detail["received"]) == (1.0, "10")
    assert b.evidence["graph"]["transfers_considered"] == 2
    before = datetime.fromtimestamp(T0 + 30, UTC)  # only L -> A has happened
    [b] = screener.screen([ScreenRequest(addr("B"))], at=before)
    assert b.risk == RiskLevel.NONE and b.reasons == ()

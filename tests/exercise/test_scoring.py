"""Scoring a team's answers against the ground truth."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from exercise_scenario import Scenario

from counterflow.errors import InputError
from counterflow.exercise import load_ground_truth, parse_answers, score
from counterflow.exercise.scoring import USD_PER_UNIT


def iso(text: str, hours: float) -> str:
    when = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(hours=hours)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def perfect(scenario: Scenario) -> dict[str, Any]:
    truth = load_ground_truth(scenario.folder)
    addresses, deposits = [], []
    for h in truth.heists:
        addresses += [{"chain": a["chain"], "address": a["address"]} for a in h.addresses]
        deposits += [
            {"chain": d.chain, "address": d.address, "time": iso(h.theft_time, 50)}
            for d in h.destinations
        ]
    return {"team": "oracle", "addresses": addresses, "deposits": deposits}


def test_perfect_answers_score_full_marks(scenario: Scenario) -> None:
    truth = load_ground_truth(scenario.folder)
    result = score(truth, parse_answers(perfect(scenario)))
    assert result.addresses.precision == result.addresses.recall == 1.0
    assert result.deposits.precision == result.deposits.recall == 1.0
    # Every stolen dollar reached a destination except what fees and the bridge's cut took.
    fees = sum(
        t.stolen * USD_PER_UNIT[t.asset]
        for h in truth.heists
        for t in h.transfers
        if t.kind == "fee"
    )
    assert 0.9 < result.funds_located <= 1.0
    assert result.funds_located_usd + fees <= result.stolen_usd
    # Hours count from the theft; the OTC desk took from both heists, so it counts from the first.
    assert result.deposit_hours["median"] == pytest.approx(50.0)


def test_partial_and_wrong_answers(scenario: Scenario) -> None:
    truth = load_ground_truth(scenario.folder)
    heist = truth.heists[0]
    right = heist.destinations[0]
    answers = {
        "team": "blue",
        "addresses": [
            {
                "chain": a["chain"],
                "address": a["address"].upper() if a["chain"] == "ethereum" else a["address"],
            }
            for a in heist.addresses[:10]
        ]
        + [{"chain": "ethereum", "address": "0x" + "ab" * 20}],
        "freeze_requests": [
            {
                "chain": "bitcoin",
                "address": "bc1qnotreallyanaddress",
                "time": iso(heist.theft_time, 1),
            },
            {"chain": right.chain, "address": right.address, "time": iso(heist.theft_time, 30)},
        ],
    }
    result = score(truth, parse_answers(answers))
    assert result.addresses.true_positives == 10  # Ethereum addresses match in any case
    assert result.addresses.precision == pytest.approx(10 / 11, abs=1e-6)
    total = sum(len(h.laundering_addresses) for h in truth.heists)
    assert result.addresses.recall == pytest.approx(10 / total, abs=1e-6)
    assert result.deposits.true_positives == 1
    assert result.first_correct_freeze_hours == pytest.approx(30.0)
    share = sum(
        d.amount * USD_PER_UNIT[d.asset]
        for h in truth.heists
        for d in h.destinations
        if (d.chain, d.address) == (right.chain, right.address)
    )
    assert result.funds_located_usd == pytest.approx(share, rel=1e-6)


def test_no_answers_score_zero(scenario: Scenario) -> None:
    result = score(load_ground_truth(scenario.folder), parse_answers({"team": "none"}))
    assert result.addresses.precision is None and result.addresses.recall == 0.0
    assert result.funds_located == 0.0 and result.first_correct_freeze_hours is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object"),
        ({"adresses": []}, "unknown key"),
        ({"addresses": {}}, "addresses must be a list"),
        ({"deposits": ["x"]}, r"deposits\[0\]: expected an object"),
        ({"addresses": [{"chain": "tron", "address": "T"}]}, r"addresses\[0\]\.chain"),
        ({"addresses": [{"chain": "bitcoin"}]}, r"addresses\[0\]\.address: missing"),
        ({"deposits": [{"chain": "bitcoin", "address": "a", "time": "yesterday"}]}, "not an ISO"),
        ({"deposits": [{"chain": "bitcoin", "address": "a", "time": "2026-01-01T00:00"}]}, "UTC"),
    ],
)
def test_bad_answers_name_the_entry(document: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_answers(document)

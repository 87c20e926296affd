"""Forward traces from the victims' drained wallets, scored against the simulator's truth."""

from __future__ import annotations

import json

import pytest

from conftest import Traced
from counterflow.exercise import load_ground_truth, parse_answers, score
from counterflow.graph import TraceParams, trace


def _score(s: Traced, policy: str) -> tuple[object, object]:
    truth = load_ground_truth(s.folder)
    heist = json.loads((s.folder / "ground_truth.json").read_text())["heists"][0]
    # what the victim's report (the first inject) names: drained wallets and theft transactions
    report = json.loads((s.folder / "injects.json").read_text())["injects"][0]
    params = TraceParams(
        chain="ethereum",
        seeds=tuple(v["address"] for v in heist["victims"]),
        seed_txs=tuple(x["tx"] for x in report["indicators"] if "tx" in x),
        policy=policy,
        since=heist["theft_time"],
    )
    result = trace(
        s.store,
        params,
        labels=[s.folder / "labels" / "services.yaml"],
        links=[s.folder / "bridge" / "crossings.csv"],
    )
    return result, score(truth, parse_answers(result.answers()))


#: Bars (address recall, address precision, funds located) at the default thresholds, seed 11
#: bybit and seed 12 ronin at 40,000 transfers (measured: haircut recall 1.00 / 0.97,
#: precision 1.00 / 1.00; docs/tracing.md "Measured"). Haircut meets the 95% / 90% / 95% goal.
#: Poison is the upper bound by design: it taints every later payment of every holder it
#: reaches, so its precision floor is what it measures (0.41 / 0.37). FIFO is precise but loses
#: the trail where lots are consumed in an order the launderer did not follow; its recall floor
#: is what it measures (0.78 / 0.40), not the goal.
FLOORS = {
    ("bybit", "haircut"): (0.95, 0.90, 0.95),
    ("bybit", "poison"): (0.95, 0.35, 0.95),
    ("bybit", "fifo"): (0.75, 0.95, 0.95),
    ("ronin", "haircut"): (0.95, 0.90, 0.95),
    ("ronin", "poison"): (0.95, 0.3, 0.95),
    ("ronin", "fifo"): (0.38, 0.95, 0.95),
}


@pytest.mark.parametrize("policy", ["haircut", "poison", "fifo"])
@pytest.mark.parametrize("name", ["bybit", "ronin"])
def test_trace_finds_the_laundering(name: str, policy: str, request: pytest.FixtureRequest) -> None:
    scenario = request.getfixturevalue(name)
    _, s = _score(scenario, policy)
    recall, precision, funds = FLOORS[(name, policy)]
    assert s.addresses.recall >= recall  # type: ignore[attr-defined]
    assert s.addresses.precision >= precision  # type: ignore[attr-defined]
    assert s.funds_located >= funds  # type: ignore[attr-defined]
    assert s.deposits.recall >= 0.95  # type: ignore[attr-defined]

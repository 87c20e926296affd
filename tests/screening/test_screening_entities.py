"""Entity hits: a listed address's cluster, its confidence, what it taints, and custodial
entities left alone (Bitcoin, multi-input clustering through the real ingest)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from screening_stores import bitcoin_store, import_list, listed

from bitcoin_exports import p2pkh
from counterflow.graph.clustering import cluster
from counterflow.screening import RiskLevel, Screener, ScreenRequest

A1, A2, X, V, E1, A3, Y, K1 = (p2pkh(n) for n in ("a1", "a2", "x", "v", "e1", "a3", "y", "k1"))
AT = datetime(2025, 3, 1, tzinfo=UTC)
BTC = 100_000_000


@pytest.fixture(scope="module")
def clustered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A1 and A2 spend together (one entity); A2 later pays V from another coin. The exchange
    wallet E1 spends together with A3 (an exchange entity holding a listed address)."""
    root = tmp_path_factory.mktemp("entities")
    store = bitcoin_store(
        root,
        [
            ("c1", [], [(A1, 50 * BTC)]),
            ("c2", [], [(A2, 30 * BTC)]),
            ("c3", [], [(A2, 20 * BTC)]),
            ("s", [("c1", 0, A1, 50 * BTC), ("c2", 0, A2, 30 * BTC)],
             [(X, 70 * BTC), (A1, 10 * BTC)]),
            ("t", [("c3", 0, A2, 20 * BTC)], [(V, 20 * BTC)]),
            ("c4", [], [(E1, 5 * BTC)]),
            ("c5", [], [(A3, 5 * BTC)]),
            ("q", [("c4", 0, E1, 5 * BTC), ("c5", 0, A3, 5 * BTC)], [(Y, 10 * BTC)]),
            ("c6", [], [(K1, 1 * BTC)]),
        ],
    )  # fmt: skip
    cluster(store, "bitcoin")
    import_list(
        store,
        "services",
        [listed(E1, "exchange", "Lumen Exchange hot wallet", chain="bitcoin")],
        date(2024, 1, 1),
    )
    import_list(
        store,
        "ofac-sdn",
        [
            listed(
                A1,
                "sanctioned",
                "LAZARUS GROUP",
                chain="bitcoin",
                entry="1001",
                programs=("DPRK3",),
            ),
            listed(A3, "stolen_funds", "Heist", chain="bitcoin", entry="1002"),
        ],
        date(2025, 1, 1),
    )
    return store


def test_entity_member_is_high_with_clustering_confidence(clustered: Path) -> None:
    [result] = Screener(clustered).screen([ScreenRequest(A2)], at=AT)
    assert result.risk == RiskLevel.HIGH
    hit = next(r for r in result.reasons if r.kind == "entity_hit")
    assert (hit.category, hit.source, hit.entry, hit.programs) == (
        "sanctioned",
        "ofac-sdn",
        "1001",
        ("DPRK3",),
    )
    assert hit.confidence == pytest.approx(0.95)  # one multi-input link
    assert hit.detail["listed"] == [A1]


def test_entity_members_seed_exposure(clustered: Path) -> None:
    screener = Screener(clustered)
    [x, v] = screener.screen([ScreenRequest(X), ScreenRequest(V)], at=AT)
    exposure_x = next(r for r in x.reasons if r.kind == "exposure")
    assert exposure_x.hops == 1 and x.risk == RiskLevel.HIGH
    # V was paid by A2 alone: exposure through the entity, with its confidence
    exposure_v = next(r for r in v.reasons if r.kind == "exposure")
    assert exposure_v.detail["via"] == "entity"
    assert exposure_v.confidence == pytest.approx(0.95)
    assert (exposure_v.amount, exposure_v.share) == (20 * BTC, 1.0)


def test_entity_with_an_unlisted_exchange_is_not_expanded(clustered: Path) -> None:
    [e1] = Screener(clustered).screen([ScreenRequest(E1)], at=AT)
    assert all(r.kind != "entity_hit" for r in e1.reasons)
    assert e1.risk == RiskLevel.NONE
    [k1] = Screener(clustered).screen([ScreenRequest(K1)], at=AT)
    assert k1.risk == RiskLevel.NONE and k1.reasons == ()

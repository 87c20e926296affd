"""Each screening rule on a hand-built world (screening_world.py): direct hits with
their programme, delisting over time, exposure by hops and share, deposit addresses, exchange
boundaries, mixer and bridge proximity, visibility, batch against single."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from screening_stores import addr, import_list, listed
from screening_world import World

from counterflow.attribution.tlp import Viewer
from counterflow.errors import InputError, InvalidAddressError
from counterflow.screening import (
    RiskLevel,
    Screener,
    ScreeningPolicy,
    ScreeningResult,
    ScreenRequest,
)

BEFORE_DELISTING = datetime(2025, 3, 1, tzinfo=UTC)
AFTER_DELISTING = datetime(2025, 7, 1, tzinfo=UTC)


def one(screener: Screener, name: str, **kwargs: object) -> ScreeningResult:
    [result] = screener.screen([ScreenRequest(addr(name), "ethereum")], **kwargs)  # type: ignore[arg-type]
    return result


def kinds(result: ScreeningResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in result.reasons:
        out.setdefault(r.kind, []).append(r.category)
    return out


@pytest.fixture(scope="module")
def screener(world: World) -> Screener:
    return Screener(world.store)


def test_direct_hit_is_severe_with_programme_and_list(screener: Screener) -> None:
    result = one(screener, "L", at=BEFORE_DELISTING)
    assert result.risk == RiskLevel.SEVERE
    hit = result.reasons[0]
    assert (hit.kind, hit.level, hit.category) == ("list_hit", RiskLevel.SEVERE, "sanctioned")
    assert (hit.source, hit.version, hit.entry) == ("ofac-sdn", "2025-01-01", "1001")
    assert hit.programs == ("DPRK3",)
    assert hit.label == "LAZARUS GROUP" and hit.confidence == 1.0
    evidence = result.evidence
    assert {"source": "ofac-sdn", "version": "2025-01-01"}.items() <= evidence["tag_store"][
        "lists"
    ][1].items() or any(x["source"] == "ofac-sdn" for x in evidence["tag_store"]["lists"])
    assert evidence["policy"]["fingerprint"] == screener.policy.fingerprint
    assert evidence["graph"]["chain"] == "ethereum"
    document = result.to_json()
    assert document["risk"] == "severe" and document["reasons"][0]["programs"] == ["DPRK3"]


def test_stolen_funds_listing_is_severe(screener: Screener) -> None:
    result = one(screener, "S", at=BEFORE_DELISTING)
    assert result.risk == RiskLevel.SEVERE
    assert (result.reasons[0].source, result.reasons[0].category) == ("fbi-psa", "stolen_funds")


def test_one_hop_deposit_and_fresh_address_are_caught(screener: Screener) -> None:
    for name in ("D", "F"):
        result = one(screener, name, at=BEFORE_DELISTING)
        assert result.risk == RiskLevel.HIGH, name
        [exposure] = [r for r in result.reasons if r.kind == "exposure"]
        assert (exposure.category, exposure.hops, exposure.share) == ("sanctioned", 1, 1.0)
        assert (exposure.source, exposure.entry, exposure.programs) == (
            "ofac-sdn",
            "1001",
            ("DPRK3",),
        )
        assert exposure.amount == {"D": 50, "F": 10}[name] and exposure.asset == "ETH"
        assert exposure.detail["via"] == "listed"
        assert exposure.detail["rule"]["share_of"] == "unmixed"


def test_exchange_stops_propagation(screener: Screener) -> None:
    hot = one(screener, "H", at=BEFORE_DELISTING)
    # H received 7 straight from L (D's 50 stopped at the deposit address D)
    [exposure] = [r for r in hot.reasons if r.kind == "exposure"]
    assert (exposure.amount, exposure.detail["received"]) == (7, "57")
    assert "service_label" in kinds(hot)
    # what the exchange paid out is the exchange's, not the sanctioned party's
    withdrawal = one(screener, "U", at=BEFORE_DELISTING)
    assert withdrawal.risk == RiskLevel.NONE and withdrawal.reasons == ()


def test_exposure_by_hops_with_haircut(screener: Screener) -> None:
    # K received 20 stolen + 20 clean; passes on half-tainted value, 10 per hop onwards
    expected = {"K": (20, 0.5, 1), "J": (10, 0.5, 2), "N": (10, 0.5, 3), "P": (10, 0.5, 4)}
    for name, (amount, share, hops) in expected.items():
        result = one(screener, name, at=BEFORE_DELISTING)
        [exposure] = [r for r in result.reasons if r.kind == "exposure"]
        assert (exposure.amount, exposure.share, exposure.hops) == (amount, share, hops), name
        assert exposure.category == "stolen_funds" and result.risk == RiskLevel.HIGH


def test_hop_limit_of_the_policy(world: World) -> None:
    default = ScreeningPolicy()
    policy = ScreeningPolicy(
        max_hops=2,
        exposure=tuple(replace(rule, max_hops=2) for rule in default.exposure),
    )
    screener = Screener(world.store, policy=policy)
    assert one(screener, "J", at=BEFORE_DELISTING).risk == RiskLevel.HIGH
    assert one(screener, "N", at=BEFORE_DELISTING).risk == RiskLevel.NONE


def test_mixer_and_bridge_proximity(screener: Screener) -> None:
    withdrawal = one(screener, "W", at=BEFORE_DELISTING)
    assert withdrawal.risk == RiskLevel.MEDIUM
    [near] = withdrawal.reasons
    assert (near.kind, near.hops, near.label, near.amount) == (
        "mixer_proximity",
        1,
        "Tumbler pool",
        99,
    )
    assert one(screener, "Y", at=BEFORE_DELISTING).reasons[0].hops == 2
    release = one(screener, "R", at=BEFORE_DELISTING)
    assert release.risk == RiskLevel.LOW
    assert release.reasons[0].kind == "bridge_proximity"
    pool = one(screener, "M", at=BEFORE_DELISTING)
    assert pool.risk == RiskLevel.MEDIUM and pool.reasons[0].kind == "service_label"
    assert one(screener, "C", at=BEFORE_DELISTING).risk == RiskLevel.NONE


def test_delisted_counts_before_not_after(screener: Screener) -> None:
    before = one(screener, "A", at=BEFORE_DELISTING)
    assert before.risk == RiskLevel.SEVERE and before.reasons[0].kind == "list_hit"
    after = one(screener, "A", at=AFTER_DELISTING)
    assert after.risk == RiskLevel.NONE
    [history] = after.reasons
    assert (history.kind, history.level) == ("delisted", RiskLevel.NONE)
    assert history.detail["removed_in"] == "2025-06-01"
    assert history.detail["valid_to"].startswith("2025-06-01")
    # and the counterparty's exposure follows the listing
    assert one(screener, "G", at=BEFORE_DELISTING).risk == RiskLevel.HIGH
    assert one(screener, "G", at=AFTER_DELISTING).risk == RiskLevel.NONE
    # before the first listing, a later listing is history only
    early = one(screener, "L", at=datetime(2024, 12, 31, tzinfo=UTC))
    assert early.risk == RiskLevel.NONE and early.reasons[0].kind == "listed_later"


def test_a_partner_never_sees_another_partners_amber_tag(screener: Screener) -> None:
    at = BEFORE_DELISTING
    for viewer in (Viewer(None), Viewer("partner-a")):
        assert one(screener, "Z", viewer=viewer, at=at).risk == RiskLevel.SEVERE
        assert one(screener, "Q", viewer=viewer, at=at).risk == RiskLevel.HIGH
    other = Viewer("partner-b")
    for name in ("Z", "Q"):
        result = one(screener, name, viewer=other, at=at)
        assert result.risk == RiskLevel.NONE and result.reasons == ()
        lists = {x["source"] for x in result.evidence["tag_store"]["lists"]}
        assert "partner-a-intel" not in lists
    # the shared lists still count for partner-b
    assert one(screener, "D", viewer=other, at=at).risk == RiskLevel.HIGH


def test_batch_equals_single(screener: Screener) -> None:
    names = ["L", "D", "F", "H", "U", "W", "Y", "R", "C", "K", "J", "N", "P", "A", "G", "Z", "Q"]
    requests = [ScreenRequest(addr(n)) for n in names] * 5  # 85: the bulk path
    at = BEFORE_DELISTING
    batch = screener.screen(requests, at=at)
    singles = [screener.screen([r], at=at)[0] for r in requests]
    assert [b.to_json() for b in batch] == [s.to_json() for s in singles]
    table, found = screener.screen_table([r.address for r in requests], at=at)
    assert table.column("risk").to_pylist() == [b.risk.value for b in batch]
    assert [f.to_json() for f in found] == [b.to_json() for b in batch if b.reasons]


def test_batch_judges_each_item_on_its_own_chain(screener: Screener) -> None:
    """An EVM text is the same on every EVM chain: a listing on Ethereum is no hit on BSC."""
    single = screener.screen([ScreenRequest(addr("L"))], at=BEFORE_DELISTING)[0]
    texts = [addr("L"), addr("L"), addr("Z"), addr("L")]
    chains = ["ethereum", "bsc", "ethereum", None]
    table, _ = screener.screen_table(texts, chains, at=BEFORE_DELISTING)
    assert table.column("chain").to_pylist() == ["ethereum", "bsc", "ethereum", "ethereum"]
    risk = table.column("risk").to_pylist()
    assert risk[0] == risk[3] == single.risk.value != "none"
    assert risk[1] == "none"
    assert table.column("reasons").to_pylist()[1] == 0


def test_chain_is_inferred_and_invalid_addresses_are_named(screener: Screener) -> None:
    [result] = screener.screen([ScreenRequest(addr("L").upper().replace("0X", "0x"))])
    assert (result.chain, result.address) == ("ethereum", addr("L"))
    with pytest.raises(InvalidAddressError, match="0x12"):
        screener.screen([ScreenRequest("0x12")])
    with pytest.raises(InputError, match="cannot tell the chain"):
        screener.screen([ScreenRequest("q-not-an-address")])
    requests = [
        ScreenRequest(addr("L")),
        ScreenRequest("0xZZ"),
        ScreenRequest("1BoatSLRHtKNngkdXEeobR76b53LETtpyX"),  # checksum broken
        ScreenRequest("1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    ]
    errors = screener.validate(requests)
    assert [i for i, _ in errors] == [1, 2]
    assert "0xZZ" in errors[0][1]


def test_list_only_chain_without_graph(world: World, screener: Screener) -> None:
    tron = "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"
    import_list(
        world.store,
        "tron-list",
        [listed(tron, "sanctioned", "Cheil", chain="tron", entry="3003", programs=("DPRK4",))],
        date(2025, 2, 1),
    )
    fresh = Screener(world.store, refresh_seconds=0)
    [result] = fresh.screen([ScreenRequest(tron)], at=BEFORE_DELISTING)
    assert (result.chain, result.risk) == ("tron", RiskLevel.SEVERE)
    assert result.evidence["graph"] is None


def test_reloads_when_the_tag_store_changes(tmp_path_factory: pytest.TempPathFactory) -> None:
    from screening_world import build_world

    world = build_world(tmp_path_factory.mktemp("reload"))
    screener = Screener(world.store, refresh_seconds=0)
    assert one(screener, "C").risk == RiskLevel.NONE
    import_list(world.store, "new-list", [listed("X", "stolen_funds", "Late")], date(2025, 8, 1))
    result = one(screener, "C")
    assert result.risk == RiskLevel.HIGH  # X paid C: now stolen-funds exposure
    assert result.reasons[0].source == "new-list"


def test_naive_time_is_refused(screener: Screener) -> None:
    with pytest.raises(InputError, match="time zone"):
        screener.screen([ScreenRequest(addr("L"))], at=datetime(2025, 1, 1))

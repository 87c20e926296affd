"""Screening over HTTP: single and batch answers, validation naming the bad item, history,
the audit trail of every decision, and the documented surface."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from api_support import CLEAN, LAZARUS, PRIVATE, TORNADO, Api, ApiFactory

from counterflow.attribution.tagstore import TagStore

SCREEN = "/v1/screen"


def screen(api: Api, body: Any, who: str = "a") -> Any:
    response = api.client.post(SCREEN, json=body, headers=api.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_listed_address_is_severe_with_its_list_named(api: Api) -> None:
    result = screen(api, {"address": LAZARUS.upper().replace("0X", "0x"), "chain": "ethereum"})
    assert result["chain"] == "ethereum" and result["address"] == LAZARUS
    assert result["risk"] == "severe"
    hits = [r for r in result["reasons"] if r["kind"] == "list_hit"]
    assert [(h["source"], h["version"], h["entry"]) for h in hits] == [
        ("ofac-sdn", "2022-08-08", "23131")
    ]
    assert hits[0]["programs"] == ["DPRK3"]


def test_the_chain_is_inferred_from_the_address_form(api: Api) -> None:
    assert screen(api, {"address": LAZARUS})["chain"] == "ethereum"


def test_a_batch_answers_in_order(api: Api) -> None:
    body = {"addresses": [{"address": CLEAN}, {"address": LAZARUS}, {"address": TORNADO}]}
    answer = screen(api, body)
    results = answer["results"]
    assert [r["address"] for r in results] == [CLEAN, LAZARUS, TORNADO]
    assert [r["risk"] for r in results] == ["none", "severe", "none"]  # Tornado: delisted
    assert all("evidence" not in r for r in results)
    # one evidence per chain, the same a single screening gives
    single = screen(api, {"address": LAZARUS})
    assert set(answer["evidence"]) == {"ethereum"}
    evidence = answer["evidence"]["ethereum"]
    assert evidence["tag_store"] == single["evidence"]["tag_store"]
    assert evidence["tag_store"]["generation"] == TagStore(api.directory).generation
    assert results[1]["reasons"] == single["reasons"]
    assert screen(api, {"addresses": []}) == {"results": [], "evidence": {}}


def test_a_large_batch_is_screened_off_the_event_loop_with_the_same_answers(api: Api) -> None:
    items = [{"address": LAZARUS if i % 100 == 0 else CLEAN} for i in range(2000)]
    results = screen(api, {"addresses": items})["results"]
    assert len(results) == 2000
    assert [i for i, r in enumerate(results) if r["risk"] == "severe"] == list(range(0, 2000, 100))


def test_a_malformed_address_is_named_with_its_index(api: Api) -> None:
    bad = LAZARUS[:-1] + "g"
    body = {"addresses": [{"address": LAZARUS}, {"address": bad}, {"address": "0x1234"}]}
    response = api.client.post(SCREEN, json=body, headers=api.auth("a"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_address"
    assert error["message"].startswith("2 invalid items, the first: item 1")
    assert bad in error["message"]
    assert [(d["index"], d["address"]) for d in error["details"]] == [(1, bad), (2, "0x1234")]
    assert all(d["message"] for d in error["details"])
    single = api.client.post(SCREEN, json={"address": "bc1qnotreal"}, headers=api.auth("a"))
    assert single.status_code == 422
    assert single.json()["error"]["details"][0]["index"] == 0
    assert "bc1qnotreal" in single.json()["error"]["message"]


def test_an_unknown_chain_is_refused(api: Api) -> None:
    body = {"addresses": [{"address": LAZARUS}, {"address": LAZARUS, "chain": "dogechain"}]}
    response = api.client.post(SCREEN, json=body, headers=api.auth("a"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_chain" and "dogechain" in error["message"]
    assert error["details"][0]["index"] == 1 and "ethereum" in error["details"][0]["message"]
    response = api.client.get(f"/v1/addresses/dogechain/{LAZARUS}", headers=api.auth("a"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_chain"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"address": LAZARUS, "chian": "ethereum"}, "chian"),
        ({"addresses": [{"address": LAZARUS}, {"adress": LAZARUS}]}, "addresses.1"),
        ({"addresses": "0xabc"}, "addresses"),
        ({"address": ""}, "address"),
        ([LAZARUS], "body"),
        ({}, "address"),
    ],
)
def test_bodies_of_the_wrong_shape_are_422_naming_the_field(
    api: Api, body: Any, field: str
) -> None:
    response = api.client.post(SCREEN, json=body, headers=api.auth("a"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert any(field in d["field"] for d in error["details"]), error


def test_a_body_that_is_not_json_is_422(api: Api) -> None:
    response = api.client.post(
        SCREEN,
        content=b'{"address": ',
        headers={**api.auth("a"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_an_address_shows_its_history_with_the_delisting(api: Api) -> None:
    response = api.client.get(f"/v1/addresses/ethereum/{TORNADO}", headers=api.auth("b"))
    assert response.status_code == 200
    report = response.json()
    assert report["tags"] == []
    [period] = report["history"]
    assert period["source"] == "ofac-sdn" and period["version"] == "2022-08-08"
    assert period["valid_to"].startswith("2025-03-21") and period["removed_in"] == "2025-03-21"
    assert report["screening"]["risk"] == "none"

    upper = "0x" + LAZARUS[2:].upper()
    alias = api.client.get(f"/v1/addresses/eth/{upper}", headers=api.auth("b"))
    assert alias.status_code == 200
    assert alias.json()["chain"] == "ethereum" and alias.json()["address"] == LAZARUS
    assert alias.json()["tags"][0]["source"] == "ofac-sdn"
    bare = api.client.get(f"/v1/addresses/ethereum/{LAZARUS[2:]}", headers=api.auth("b"))
    assert bare.status_code == 422 and "did you mean" in bare.json()["error"]["message"]
    bad = api.client.get("/v1/addresses/ethereum/0xnothex", headers=api.auth("b"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_address"
    assert "0xnothex" in bad.json()["error"]["message"]


def test_every_decision_is_audited_with_the_generation(make_api: ApiFactory) -> None:
    with make_api() as api:
        screen(api, {"addresses": [{"address": LAZARUS}, {"address": CLEAN}]}, who="a")
        api.client.get(f"/v1/addresses/ethereum/{PRIVATE}", headers=api.auth("b"))
        refused = api.client.post(
            SCREEN, json={"addresses": [{"address": "0x12"}]}, headers=api.auth("a")
        )
        assert refused.status_code == 422
    # leaving the block shut the app down, which wrote the queued entries
    entries = sorted(api.state.audit(), key=lambda e: (e.endpoint, e.address))
    generation = TagStore(api.directory).generation
    assert [(e.endpoint, e.address, e.risk, e.partner) for e in entries] == sorted(
        [
            ("/v1/screen", LAZARUS, "severe", "partner-a"),
            ("/v1/screen", CLEAN, "none", "partner-a"),
            ("/v1/addresses", PRIVATE, "none", "partner-b"),
        ],
        key=lambda row: (row[0], row[1]),
    )
    lazarus = next(e for e in entries if e.address == LAZARUS)
    assert lazarus.key_id == api.key_ids["a"] and lazarus.chain == "ethereum"
    assert "list_hit/sanctioned ofac-sdn@2022-08-08" in lazarus.reasons
    assert all(e.generation == generation for e in entries)
    assert all(api.keys["a"] not in str(e) for e in entries)
    used = {k.id: k.last_used for k in api.state.keys(partner="partner-a")}
    assert used[api.key_ids["a"]] is not None


def test_errors_of_every_kind_have_one_shape(api: Api) -> None:
    missing = api.client.get("/v1/nothing-here", headers=api.auth("a"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = api.client.get(SCREEN, headers=api.auth("a"))
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_the_openapi_document_describes_the_api(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert set(spec["paths"]) == {
        "/v1/screen",
        "/v1/addresses/{chain}/{address}",
        "/v1/lists",
        "/v1/health",
    }
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    screen_op = spec["paths"]["/v1/screen"]["post"]
    assert {"401", "413", "422", "429"} <= set(screen_op["responses"])
    assert "security" not in spec["paths"]["/v1/health"]["get"]
    assert api.client.get("/docs").status_code == 200


def test_what_start_up_loaded_is_frozen_out_of_the_collector(make_api: ApiFactory) -> None:
    """Start-up's long-lived objects (tag store, designation tables) are not walked by every
    collection while requests wait; answers are the same."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with make_api() as api:
        frozen = gc.get_freeze_count()
        answer = api.client.post(
            "/v1/screen",
            json={"address": LAZARUS, "chain": "ethereum"},
            headers={"Authorization": f"Bearer {api.keys['a']}"},
        )
    gc.unfreeze()
    assert frozen > 1000
    assert answer.status_code == 200
    assert answer.json()["risk"] == "severe"

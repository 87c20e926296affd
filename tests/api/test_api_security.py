"""Who may call what, and who may see what: keys, revocation, TLP between partners, limits."""

from __future__ import annotations

import json
import logging

import pytest
from api_support import LAZARUS, PRIVATE, SHARED, Api, ApiFactory

SCREEN = "/v1/screen"


def _error(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert body["error"]["status"] == status and body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


@pytest.mark.parametrize("path", ["/v1/lists", f"/v1/addresses/ethereum/{LAZARUS}"])
def test_a_missing_key_is_refused(api: Api, path: str) -> None:
    response = api.client.get(path)
    error = _error(response, 401, "unauthorized")
    assert "missing API key" in str(error["message"])
    assert response.headers["www-authenticate"] == "Bearer"
    _error(api.client.post(SCREEN, json={"address": LAZARUS}), 401, "unauthorized")


@pytest.mark.parametrize(
    "presented",
    [
        "not-a-key",
        "cf_0123456789ab_" + "x" * 43,  # well formed, unknown prefix
        "Bearer",
        "",
    ],
)
def test_invalid_keys_are_refused(api: Api, presented: str) -> None:
    for headers in ({"Authorization": f"Bearer {presented}"}, {"X-API-Key": presented}):
        _error(api.client.get("/v1/lists", headers=headers), 401, "unauthorized")


def test_a_wrong_secret_for_a_real_prefix_is_refused(api: Api) -> None:
    cf, prefix, secret = api.keys["a"].split("_", 2)
    forged = f"{cf}_{prefix}_{'A' * len(secret) if secret != 'A' * len(secret) else 'B' * 43}"
    error = _error(api.client.get("/v1/lists", headers={"X-API-Key": forged}), 401, "unauthorized")
    assert error["message"] == "invalid API key"


def test_both_headers_carry_the_key(api: Api) -> None:
    assert api.client.get("/v1/lists", headers=api.auth("a")).status_code == 200
    assert api.client.get("/v1/lists", headers={"X-API-Key": api.keys["a"]}).status_code == 200


def test_a_revoked_key_is_refused(make_api: ApiFactory) -> None:
    with make_api(key_cache_seconds=0.0) as api:
        assert api.client.get("/v1/lists", headers=api.auth("b")).status_code == 200
        api.state.revoke_key(api.key_ids["b"])
        error = _error(api.client.get("/v1/lists", headers=api.auth("b")), 401, "unauthorized")
        assert "revoked" in str(error["message"])
        assert api.client.get("/v1/lists", headers=api.auth("a")).status_code == 200


def test_a_suspended_partner_is_refused(make_api: ApiFactory) -> None:
    with make_api(key_cache_seconds=0.0) as api:
        api.state.set_partner_active("partner-b", False)
        error = _error(api.client.get("/v1/lists", headers=api.auth("b")), 401, "unauthorized")
        assert "suspended" in str(error["message"])
        api.state.set_partner_active("partner-b", True)


def test_another_partners_amber_tag_is_invisible(api: Api) -> None:
    path = f"/v1/addresses/ethereum/{PRIVATE}"
    as_a = api.client.get(path, headers=api.auth("a")).json()
    assert [t["source"] for t in as_a["tags"]] == ["a-intel"]
    assert as_a["tags"][0]["tlp"] == "amber" and as_a["tags"][0]["owner"] == "partner-a"
    assert as_a["screening"]["risk"] != "none"

    as_b = api.client.get(path, headers=api.auth("b")).json()
    assert as_b["tags"] == [] and as_b["history"] == []
    assert as_b["screening"]["risk"] == "none"
    assert "a-intel" not in json.dumps(as_b)

    screened = api.client.post(SCREEN, json={"address": PRIVATE}, headers=api.auth("b")).json()
    assert screened["risk"] == "none" and "a-intel" not in json.dumps(screened)
    batch = api.client.post(
        SCREEN, json={"addresses": [{"address": PRIVATE}]}, headers=api.auth("b")
    ).json()
    assert batch["results"][0]["risk"] == "none"

    as_ops = api.client.get(path, headers=api.auth("ops")).json()
    assert [t["source"] for t in as_ops["tags"]] == ["a-intel"]


def test_a_green_tag_is_shared(api: Api) -> None:
    as_b = api.client.get(f"/v1/addresses/ethereum/{SHARED}", headers=api.auth("b")).json()
    assert [t["source"] for t in as_b["tags"]] == ["a-shared"]
    assert as_b["screening"]["risk"] != "none"


def test_lists_show_only_what_the_caller_may_see(api: Api) -> None:
    def sources(who: str) -> set[str]:
        response = api.client.get("/v1/lists", headers=api.auth(who))
        assert response.status_code == 200
        return {v["source"] for v in response.json()["lists"]}

    def paths(who: str) -> set[str]:
        lists = api.client.get("/v1/lists", headers=api.auth(who)).json()["lists"]
        return {f["path"] for v in lists if v["source"] == "ofac-sdn" for f in v["files"]}

    assert sources("a") == {"ofac-sdn", "a-intel", "a-shared"}
    # partners see which files (names, hashes), not where they lie on the server
    assert paths("b") == {"sdn-2022.csv", "sdn-2025.csv"}
    assert paths("ops") == {"/srv/lists/sdn-2022.csv", "/srv/lists/sdn-2025.csv"}
    assert sources("b") == {"ofac-sdn", "a-shared"}
    assert sources("ops") == {"ofac-sdn", "a-intel", "a-shared"}


def test_an_oversize_batch_is_refused(make_api: ApiFactory) -> None:
    with make_api(batch_limit=10) as api:
        items = [{"address": LAZARUS}] * 11
        error = _error(
            api.client.post(SCREEN, json={"addresses": items}, headers=api.auth("a")),
            413,
            "batch_too_large",
        )
        assert "11 addresses" in str(error["message"]) and "limit is 10" in str(error["message"])
        ok = api.client.post(SCREEN, json={"addresses": items[:10]}, headers=api.auth("a"))
        assert ok.status_code == 200 and len(ok.json()["results"]) == 10
        huge = b'{"addresses": [' + b'{"address": "x"},' * 20_000 + b'{"address": "x"}]}'
        response = api.client.post(
            SCREEN,
            content=huge,
            headers={**api.auth("a"), "Content-Type": "application/json"},
        )
        _error(response, 413, "too_large")
        chunks = iter([huge[i : i + 8192] for i in range(0, len(huge), 8192)])
        streamed = api.client.post(
            SCREEN, content=chunks, headers={**api.auth("a"), "Content-Type": "application/json"}
        )
        assert "content-length" not in streamed.request.headers
        _error(streamed, 413, "too_large")


def test_the_rate_limit_answers_429_with_retry_after(make_api: ApiFactory) -> None:
    with make_api(rate_per_second=0.5, rate_burst=3) as api:
        statuses = [
            api.client.get("/v1/lists", headers=api.auth("a")).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 200]
        refused = api.client.get("/v1/lists", headers=api.auth("a"))
        error = _error(refused, 429, "rate_limited")
        assert refused.headers["retry-after"] == "2"
        assert "0.5 requests/s" in str(error["message"])
        # Another key has its own bucket; a bad key is refused before any bucket.
        assert api.client.get("/v1/lists", headers=api.auth("b")).status_code == 200
        _error(api.client.get("/v1/lists"), 401, "unauthorized")


def test_health_needs_no_key_and_tells_nothing_private(api: Api) -> None:
    response = api.client.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": response.json()["version"],
        "database": "ok",
        "audit": "ok",
    }


def test_the_access_log_names_the_key_id_never_the_key(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="counterflow.api.access")
    api.client.post(SCREEN, json={"address": LAZARUS}, headers=api.auth("a"))
    api.client.get("/v1/lists", headers={"X-API-Key": api.keys["b"]})
    api.client.get("/v1/lists", headers={"Authorization": "Bearer cf_0123456789ab_" + "z" * 43})
    api.client.get('/v1/addresses/ethereum/0x"quoted\\', headers=api.auth("a"))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("access")]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", SCREEN, 200),
        ("GET", "/v1/lists", 200),
        ("GET", "/v1/lists", 401),
        ("GET", '/v1/addresses/ethereum/0x"quoted\\', 422),
    ]
    assert lines[0]["key_id"] == api.key_ids["a"] and lines[0]["partner"] == "partner-a"
    assert lines[1]["partner"] == "partner-b"
    assert "key_id" not in lines[2]
    assert all(line["ms"] >= 0 and line["time"].endswith("+00:00") for line in lines)
    text = caplog.text
    for secret in (api.keys["a"], api.keys["b"], "z" * 43, "Bearer", "Authorization"):
        assert secret not in text

"""The JSON-RPC client against a real HTTP server on loopback: batches, retries, errors, auth."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from counterflow.errors import ConfigError, NodeError
from counterflow.ingest.jsonrpc import Call, CallError, JsonRpcClient, public_url, read_cookie
from rpc_server import RpcReplyError, rpc_server


def echo(method: str, params: list[Any]) -> Any:
    if method == "echo":
        return params[0]
    if method == "fail":
        raise RpcReplyError(-8, f"bad parameter {params[0]}")
    raise RpcReplyError(-32601, "Method not found")


def test_batch_results_come_back_in_order_across_batches_and_threads() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def answer(method: str, params: list[Any]) -> Any:
        with lock:
            seen.append(params[0])
        return echo(method, params)

    with (
        rpc_server(answer) as url,
        JsonRpcClient(url, batch_size=7, concurrency=3) as client,
    ):
        calls = [Call("echo", (i,)) for i in range(100)]
        assert client.batch(calls) == list(range(100))
        assert sorted(seen) == list(range(100))
        assert client.batch(calls[:5], batch_size=2) == [0, 1, 2, 3, 4]
        assert client.call("echo", "one") == "one"
        assert client.batch([]) == []


def test_a_call_error_is_raised_or_returned_in_its_place() -> None:
    with rpc_server(echo) as url, JsonRpcClient(url, batch_size=2) as client:
        calls = [Call("echo", (1,)), Call("fail", (2,)), Call("echo", (3,))]
        with pytest.raises(NodeError, match=r"fail\[2\] failed \(code -8\): bad parameter 2"):
            client.batch(calls)
        results = client.batch(calls, errors="return")
        assert results[0] == 1 and results[2] == 3
        error = results[1]
        assert isinstance(error, CallError)
        assert (error.method, error.params, error.code) == ("fail", (2,), -8)
        with pytest.raises(ValueError):
            client.batch(calls, errors="ignore")


@contextmanager
def flaky_server(failures: list[str]) -> Iterator[tuple[str, list[str]]]:
    """Answers each request with the next failure listed ('503' or 'warmup'), then for real."""
    log: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            failure = failures.pop(0) if failures else "ok"
            log.append(failure)
            if failure == "503":
                self.send_response(503)
                self.end_headers()
                self.wfile.write(b"busy")
                return
            replies = []
            for request in body:
                reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
                if failure == "warmup":
                    reply["error"] = {"code": -28, "message": "Loading block index..."}
                elif request["method"] == "fail":
                    reply["error"] = {"code": -5, "message": "Block not found"}
                else:
                    reply["result"] = request["params"][0]
                replies.append(reply)
            data = json.dumps(replies).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", log
    finally:
        server.shutdown()
        server.server_close()


def test_http_503_and_warm_up_are_retried_until_the_node_answers() -> None:
    with (
        flaky_server(["503", "warmup", "503"]) as (url, log),
        JsonRpcClient(url, backoff=0.001) as client,
    ):
        assert client.batch([Call("echo", (1,)), Call("echo", (2,))]) == [1, 2]
        assert log == ["503", "warmup", "503", "ok"]


def test_retries_stop_after_the_limit() -> None:
    with (
        flaky_server(["503"] * 3) as (url, log),
        JsonRpcClient(url, backoff=0.001, retries=2) as client,
        pytest.raises(NodeError, match="HTTP 503"),
    ):
        client.call("echo", 1)
    assert len(log) == 3


def test_a_call_error_is_not_retried() -> None:
    with (
        flaky_server([]) as (url, log),
        JsonRpcClient(url, backoff=0.001) as client,
        pytest.raises(NodeError, match=r"Block not found"),
    ):
        client.call("fail", 1)
    assert log == ["ok"]


def test_refused_credentials_say_what_to_check_and_never_show_the_password() -> None:
    with rpc_server(echo, auth=("alice", "right-secret")) as url:
        bad = url.replace("http://", "http://alice:wrong-secret@")
        with JsonRpcClient(bad) as client, pytest.raises(NodeError) as refused:
            client.call("echo", 1)
        message = str(refused.value)
        assert "HTTP 401" in message and "check the user and password" in message
        assert "wrong-secret" not in message and "alice" not in message
        with JsonRpcClient(url.replace("http://", "http://alice:right-secret@")) as client:
            assert client.call("echo", 5) == 5
            assert "right-secret" not in client.url


def test_the_cookie_file_gives_the_credentials(tmp_path: Path) -> None:
    cookie = tmp_path / ".cookie"
    cookie.write_text("__cookie__:c0ffee\n")
    assert read_cookie(cookie) == ("__cookie__", "c0ffee")
    with (
        rpc_server(echo, auth=("__cookie__", "c0ffee")) as url,
        JsonRpcClient(url, auth=read_cookie(cookie)) as client,
    ):
        assert client.call("echo", [1]) == [1]


def test_a_bad_or_missing_cookie_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the RPC cookie file"):
        read_cookie(tmp_path / "absent")
    bad = tmp_path / ".cookie"
    bad.write_text("no separator here")
    with pytest.raises(ConfigError, match="not an RPC cookie file"):
        read_cookie(bad)


def test_an_unreachable_node_is_a_node_error_without_credentials() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        JsonRpcClient(f"http://bob:hunter2@127.0.0.1:{port}/", retries=1, backoff=0.001) as client,
        pytest.raises(NodeError, match="cannot reach the node") as failed,
    ):
        client.call("echo", 1)
    assert "hunter2" not in str(failed.value) and "bob" not in str(failed.value)


@pytest.mark.parametrize(
    "url",
    ["ftp://user:pw-secret@host/", "localhost:8332", "http://user:pw-secret@/path", ""],
)
def test_a_bad_url_is_a_config_error_without_credentials(url: str) -> None:
    with pytest.raises(ConfigError, match="an RPC URL is") as bad:
        JsonRpcClient(url)
    assert "pw-secret" not in str(bad.value)


def test_bad_limits_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        JsonRpcClient("http://127.0.0.1:1/", batch_size=0)


def test_exact_numbers_decode_fractions_as_decimals() -> None:
    with rpc_server(lambda _method, _params: {"value": 84841299.387, "n": 1}) as url:
        with JsonRpcClient(url) as client:
            plain = client.call("getblock")
        with JsonRpcClient(url, exact_numbers=True) as client:
            exact = client.call("getblock")
    assert isinstance(plain["value"], float) and int(plain["value"] * 10**8) != 8484129938700000
    assert exact == {"value": Decimal("84841299.387"), "n": 1}
    assert exact["value"].scaleb(8) == 8484129938700000


def test_public_url_drops_user_and_password() -> None:
    assert public_url("http://u:p@host:1/x?y=1") == "http://host:1/x?y=1"

"""End to end: ``counterflow serve`` in its own process, called over loopback with httpx."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_support import CLEAN, LAZARUS, build_tag_store

from counterflow.service import ServiceState
from counterflow.store.datadir import DataDirectory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not healthy after {seconds} s")


@pytest.mark.slow
def test_the_served_api_answers_logs_and_audits(tmp_path: Path, database_url: str) -> None:
    directory = DataDirectory(tmp_path / "data")
    build_tag_store(directory)
    state = ServiceState(directory, database_url)
    state.add_partner("upbit")
    key = state.create_key("upbit").key
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Deployments put several workers on PostgreSQL; SQLite is the single-process default.
    workers = "2" if database_url.startswith("postgresql") else "1"
    log = tmp_path / "server.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "counterflow.cli",
                "--data-dir",
                str(directory.root),
                "serve",
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--workers",
                workers,
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={k: v for k, v in os.environ.items() if k != "COUNTERFLOW_DATABASE_URL"},
        )
        try:
            wait_healthy(base, process)
            with httpx.Client(base_url=base, timeout=30.0) as client:
                headers = {"Authorization": f"Bearer {key}"}
                one = client.post("/v1/screen", json={"address": LAZARUS}, headers=headers)
                assert one.status_code == 200 and one.json()["risk"] == "severe"
                batch = client.post(
                    "/v1/screen",
                    json={"addresses": [{"address": CLEAN}, {"address": LAZARUS}]},
                    headers={"X-API-Key": key},
                )
                assert [r["risk"] for r in batch.json()["results"]] == ["none", "severe"]
                assert client.get("/v1/lists").status_code == 401
                docs = client.get("/openapi.json").json()
                assert "/v1/screen" in docs["paths"]
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    assert process.returncode == 0
    # Shutting down wrote the queued audit entries.
    audited = sorted((e.address, e.risk) for e in state.audit())
    assert audited == sorted([(LAZARUS, "severe"), (CLEAN, "none"), (LAZARUS, "severe")])
    state.close()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if "path" in line]
    assert {(r["method"], r["path"], r["status"]) for r in requests} >= {
        ("POST", "/v1/screen", 200),
        ("GET", "/v1/lists", 401),
    }
    assert all(
        r.get("partner") == "upbit"
        for r in requests
        if r["status"] == 200 and r["path"] == "/v1/screen"
    )
    text = log.read_text()
    assert key not in text and key.split("_", 2)[2] not in text

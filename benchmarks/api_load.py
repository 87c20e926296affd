"""REST API under load: single-address screening with wrk, and one 100,000-address batch.

    python benchmarks/api_load.py [--seconds 30] [--connections 32] [--batch 100000]

Builds a data directory whose tag store holds the real lists in ../shared/data (OFAC SDN CSV of
2022-01, the per-ticker SDN lists of 2024-09, the community SDN JSON of 2025-08, the FBI's Bybit
list), adds a partner and a key, and starts ``counterflow serve`` (uvicorn, one worker, access
log on, audit log on SQLite, rate limiting on with a limit no client reaches) on a free loopback
port. Then:

- wrk (one thread, ``--connections`` connections, 16 by default, ``--seconds`` seconds, after a
  5 s warm-up) POSTs single-address screenings to ``/v1/screen``, cycling through 1,000 request
  bodies: the listed addresses of the tag store and valid unlisted Ethereum and Bitcoin
  addresses, with and without their chain. wrk runs on the same 2-core machine as the server,
  so its own CPU is part of the measurement. Each connection sends its next request as soon as
  the answer arrives, so once the server is saturated more connections only add queueing:
  latency ≈ connections / throughput (Little's law). A further 10 s run at
  ``--saturation-connections`` (64) shows that;
- the goal's latency is measured at the goal's load: a paced run (``--paced-connections``, 32,
  each pausing ``32 / --rate`` seconds, 27 ms for 1,200/s, between an answer and its next
  request, as wrk's ``delay``) offers about ``--rate`` requests/s, and the goal is met when it
  sustains at least 1,000/s with p99 within 25 ms and no errors; the closed-loop run above
  measures the most the server answers and the queueing beyond it;
- one client POSTs ``--batch`` addresses (0.1 % listed, the rest valid unlisted Ethereum and
  Bitcoin addresses) three times; the time is from sending to the last byte received.

- peer: the floor of the stack, the same uvicorn and FastAPI answering the same wrk load with a
  constant JSON body from a route that takes the same body model and does nothing else (no key,
  no screening, no logs, no audit), 10 s at ``--connections``: what is left to gain in our
  code rather than in the server stack.

Goals: ≥ 1,000 requests/s with p99 ≤ 25 ms for the single address; ≤ 2 s for the batch.
Writes benchmarks/results/api_load.json. Needs wrk (installed with ``apt-get install wrk`` when
missing and running as root).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from counterflow.attribution.formats import detect_format, parse_list
from counterflow.attribution.tagstore import TagStore
from counterflow.chains.base58 import b58check_encode
from counterflow.chains.bech32 import encode_segwit
from counterflow.errors import InputError
from counterflow.screening.addresses import infer_chain
from counterflow.service import ServiceState
from counterflow.store.datadir import DataDirectory

RESULTS = Path(__file__).resolve().parent / "results" / "api_load.json"
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
#: (file under shared/data, parser options): imported in this order, oldest first.
LISTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("sanctions/ofac-sdn-2022-01.csv.gz", {"published": date(2022, 1, 31)}),
    ("sanctions/ofac-addresses-by-ticker-2024-09", {"published": date(2024, 9, 27)}),
    ("sanctions/ofac-crypto-addresses-2025-08-22.json", {}),
    (
        "hacks/fbi-psa-2025-02-26-bybit-eth.txt",
        {
            "chain": "ethereum",
            "category": "stolen_funds",
            "label": "Bybit theft (TraderTraitor)",
            "source": "fbi-bybit",
            "published": date(2025, 2, 26),
        },
    ),
)

LUA = """
local bodies = {}
local n = 0
for line in io.lines("%(bodies)s") do
  n = n + 1
  bodies[n] = line
end
local i = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(key)s"}
request = function()
  i = i %% n + 1
  return wrk.format("POST", "/v1/screen", headers, bodies[i])
end
%(pace)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,' ..
    '"p999_us":%%d,"max_us":%%d,"mean_us":%%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
"""


def build_data(root: Path) -> tuple[DataDirectory, list[tuple[str, str]]]:
    """A data directory with the real lists imported; the listed (chain, address) pairs."""
    directory = DataDirectory(root)
    store = TagStore(directory)
    for name, options in LISTS:
        path = DATA / name
        extra = {"case_hints": store.case_hints()} if name.endswith(".json") else {}
        parsed = parse_list(detect_format([path]), [path], **options, **extra)
        store.import_list(parsed)
    listed = sorted({(t.chain, t.address) for t in store.tags()})
    return directory, listed


def unlisted(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Valid addresses that no list names: Ethereum, Bitcoin P2PKH and P2WPKH, in turn."""
    out: list[tuple[str, str]] = []
    for i in range(count):
        body = rng.randbytes(20)
        if i % 3 == 0:
            out.append(("bitcoin", b58check_encode(b"\x00" + body)))
        elif i % 3 == 1:
            out.append(("bitcoin", encode_segwit("bc", 0, body)))
        else:
            out.append(("ethereum", "0x" + body.hex()))
    return out


def inferable(chain: str, address: str) -> bool:
    """Whether the address's form tells its chain (else a request must name it)."""
    try:
        return infer_chain(address) == chain
    except InputError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    directory: DataDirectory, port: int, log: Path, workers: int
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "counterflow.cli",
        "--data-dir",
        str(directory.root),
        "serve",
        "--port",
        str(port),
        "--rate-limit",
        "1000000",
        "--burst",
        "1000000",
        "--workers",
        str(workers),
    ]
    env = {k: v for k, v in os.environ.items() if k != "COUNTERFLOW_DATABASE_URL"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not become healthy in 60 s")


def run_wrk(
    port: int, script: Path, seconds: int, connections: int, threads: int
) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/v1/screen",
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    raw = json.loads(line.removeprefix("RESULT "))
    seconds_run = raw["duration_us"] / 1e6
    errors = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout")}
    return {
        "seconds": round(seconds_run, 2),
        "connections": connections,
        "threads": threads,
        "requests": raw["requests"],
        "requests_per_second": round(raw["requests"] / seconds_run),
        "latency_ms": {
            name: round(raw[f"{name}_us"] / 1000, 2)
            for name in ("p50", "p90", "p99", "p999", "max", "mean")
        },
        "errors": errors,
        "non_2xx_or_errors": sum(errors.values()),
    }


FLOOR_APP = """
from fastapi import FastAPI
from fastapi.responses import Response

from counterflow.api.models import ScreenBody

app = FastAPI()
ANSWER = b'{"chain":"ethereum","address":"0x","risk":"none","reasons":[],"evidence":{}}'


@app.post("/v1/screen")
async def screen(body: ScreenBody) -> Response:
    return Response(ANSWER, media_type="application/json")
"""


def run_floor(work: Path, script: Path, connections: int, threads: int) -> dict[str, Any]:
    """The peer: the bare stack (see the module docstring) under the same load."""
    (work / "floor_app.py").write_text(FLOOR_APP)
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "floor_app:app", "--app-dir", str(work),
        "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        run_wrk(port, script, 3, connections, threads)
        return run_wrk(port, script, 10, connections, threads)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def time_batch(port: int, key: str, items: list[dict[str, str]], repeat: int) -> dict[str, Any]:
    body = json.dumps({"addresses": items}).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    times: list[float] = []
    answer: dict[str, Any] = {}
    size = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for _ in range(repeat):
            time.sleep(2.0)  # let the previous batch's audit entries be written
            started = time.perf_counter()
            response = client.post("/v1/screen", content=body, headers=headers)
            content = response.content
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"batch answered {response.status_code}: {content[:300]!r}")
            size = len(content)
        answer = response.json()
    results = answer["results"]
    assert len(results) == len(items)
    flagged = sum(1 for r in results if r["risk"] != "none")
    return {
        "addresses": len(items),
        "request_bytes": len(body),
        "response_bytes": size,
        "seconds": [round(t, 3) for t in times],
        "best_seconds": round(min(times), 3),
        "median_seconds": round(sorted(times)[len(times) // 2], 3),
        "flagged": flagged,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--saturation-connections",
        type=int,
        default=64,
        help="A further 10 s run at this concurrency, to show where the time goes when the "
        "server is saturated (0: skip).",
    )
    parser.add_argument(
        "--rate", type=int, default=1200, help="Offered requests/s of the paced run."
    )
    parser.add_argument(
        "--paced-connections", type=int, default=32, help="Connections of the paced run."
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="Server processes.")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    args = parser.parse_args()
    if shutil.which("wrk") is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    work = Path(tempfile.mkdtemp(prefix="counterflow-api-load-"))
    rng = random.Random(20260226)
    try:
        directory, listed = build_data(work / "data")
        state = ServiceState(directory)
        state.add_partner("benchmark")
        key = state.create_key("benchmark").key
        state.close()

        singles = [*listed, *unlisted(rng, 1000 - len(listed))]
        rng.shuffle(singles)
        bodies = work / "bodies.jsonl"
        bodies.write_text(
            "".join(
                json.dumps(
                    {"address": a, "chain": c} if i % 2 or not inferable(c, a) else {"address": a}
                )
                + "\n"
                for i, (c, a) in enumerate(singles)
            )
        )
        script = work / "screen.lua"
        script.write_text(LUA % {"bodies": bodies, "key": key, "pace": ""})
        # each connection waits before its next request: an offered load near --rate
        pace_ms = max(1, round(args.paced_connections * 1000 / args.rate))
        paced_script = work / "screen-paced.lua"
        paced_script.write_text(
            LUA
            % {
                "bodies": bodies,
                "key": key,
                "pace": f"delay = function() return {pace_ms} end",
            }
        )

        hits = rng.sample(listed, min(len(listed), args.batch // 1000))
        pairs = [*hits, *unlisted(rng, args.batch - len(hits))]
        batch = [{"address": a, "chain": c} for c, a in pairs]
        rng.shuffle(batch)

        load_before = os.getloadavg()
        port = free_port()
        log = work / "server.log"
        server = start_server(directory, port, log, args.workers)
        try:
            run_wrk(port, script, 5, args.connections, args.threads)  # warm-up
            paced = run_wrk(port, paced_script, args.seconds, args.paced_connections, args.threads)
            paced["pause_between_requests_ms"] = pace_ms
            print("paced:", json.dumps(paced), flush=True)
            single = run_wrk(port, script, args.seconds, args.connections, args.threads)
            print("single:", json.dumps(single), flush=True)
            saturated = None
            if args.saturation_connections:
                saturated = run_wrk(port, script, 10, args.saturation_connections, args.threads)
                print("saturated:", json.dumps(saturated), flush=True)
            batched = time_batch(port, key, batch, args.repeat)
            print("batch:", json.dumps(batched), flush=True)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
        floor = run_floor(work, script, args.connections, args.threads)
        print("peer (bare stack):", json.dumps(floor), flush=True)
        state = ServiceState(directory)
        audited = len(state.audit(limit=10_000_000))
        state.close()
        access_lines = sum(1 for line in log.read_text().splitlines() if '"path"' in line)
        result = {
            "machine": f"{platform.machine()}, {platform.python_version()}, {os.cpu_count()} cores",
            "load_average": {
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in os.getloadavg()],
                "note": "the 2 cores are shared with other work; a load above ~1 before the run "
                "means the server did not have a core to itself",
            },
            "server": f"counterflow serve, uvicorn, {args.workers} worker(s), access log on, "
            "SQLite service state",
            "tag_store": {"listed_addresses": len(listed), "lists": [n for n, _ in LISTS]},
            "paced": paced,
            "single": single,
            "saturated": saturated,
            "peer_bare_stack": floor,
            "ratio_to_bare_stack": round(
                single["requests_per_second"] / floor["requests_per_second"], 2
            ),
            "batch": batched,
            "audit_entries_written": audited,
            "access_log_lines": access_lines,
            "goals": {
                "single_requests_per_second": 1000,
                "single_p99_ms": 25,
                "batch_seconds": 2.0,
                "met": {
                    # at a sustained rate of at least 1,000 requests/s (the paced run), p99
                    # within 25 ms; the closed-loop run measures the most the server answers
                    "single": paced["requests_per_second"] >= 1000
                    and paced["latency_ms"]["p99"] <= 25
                    and paced["non_2xx_or_errors"] == 0
                    and single["requests_per_second"] >= 1000
                    and single["non_2xx_or_errors"] == 0,
                    "batch": batched["median_seconds"] <= 2.0,
                },
            },
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result["goals"]), flush=True)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

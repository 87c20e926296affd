"""A real Ethereum node for tests: ganache (pinned, from npm, in .cache/node), and solc for it.

``scripts/setup.sh`` installs both into ``.cache/node``. A test that needs the node fails (it
does not skip) when they are missing or ganache does not start, saying what to run.

Use::

    with Ganache.start() as node:          # deterministic accounts, one block per transaction
        a, b = node.accounts[:2]
        tx = node.send(a, b, value=10**18)  # mined at once; returns the transaction hash
        receipt = node.receipt(tx)
        snap = node.snapshot()              # evm_snapshot: an id
        ...
        node.revert(snap)                   # evm_revert: back to the snapshot (ids after it die)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
from Crypto.Hash import keccak

REPO = Path(__file__).resolve().parents[2]
NODE_BIN = REPO / ".cache" / "node" / "node_modules" / ".bin"
GANACHE_VERSION = "7.9.2"
SOLC_VERSION = "0.8.26"
#: The chain id ganache is started with, so the node passes for Ethereum mainnet.
CHAIN_ID = 1
#: A minimal ERC-20 (``transfer`` with its event, a payable ``forward``): see :class:`Token`.
TOKEN_SOURCE = Path(__file__).parent / "data" / "Token.sol"
SETUP_HINT = (
    "run scripts/setup.sh, or: npm install --prefix .cache/node "
    f"ganache@{GANACHE_VERSION} solc@{SOLC_VERSION}"
)


def selector(signature: str) -> str:
    """The 4-byte function selector of ``signature`` (``"transfer(address,uint256)"``)."""
    return keccak.new(data=signature.encode(), digest_bits=256).hexdigest()[:8]


def word(value: int | str) -> str:
    """One ABI word: an int or an address, left-padded to 32 bytes, without ``0x``."""
    number = int(value, 16) if isinstance(value, str) else value
    return f"{number:064x}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RpcError(Exception):
    """The node refused a call."""


class Ganache:
    """One running ganache process on a free loopback port."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log
        self._http = httpx.Client(timeout=30)
        self._ids = 0
        self.accounts: list[str] = []

    @classmethod
    def start(cls, *extra: str, timeout: float = 60.0) -> Ganache:
        """Start ganache (deterministic wallet, instamine, chain id 1); fail if it cannot."""
        binary = NODE_BIN / "ganache"
        if not binary.exists():
            pytest.fail(f"ganache is not installed at {binary}: {SETUP_HINT}", pytrace=False)
        port = _free_port()
        log = Path(tempfile.mkstemp(prefix="ganache-", suffix=".log")[1])
        args = [
            str(binary),
            "--server.host=127.0.0.1",
            f"--server.port={port}",
            "--wallet.deterministic=true",
            f"--chain.chainId={CHAIN_ID}",
            "--miner.instamine=eager",
            "--logging.quiet=true",
            *extra,
        ]
        with open(log, "wb") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        node = cls(process, f"http://127.0.0.1:{port}/", log)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                text = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"ganache exited with {process.returncode}: {text}", pytrace=False)
            try:
                node.accounts = node.call("eth_accounts")
                return node
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    node.stop()
                    pytest.fail(f"ganache did not answer on {node.url} in {timeout}s")
                time.sleep(0.2)

    def stop(self) -> None:
        self._http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)

    def __enter__(self) -> Ganache:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- calls ------------------------------------------------------------------------------
    def call(self, method: str, *params: Any) -> Any:
        self._ids += 1
        body = {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": list(params)}
        answer = self._http.post(self.url, json=body).json()
        if "error" in answer:
            raise RpcError(f"{method}: {answer['error'].get('message')}")
        return answer["result"]

    def send(
        self,
        sender: str,
        to: str | None = None,
        *,
        value: int = 0,
        data: str = "0x",
        gas: int = 3_000_000,
    ) -> str:
        """Send a transaction from an unlocked account; with ``gas`` given, one that reverts
        is mined too (status 0) instead of refused at estimation."""
        tx: dict[str, Any] = {"from": sender, "value": hex(value), "data": data, "gas": hex(gas)}
        if to is not None:
            tx["to"] = to
        tx_hash: str = self.call("eth_sendTransaction", tx)
        return tx_hash

    def receipt(self, tx_hash: str) -> dict[str, Any]:
        receipt: dict[str, Any] = self.call("eth_getTransactionReceipt", tx_hash)
        return receipt

    def balance(self, address: str) -> int:
        return int(self.call("eth_getBalance", address, "latest"), 16)

    def tip(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    # -- snapshots (for reorganisation tests) -------------------------------------------------
    def snapshot(self) -> str:
        """``evm_snapshot``: an id to revert to; the chain state and blocks as they are now."""
        snap: str = self.call("evm_snapshot")
        return snap

    def revert(self, snapshot: str) -> None:
        """``evm_revert``: drop every block mined since ``snapshot``.

        New blocks then reuse the heights with other hashes, which is what a reorganisation
        looks like to a follower. A snapshot is used up by reverting to it (and so are the
        ones taken after it); take a new one to go back again.
        """
        if not self.call("evm_revert", snapshot):
            raise RpcError(f"evm_revert: snapshot {snapshot} is unknown or already used")

    def mine(self, blocks: int = 1) -> None:
        """Mine empty blocks (``evm_mine``), e.g. to build a longer competing branch."""
        for _ in range(blocks):
            self.call("evm_mine")


def compile_solidity(source: Path) -> dict[str, dict[str, Any]]:
    """Compile ``source`` with the pinned solcjs: per contract, its bytecode and selectors.

    Targets the Paris EVM (no PUSH0), which every node ganache emulates runs.
    """
    solc = REPO / ".cache" / "node" / "node_modules" / "solc"
    if not (solc / "package.json").exists():
        pytest.fail(f"solc (solcjs) is not installed at {solc}: {SETUP_HINT}", pytrace=False)
    standard = {
        "language": "Solidity",
        "sources": {source.name: {"content": source.read_text(encoding="utf-8")}},
        "settings": {
            "evmVersion": "paris",
            "optimizer": {"enabled": False},
            "outputSelection": {"*": {"*": ["evm.bytecode.object", "evm.methodIdentifiers"]}},
        },
    }
    script = (
        "const solc = require(process.argv[1]);"
        "let input = '';"
        "process.stdin.on('data', d => input += d);"
        "process.stdin.on('end', () => process.stdout.write(solc.compile(input)));"
    )
    done = subprocess.run(
        ["node", "-e", script, str(solc)],
        input=json.dumps(standard).encode(),
        capture_output=True,
        check=False,
        timeout=300,
        env={**os.environ, "NODE_OPTIONS": ""},
    )
    if done.returncode != 0:
        pytest.fail(f"solcjs failed: {done.stderr.decode(errors='replace')[-2000:]}")
    output = json.loads(done.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        pytest.fail("; ".join(e["formattedMessage"] for e in errors))
    contracts: dict[str, dict[str, Any]] = {}
    for name, contract in output["contracts"][source.name].items():
        contracts[name] = {
            "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
            "selectors": contract["evm"]["methodIdentifiers"],
        }
    return contracts


@cache
def _token_contract() -> tuple[str, tuple[tuple[str, str], ...]]:
    contract = compile_solidity(TOKEN_SOURCE)["Token"]
    return contract["bytecode"], tuple(contract["selectors"].items())


@dataclass(frozen=True)
class Token:
    """``data/Token.sol`` deployed on a node: the deployer holds 2**200 units."""

    node: Ganache
    address: str
    deploy_tx: str
    selectors: dict[str, str]

    @classmethod
    def deploy(cls, node: Ganache, owner: str) -> Token:
        """Deploy the token from ``owner`` (one block); compiled once per test session."""
        bytecode, selectors = _token_contract()
        tx = node.send(owner, data=bytecode)
        address = str(node.receipt(tx)["contractAddress"]).lower()
        return cls(node, address, tx, dict(selectors))

    def calldata(self, signature: str, *args: int | str) -> str:
        return "0x" + self.selectors[signature] + "".join(word(a) for a in args)

    def transfer(self, sender: str, to: str, amount: int, **options: Any) -> str:
        """``transfer(to, amount)`` from ``sender``; ``options`` go to :meth:`Ganache.send`."""
        data = self.calldata("transfer(address,uint256)", to, amount)
        return self.node.send(sender, self.address, data=data, **options)

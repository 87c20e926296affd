"""``counterflow ingest CHAIN --rpc URL``: end to end through a loopback JSON-RPC server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_bitcoin_rpc import Recordings

from counterflow.cli import main
from rpc_server import rpc_server


@pytest.fixture(scope="module")
def samples(shared_data: Path) -> Path:
    path = shared_data / "chain" / "bitcoin-etl-samples" / "test_export_blocks_job" / "bitcoin"
    if not path.is_dir():
        pytest.skip(f"reference data not present: {path}")
    return path


def test_ingest_from_a_node_resumes_and_reports_one_json_document(
    samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recordings = Recordings([samples / "block_0", samples / "block_1"])
    store = str(tmp_path / "data")
    with rpc_server(recordings.answer) as url:
        secret = url.replace("http://", "http://alice:s3cret@")
        args = ["--data-dir", store, "ingest", "bitcoin", "--rpc", secret, "--json"]
        assert main([*args, "--confirmations", "0", "--to-block", "0"]) == 0
        first = json.loads(capsys.readouterr().out)
        assert main([*args, "--confirmations", "0", "--batch-blocks", "1"]) == 0
        second = json.loads(capsys.readouterr().out)
    assert (first["last_height"], first["blocks"], first["stopped"]) == (0, 1, "to_block")
    assert (second["first_height"], second["last_height"], second["blocks"]) == (1, 1, 1)
    assert second["last_hash"] == recordings.hashes[1]
    assert "s3cret" not in json.dumps([first, second]) and first["node"] == url


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["exports/"], "give no PATHS"),
        (["--blocks"], "give no PATHS"),
        (["--skip-invalid"], "give no PATHS"),
        (["--follow", "--to-block", "5"], "cannot be combined with --to-block"),
        (["--traces", "none"], "--traces applies to EVM chains"),
        (["--rpc-cookie", "/nonexistent/.cookie"], "cannot read the RPC cookie file"),
        (["--confirmations", "-1"], "confirmations must be 0 or more"),
        (["--follow", "--poll-seconds", "-1"], "poll seconds 0 or more"),
    ],
)
def test_rpc_option_errors(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--data-dir", str(tmp_path / "data"), "ingest", "bitcoin", "--rpc"]
    code = main([*args, "http://127.0.0.1:9/", *extra])
    assert code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--follow"], "--follow apply only with --rpc URL"),
        (["--poll-seconds", "5"], "--poll-seconds apply only with --rpc URL"),
        (["--from-block", "3", "--confirmations", "1"], "--confirmations, --from-block apply"),
        ([], "give export files or folders (PATHS)"),
    ],
)
def test_node_options_without_rpc(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path / "data"), "ingest", "bitcoin", *extra]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow  # the client retries with back-off before it gives up
def test_unreachable_node_is_named_without_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--data-dir", str(tmp_path / "data"), "ingest", "bitcoin"]
    code = main([*args, "--rpc", "http://bob:hunter2@127.0.0.1:9/", "--json"])
    err = capsys.readouterr().err
    assert code == 5 and "127.0.0.1:9" in err and "hunter2" not in err

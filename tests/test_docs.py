"""Docs and code cannot drift: every command, chain and transfer kind is documented."""

from __future__ import annotations

from pathlib import Path

from counterflow.chains.registry import CHAINS
from counterflow.cli import cli
from counterflow.store.schema import ALL_TABLES, TransferKind

REPO = Path(__file__).resolve().parents[1]


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for name in cli.commands:
        assert f"counterflow {name}" in readme or f"`{name}`" in readme, name


def test_every_subcommand_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for name, command in cli.commands.items():
        for sub in getattr(command, "commands", {}):
            assert f"counterflow {name} {sub}" in readme, f"{name} {sub}"


def test_every_transfer_kind_is_in_the_model_doc() -> None:
    model = (REPO / "docs" / "value-flow-model.md").read_text()
    for kind in TransferKind:
        assert f"`{kind.name.lower()}` ({int(kind)})" in model or f"`{kind.name.lower()}`" in model


def test_every_table_is_in_the_store_doc() -> None:
    store = (REPO / "docs" / "store.md").read_text()
    for table in ALL_TABLES:
        assert f"`{table}`" in store, table


def test_every_chain_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for chain in CHAINS:
        assert f"`{chain}`" in readme, chain


def test_test_modules_have_unique_names() -> None:
    """Test folders are not packages, so pytest imports modules by basename: two alike clash."""
    seen: dict[str, Path] = {}
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        assert path.name not in seen, f"{path} and {seen[path.name]} share a name"
        seen[path.name] = path

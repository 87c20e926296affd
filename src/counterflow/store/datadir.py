"""The data directory: Parquet parts made visible by an atomically replaced manifest.

Layout::

    DATA_DIR/
      counterflow.json                  format marker
      .lock                             held by the one writer at a time
      chains/CHAIN/manifest.json        the committed state of CHAIN
      chains/CHAIN/parts/COMMIT/TABLE/  Parquet files written by one commit
      rejects/                          rows quarantined by --skip-invalid

Invariant: a reader sees exactly the parts the manifest lists. A writer writes a new commit's
parts into a fresh folder, then replaces ``manifest.json`` with ``os.replace`` (atomic on POSIX).
A crash at any point before that leaves the previous manifest, and so the previous store, intact;
folders no manifest lists are leftovers of such a crash and are removed by the next writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from counterflow.errors import StoreError
from counterflow.store.schema import ALL_TABLES, REPLACE_TABLES

FORMAT_VERSION = 1
DEFAULT_DATA_DIR = "counterflow-data"


def default_data_dir() -> Path:
    """``$COUNTERFLOW_DATA_DIR`` if set, else ``./counterflow-data``."""
    return Path(os.environ.get("COUNTERFLOW_DATA_DIR") or DEFAULT_DATA_DIR)


@dataclass
class Manifest:
    """The committed state of one chain: its parts, id counters and ingest history."""

    chain: str
    parts: dict[str, list[str]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)

    def files(self, table: str) -> list[str]:
        return list(self.parts.get(table, []))

    def next_id(self, counter: str) -> int:
        return self.next_ids.get(counter, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "chain": self.chain,
            "parts": self.parts,
            "next_ids": self.next_ids,
            "commits": self.commits,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path) -> Manifest:
        if data.get("format") != FORMAT_VERSION:
            raise StoreError(
                f"{path}: store format {data.get('format')!r} is not {FORMAT_VERSION}; "
                "this data directory was written by another version of Counterflow"
            )
        return cls(
            chain=str(data["chain"]),
            parts={k: list(v) for k, v in data.get("parts", {}).items()},
            next_ids={k: int(v) for k, v in data.get("next_ids", {}).items()},
            commits=list(data.get("commits", [])),
        )


class DataDirectory:
    """One data directory on disk. Cheap to construct; touches the disk only when used."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_data_dir()

    # -- layout ---------------------------------------------------------------------------
    def chain_dir(self, chain: str) -> Path:
        return self.root / "chains" / chain

    def manifest_path(self, chain: str) -> Path:
        return self.chain_dir(chain) / "manifest.json"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    def chains(self) -> list[str]:
        """Chains that have a committed manifest, in name order."""
        base = self.root / "chains"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "manifest.json").is_file())

    # -- reading --------------------------------------------------------------------------
    def manifest(self, chain: str) -> Manifest:
        path = self.manifest_path(chain)
        if not path.is_file():
            return Manifest(chain=chain)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: cannot read the manifest: {exc}") from exc
        return Manifest.from_json(data, path)

    def table_files(self, chain: str, table: str, manifest: Manifest | None = None) -> list[Path]:
        """Absolute paths of the committed Parquet files of ``table``.

        Pass the ``manifest`` read once to see every table of one snapshot.
        """
        snapshot = manifest if manifest is not None else self.manifest(chain)
        return [self.chain_dir(chain) / rel for rel in snapshot.files(table)]

    # -- writing --------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self, chain: str) -> Iterator[PendingCommit]:
        """Hold the write lock and yield a commit under construction.

        Nothing becomes visible unless the block completes and :meth:`PendingCommit.publish`
        was called; on an exception the commit's folder is removed and the store is unchanged.
        """
        with self.locked():
            self._collect_garbage(chain)
            pending = PendingCommit(self, chain)
            try:
                yield pending
            finally:
                if not pending.published:
                    shutil.rmtree(pending.folder, ignore_errors=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the data directory's one writer lock (chains and the tag store share it)."""
        self._ensure_root()
        lock_path = self.root / ".lock"
        with open(lock_path, "a+") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreError(
                    f"{self.root}: another Counterflow process is writing to this data directory"
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _ensure_root(self) -> None:
        marker = self.root / "counterflow.json"
        if marker.is_file():
            try:
                fmt = json.loads(marker.read_text(encoding="utf-8")).get("format")
            except ValueError as exc:
                raise StoreError(f"{marker}: not a Counterflow data directory marker") from exc
            if fmt != FORMAT_VERSION:
                raise StoreError(f"{marker}: store format {fmt!r} is not {FORMAT_VERSION}")
            return
        if self.root.exists() and any(self.root.iterdir()):
            raise StoreError(
                f"{self.root} exists and is not a Counterflow data directory; "
                "choose another --data-dir"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(marker, {"format": FORMAT_VERSION})

    def _collect_garbage(self, chain: str) -> None:
        """Remove what no manifest lists: leftovers of an interrupted write, rolled-back parts."""
        parts_root = self.chain_dir(chain) / "parts"
        if not parts_root.is_dir():
            return
        manifest = self.manifest(chain)
        listed = {rel for files in manifest.parts.values() for rel in files}
        live = {Path(rel).parts[1] for rel in listed}
        for folder in parts_root.iterdir():
            if folder.name not in live:
                shutil.rmtree(folder, ignore_errors=True)
        # A rollback leaves single parts out of commits whose other parts stay listed.
        for commit in manifest.commits:
            for rel in commit.get("dropped", []):
                if rel not in listed:
                    (self.chain_dir(chain) / rel).unlink(missing_ok=True)


class PendingCommit:
    """A commit being written: new parts go to its own folder until :meth:`publish`."""

    def __init__(self, directory: DataDirectory, chain: str) -> None:
        self.directory = directory
        self.chain = chain
        self.base = directory.manifest(chain)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.commit_id = f"{stamp}-{uuid.uuid4().hex[:8]}"
        self.folder = directory.chain_dir(chain) / "parts" / self.commit_id
        self.published = False
        self._new_parts: dict[str, list[str]] = {}
        self._dropped_parts: dict[str, set[str]] = {}

    def table_folder(self, table: str) -> Path:
        folder = self.folder / table
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def add_part_files(self, table: str, files: list[Path]) -> None:
        """Record files (inside this commit's folder) as new parts of ``table``."""
        if table not in ALL_TABLES:
            raise StoreError(f"unknown table {table!r}")
        chain_dir = self.directory.chain_dir(self.chain)
        rels = [str(f.relative_to(chain_dir)) for f in files]
        self._new_parts.setdefault(table, []).extend(sorted(rels))

    def drop_part_files(self, table: str, rels: list[str]) -> None:
        """Leave committed parts of ``table`` (as the base manifest names them) out of this commit.

        A rollback rewrites the parts that hold rows it removes; the old files stay on disk,
        listed by the previous manifest, until the next writer collects them.
        """
        if table not in ALL_TABLES:
            raise StoreError(f"unknown table {table!r}")
        self._dropped_parts.setdefault(table, set()).update(rels)

    def publish(self, next_ids: dict[str, int], record: dict[str, Any]) -> Manifest:
        """Make the commit visible: fsync its files, then swap the manifest in one rename."""
        parts = {
            k: [rel for rel in v if rel not in self._dropped_parts.get(k, set())]
            for k, v in self.base.parts.items()
        }
        dropped: dict[str, list[str]] = {}
        if self._dropped_parts:
            dropped["dropped"] = sorted(r for rels in self._dropped_parts.values() for r in rels)
        replaced = {t.name for t in REPLACE_TABLES}
        for table, rels in self._new_parts.items():
            if table in replaced:
                parts[table] = rels
            else:
                parts.setdefault(table, []).extend(rels)
        manifest = Manifest(
            chain=self.chain,
            parts=parts,
            next_ids={**self.base.next_ids, **next_ids},
            commits=[*self.base.commits, {"commit": self.commit_id, **record, **dropped}],
        )
        _fsync_tree(self.folder)
        atomic_write_json(self.directory.manifest_path(self.chain), manifest.to_json())
        self.published = True
        return manifest


def atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _fsync_tree(folder: Path) -> None:
    """Flush a commit's files and the directory entries that name them, up to the chain."""
    if not folder.exists():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    directories = [p for p in sorted(folder.rglob("*"), reverse=True) if p.is_dir()]
    directories += [folder, folder.parent, folder.parent.parent]
    for directory in directories:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

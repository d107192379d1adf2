"""A consistent backup of a node's data directory while the node serves, and its restore.

What a backup holds, and how each part is copied consistently beside a running node (which
holds RocksDB's lock and keeps writing):
- the log (`ledger/`) and every replica of a child's log (`replicas/<slug>/log/`): each from a
  read-only RocksDB snapshot (no lock: one consistent moment) copied key by key into a new
  store (`RocksDBLogStore.copy_to`), then opened normally, which checks it, and the own log
  verified (`verify_log`). RocksDB's Checkpoint cannot serve here: made from a read-only
  instance in another process, it leaves out whatever the node has not flushed.
- the log first, then the SQLite stores (`DataDir.sqlite_stores`: the sealed identities, the
  officer accounts), each with SQLite's online backup API. A sealed identity is durable before
  the entry that commits to it, so every entry in the copied log finds its identity in the
  later copy of the sealed store.
- every other file as it is: keys, TLS material, node.toml, federation.toml, the web secret,
  revocation records. They are small and replaced whole (written, then renamed), so a copy
  reads one version.
- not copied: the query indexes (`index.sqlite3`, and an aggregating node's index over its
  replicas, `replicas/aggregate.sqlite3`), derived from the logs and rebuilt by the restore;
  the high-water mark, which the restore writes from the copied log; the storage alerts, which
  are about the old disk; temporary files.
- `manifest.json`, written last (a backup without one is incomplete): the node, the log's size
  and latest checkpoint, each replica, and every file's size and SHA-256; and the blobs copied
  whose bytes no longer hash to their names (`damaged_blobs`: damaged on the node's disk; the
  backup is made all the same, and says so).

A restore goes into a new directory only (it refuses to overwrite a node), checks every file
against the manifest, copies them owner-only, points a default index at its new place, writes
the mark, verifies the log and builds the index. Started, the restored node first fetches from
its parent what the backup lacked (`node/runtime.py` `reconcile_with_parent`). What the parent
never holds stays with the backup: the sealed identities and accounts made after it.

Must never: write into the directory it backs up; restore over an existing node.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from federation.replicas import META_ORIGIN
from federation.trust.files import write_private
from ledger.errors import InputError, StoreError, UsageError, VerificationError
from ledger.log import first_key, verify_log
from ledger.mark import HighWaterMark, MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from node.config import AGGREGATE_NAME, INDEX_NAME, OWN_INDEX_URL, DataDir, NodeConfig, parse_config
from node.station.blobs import BLOBS_DIR
from node.station.core import Station
from node.station.scrub import ALERTS_NAME, check_sqlite

MANIFEST: Final = "manifest.json"
FORMAT: Final = "cctns-backup/1"
_SQLITE_WORKING: Final = ("-wal", "-shm", "-journal")
_CHUNK: Final = 1 << 20
_BLOB_PATH: Final = re.compile(rf"^{BLOBS_DIR}/[0-9a-f]{{2}}/[0-9a-f]{{2}}/[0-9a-f]{{64}}$")


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What a backup or a restore holds: the log's size, replicas, SQLite stores, files."""

    path: Path
    ledger_size: int
    replicas: int
    sqlite_stores: int
    files: int
    # Blobs copied whose bytes no longer hash to their names (damaged on the node's disk before
    # the backup): named so the operator repairs them (`cctns node repair-blobs`).
    damaged_blobs: tuple[str, ...] = ()


def backup(data_dir: DataDir, out: Path) -> BackupSummary:
    """Copies the node in `data_dir` (serving or not) into the new directory `out`."""
    config = data_dir.load_config()
    public_key = bytes(data_dir.load_key().verify_key)
    if out.exists():
        raise UsageError(f"{out} exists: a backup goes to a new directory")
    if out.resolve().is_relative_to(data_dir.path.resolve()):
        raise InputError(f"{out} is inside the data directory it would back up")
    out.mkdir(mode=0o700, parents=True)
    logs = _rocksdb_stores(data_dir)
    # The own log first: the sealed store copied after it holds every identity it commits to.
    ledger = _copy_log(data_dir.ledger_path, out / "ledger")
    with RocksDBLogStore.open(out / "ledger", create=False) as copied:
        verify_log(copied, first_key(copied, public_key), config.origin)
        latest = copied.latest_checkpoint()
    replicas: dict[str, dict[str, Any]] = {}
    for store in logs:
        if store != data_dir.ledger_path:
            name = str(store.relative_to(data_dir.path))
            replicas[name] = _copy_log(store, out / name)
    stores = data_dir.sqlite_stores()
    for path in stores:
        _copy_sqlite(path, out / path.relative_to(data_dir.path))
    skipped = {*logs, *stores}
    for path in _plain_files(data_dir.path, skipped):
        _copy_file(path, out / path.relative_to(data_dir.path))
    digests = {str(path.relative_to(out)): _digest(path) for path in sorted(_files(out))}
    # A blob's name is its SHA-256: the file's digest, just computed, says whether it is whole.
    damaged = tuple(
        name
        for name, found in digests.items()
        if _BLOB_PATH.match(name) and found["sha256"] != Path(name).name
    )
    manifest = {
        "format": FORMAT,
        "node_id": config.node_id,
        "origin": config.origin,
        "source": str(data_dir.path.resolve()),
        "ledger": {
            "size": ledger["size"],
            "checkpoint": latest[1].decode("utf-8") if latest else "",
        },
        "replicas": replicas,
        "sqlite": [str(path.relative_to(data_dir.path)) for path in stores],
        "files": digests,
        "damaged_blobs": list(damaged),
    }
    write_private(out / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))
    DataDir(out).secure()  # RocksDB made its files with the caller's umask
    return BackupSummary(out, ledger["size"], len(replicas), len(stores), len(digests), damaged)


def restore(source: Path, data_dir: DataDir) -> BackupSummary:
    """Restores the backup in `source` into the new data directory `data_dir`."""
    target = data_dir.path
    if target.exists() and any(target.iterdir()):
        held = "holds a node" if data_dir.exists() else "is not empty"
        raise UsageError(f"{target} {held}: a restore goes into a new directory only")
    manifest = _manifest(source)
    files: dict[str, dict[str, Any]] = manifest["files"]
    for name, expected in files.items():
        if _digest(_inside(source, name)) != expected:
            raise VerificationError(f"the backup's {name} does not match its manifest: damaged")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    for name in files:
        _copy_file(_inside(source, name), _inside(target, name))
    config = _rehome_index(data_dir, Path(manifest["source"]))
    note = str(manifest["ledger"]["checkpoint"]).encode("utf-8")
    public_key = bytes(data_dir.load_key().verify_key)
    with RocksDBLogStore.open(data_dir.ledger_path, create=False) as store:
        latest = store.latest_checkpoint()
        if latest is None or latest[1] != note:
            raise VerificationError("the restored log does not end at the manifest's checkpoint")
        verify_log(store, first_key(store, public_key), config.origin)
        mark = MarkFile(data_dir.mark_path)
        try:
            mark.write(HighWaterMark(*latest))
        finally:
            mark.close()
    if config.index_url == data_dir.default_index_url():
        Station.open(data_dir).close()  # builds the index; appends nothing to a written log
    data_dir.secure()  # RocksDB and SQLite made their files with the caller's umask
    return BackupSummary(
        target,
        int(manifest["ledger"]["size"]),
        len(manifest["replicas"]),
        len(manifest["sqlite"]),
        len(files),
    )


# -- the parts -----------------------------------------------------------------------------------


def _rocksdb_stores(data_dir: DataDir) -> list[Path]:
    """The node's RocksDB stores: its log, then each replica (a directory holding CURRENT)."""
    found = [path.parent for path in data_dir.path.rglob("CURRENT") if path.is_file()]
    return sorted(found, key=lambda path: (path != data_dir.ledger_path, str(path)))


def _copy_log(store: Path, target: Path) -> dict[str, Any]:
    """A consistent copy of the RocksDB store `store` (read-only snapshot), checked."""
    with RocksDBLogStore.open(store, audit=True) as snapshot:
        snapshot.copy_to(target)
    with RocksDBLogStore.open(target, create=False) as copied:  # a normal open checks it
        origin = (copied.meta(META_ORIGIN) or b"").decode("utf-8")
        return {"size": copied.size(), "origin": origin}


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database beside its writer (the online backup API)."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        writer = sqlite3.connect(target)
        try:
            reader.backup(writer)
        finally:
            writer.close()
            reader.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {source}: {exc}") from exc
    check_sqlite(target)


def _plain_files(root: Path, skipped: set[Path]) -> Iterator[Path]:
    """The files of `root` copied as they are: all but the stores copied on their own, their
    working files, the indexes, the mark, the storage alerts and temporary files."""
    for folder, folders, names in os.walk(root):
        here = Path(folder)
        folders[:] = [name for name in folders if here / name not in skipped]
        for name in names:
            path = here / name
            base = name.removesuffix(next((s for s in _SQLITE_WORKING if name.endswith(s)), ""))
            if (
                here / base in skipped
                or base in (INDEX_NAME, AGGREGATE_NAME)
                or path == root / "ledger.mark"
                or path == root / ALERTS_NAME
                or name.endswith(".tmp")
                or not path.is_file()
            ):
                continue
            yield path


def _copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with source.open("rb") as reader:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as writer:
            shutil.copyfileobj(reader, writer, _CHUNK)
            writer.flush()
            os.fsync(writer.fileno())


def _files(root: Path) -> Iterator[Path]:
    return (path for path in root.rglob("*") if path.is_file())


def _digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        for chunk in iter(lambda: reader.read(_CHUNK), b""):
            digest.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _inside(root: Path, name: str) -> Path:
    """`root / name`, refusing a name from a manifest that would leave `root`."""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()) or Path(name).is_absolute():
        raise InputError(f"the manifest names {name!r}, outside the backup")
    return path


def _manifest(source: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{source} holds no {MANIFEST}: not a backup, or an incomplete one"
        ) from None
    except (ValueError, OSError) as exc:
        raise InputError(f"{source / MANIFEST} cannot be read: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise InputError(f"{source / MANIFEST} is not a {FORMAT} manifest")
    return manifest


def _rehome_index(data_dir: DataDir, source: Path) -> NodeConfig:
    """node.toml, its index moved to the restored directory when it was the old directory's
    default (any other index URL is kept: it is not part of the backup)."""
    config = parse_config(data_dir.config_path.read_text("utf-8"), str(data_dir.config_path))
    if config.index_url == DataDir(source).default_index_url():
        config = dataclasses.replace(config, index_url=OWN_INDEX_URL)
        write_private(data_dir.config_path, config.to_toml().encode("utf-8"))
    return data_dir.load_config()


__all__ = ["MANIFEST", "BackupSummary", "backup", "restore"]

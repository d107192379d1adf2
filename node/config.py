"""A node's configuration: its data directory, node.toml and federation.toml, validated on load.

Everything in a data directory is its owner's only: directories 0700, files 0600 (keys,
RocksDB and SQLite files, TLS keys, the web secret, the mark). The `cctns` command runs with
umask 077, so what any library creates is born that way; files this code makes are created with
those modes explicitly; and a node tightens whatever it finds looser when it starts
(`DataDir.secure`).

Layout of a data directory:
    node.toml          configuration, validated on load with one message per mistake
    federation.toml    where the node listens and the peers it knows (once it has joined)
    keys/node.ed25519  the 32-byte signing seed, readable by the owner only
    tls/               the node's certificate and TLS key (`cctns ca enrol`)
    ledger/            the RocksDB log
    ledger.mark        the log's high-water mark: its latest checkpoint note, outside RocksDB
    index.sqlite3      the default query index (any SQLAlchemy URL may be configured instead)

federation.toml:

    listen = "127.0.0.1:7101"
    parent = "kerala/ernakulam-city/dpo"          # optional: the office that replicates us

    [[peers]]
    node_id = "kerala/ernakulam-city/ps-kalamassery"
    address = "127.0.0.1:7102"
    role = "station"
    origin = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
    ledger_key = "base64 of the Ed25519 public key"
    follow = true                                  # replicate this peer's log (a child)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.signing

from federation.interfaces import PeerAddress
from federation.trust.files import write_private
from federation.trust.identity import ORIGIN, ROLES
from ledger.errors import InputError, UsageError

CONFIG_NAME = "node.toml"
FEDERATION_NAME = "federation.toml"
KEY_PATH = Path("keys") / "node.ed25519"
INDEX_NAME = "index.sqlite3"  # a query index's file name, the node's and each replica's


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Validated contents of node.toml."""

    node_id: str
    origin: str
    role: str
    district: str
    station: str
    index_url: str

    def to_toml(self) -> str:
        """The configuration as TOML text (all values are plain strings)."""
        lines = [f"{name} = {_toml_string(getattr(self, name))}" for name in self.__slots__]
        return "# cctns node configuration\n" + "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def validate_origin(origin: str) -> str:
    """Returns the origin if it is a valid log origin line, else raises InputError."""
    if not ORIGIN.match(origin):
        raise InputError(
            f"origin {origin!r} must look like cctns.in/kerala/ernakulam-city/ps-kalamassery "
            "(lower-case letters, digits, '.', '-', '_' in '/'-separated parts)"
        )
    return origin


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from exc


def parse_config(text: str, source: str = CONFIG_NAME) -> NodeConfig:
    """Parses and validates node.toml text; InputError lists every problem."""
    raw = _toml(text, source)
    problems: list[str] = []
    values: dict[str, str] = {}
    for name in NodeConfig.__slots__:
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{source}: '{name}' must be a non-empty string")
        else:
            values[name] = value
    for name in sorted(set(raw) - set(NodeConfig.__slots__)):
        problems.append(f"{source}: unknown setting '{name}'")
    if "origin" in values and not ORIGIN.match(values["origin"]):
        problems.append(f"{source}: origin {values['origin']!r} is not a valid log origin")
    if "role" in values and values["role"] not in ROLES:
        problems.append(f"{source}: role {values['role']!r} is not one of {', '.join(ROLES)}")
    if problems:
        raise InputError(
            f"{source}: " + "; ".join(p.removeprefix(f"{source}: ") for p in problems), problems
        )
    return NodeConfig(**values)


class DataDir:
    """A node's data directory."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_NAME

    @property
    def ledger_path(self) -> Path:
        return self.path / "ledger"

    @property
    def mark_path(self) -> Path:
        """The log's high-water mark (`ledger/mark.py`), beside the store, never inside it."""
        return self.path / "ledger.mark"

    @property
    def key_path(self) -> Path:
        return self.path / KEY_PATH

    def default_index_url(self) -> str:
        return f"sqlite:///{(self.path / INDEX_NAME).resolve()}"

    @property
    def federation_path(self) -> Path:
        return self.path / FEDERATION_NAME

    def exists(self) -> bool:
        return self.config_path.exists()

    def federated(self) -> bool:
        """Whether this node has joined a federation (federation.toml and a certificate)."""
        return self.federation_path.exists() and (self.path / "tls").exists()

    def sqlite_stores(self) -> list[Path]:
        """The SQLite databases here that hold what nothing else does (the sealed identities,
        the officer accounts, any store added later): every `*.sqlite3` but the query indexes
        (`index.sqlite3`), which are derived from logs and rebuilt."""
        return sorted(
            path
            for path in self.path.rglob("*.sqlite3")
            if path.name != INDEX_NAME and path.is_file()
        )

    def secure(self) -> list[Path]:
        """Takes group and other permissions off the data directory and everything in it
        (symbolic links are left alone); returns the paths it had to tighten."""
        tightened: list[Path] = []
        for root, _, files in os.walk(self.path):
            for path in (Path(root), *(Path(root) / name for name in files)):
                status = path.lstat()
                if stat.S_ISLNK(status.st_mode) or not stat.S_IMODE(status.st_mode) & 0o077:
                    continue
                path.chmod(stat.S_IMODE(status.st_mode) & 0o700)
                tightened.append(path)
        return tightened

    def load_config(self) -> NodeConfig:
        """Reads node.toml; UsageError when the directory holds no node."""
        if not self.config_path.exists():
            raise UsageError(
                f"{self.path} holds no node (no {CONFIG_NAME}): run `cctns node init --data-dir "
                f"{self.path}` first"
            )
        return parse_config(self.config_path.read_text("utf-8"), str(self.config_path))

    def load_key(self) -> nacl.signing.SigningKey:
        """The node's signing key; UsageError when missing or malformed."""
        try:
            seed = self.key_path.read_bytes()
        except FileNotFoundError as exc:
            raise UsageError(f"no signing key at {self.key_path}") from exc
        if len(seed) != 32:
            raise UsageError(f"{self.key_path} must hold a 32-byte Ed25519 seed")
        return nacl.signing.SigningKey(seed)

    def create(
        self,
        *,
        origin: str | None = None,
        role: str = "station",
        district: str = "",
        station: str = "",
        index_url: str | None = None,
    ) -> NodeConfig:
        """Makes a new node here: a fresh key and node.toml. Refuses to overwrite a node."""
        if self.exists() or self.key_path.exists():
            raise UsageError(f"{self.path} already holds a node; refusing to overwrite it")
        if role not in ROLES:
            raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
        key = nacl.signing.SigningKey.generate()
        public = bytes(key.verify_key)
        if origin is None:
            origin = f"cctns.in/local/node-{hashlib.sha256(public).hexdigest()[:12]}"
        validate_origin(origin)
        node_id = origin.split("/", 1)[1]
        config = NodeConfig(
            node_id=node_id,
            origin=origin,
            role=role,
            district=district or "unassigned",
            station=station or node_id.rsplit("/", 1)[-1],
            index_url=index_url or self.default_index_url(),
        )
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        self.key_path.parent.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.key_path.parent, 0o700)
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(key))
            handle.flush()
            os.fsync(handle.fileno())
        write_private(self.config_path, config.to_toml().encode("utf-8"))
        return config


# --- federation.toml ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerEntry:
    """One known peer."""

    address: PeerAddress
    follow: bool = False


@dataclass(frozen=True, slots=True)
class FederationConfig:
    """Validated federation.toml."""

    listen: str
    parent: str = ""
    peers: tuple[PeerEntry, ...] = field(default_factory=tuple)

    def peer(self, node_id: str) -> PeerEntry:
        for entry in self.peers:
            if entry.address.node_id == node_id:
                return entry
        raise InputError(f"no peer {node_id!r} in {FEDERATION_NAME}")

    def to_toml(self) -> str:
        lines = [f'listen = "{self.listen}"']
        if self.parent:
            lines.append(f'parent = "{self.parent}"')
        for entry in self.peers:
            peer = entry.address
            lines += [
                "",
                "[[peers]]",
                f'node_id = "{peer.node_id}"',
                f'address = "{peer.address}"',
                f'role = "{peer.role}"',
                f'origin = "{peer.origin}"',
                f'ledger_key = "{base64.b64encode(peer.ledger_key).decode()}"',
                f"follow = {'true' if entry.follow else 'false'}",
            ]
        return "\n".join(lines) + "\n"


def _address(value: object, where: str, problems: list[str]) -> str:
    if not isinstance(value, str) or ":" not in value or not value.rsplit(":", 1)[1].isdigit():
        problems.append(f"{where}: address must be host:port, got {value!r}")
        return ""
    return value


def parse_federation(text: str, source: str = FEDERATION_NAME) -> FederationConfig:
    """Parses federation.toml; InputError lists every problem."""
    raw = _toml(text, source)
    problems: list[str] = []
    listen = _address(raw.get("listen"), f"{source}: listen", problems)
    parent = raw.get("parent", "")
    if not isinstance(parent, str):
        problems.append(f"{source}: parent must be a node id")
        parent = ""
    peers: list[PeerEntry] = []
    for number, item in enumerate(raw.get("peers", []), 1):
        where = f"{source}: peer {number}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a table")
            continue
        node_id = item.get("node_id")
        if not isinstance(node_id, str) or not node_id:
            problems.append(f"{where}: node_id is required")
            continue
        role = item.get("role", "station")
        if role not in ROLES:
            problems.append(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
        try:
            key = base64.b64decode(str(item.get("ledger_key", "")), validate=True)
        except binascii.Error:
            key = b""
        if len(key) != 32:
            problems.append(f"{where}: ledger_key must be a base64 Ed25519 public key")
        address = _address(item.get("address"), where, problems)
        peers.append(
            PeerEntry(
                PeerAddress(
                    node_id=node_id,
                    address=address,
                    role=str(role),
                    origin=str(item.get("origin", "")),
                    ledger_key=key,
                ),
                follow=bool(item.get("follow", False)),
            )
        )
    if problems:
        raise InputError("; ".join(problems), problems)
    return FederationConfig(listen=listen, parent=parent, peers=tuple(peers))


def load_federation(data_dir: DataDir) -> FederationConfig:
    """The node's federation.toml; InputError when missing or wrong."""
    path = data_dir.federation_path
    if not path.exists():
        raise InputError(f"{path} is missing: this node has not joined a federation")
    return parse_federation(path.read_text("utf-8"), str(path))


def save_federation(data_dir: DataDir, config: FederationConfig) -> None:
    write_private(data_dir.federation_path, config.to_toml().encode("utf-8"))

"""A node's data directory: configuration (one TOML file), its Ed25519 key, and where things live.

Layout of a data directory:
    node.toml          configuration, validated on load with one message per mistake
    keys/node.ed25519  the 32-byte signing seed, readable by the owner only
    ledger/            the RocksDB log
    index.sqlite3      the default query index (any SQLAlchemy URL may be configured instead)
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nacl.signing

from federation.trust.identity import ORIGIN, ROLES
from ledger.errors import InputError, UsageError

CONFIG_NAME = "node.toml"
KEY_PATH = Path("keys") / "node.ed25519"


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


def parse_config(text: str, source: str = CONFIG_NAME) -> NodeConfig:
    """Parses and validates node.toml text; InputError lists every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from exc
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
    def key_path(self) -> Path:
        return self.path / KEY_PATH

    def default_index_url(self) -> str:
        return f"sqlite:///{(self.path / 'index.sqlite3').resolve()}"

    def exists(self) -> bool:
        return self.config_path.exists()

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
        self.key_path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.key_path.parent, 0o700)
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(key))
            handle.flush()
            os.fsync(handle.fileno())
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(config.to_toml(), "utf-8")
        os.replace(tmp, self.config_path)
        return config

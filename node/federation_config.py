"""federation.toml: where a node listens, and the peers it knows (validated on load).

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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from federation.interfaces import PeerAddress
from federation.trust.identity import ROLES
from ledger.errors import InputError
from node.config import DataDir

FILE_NAME = "federation.toml"


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
        raise InputError(f"no peer {node_id!r} in {FILE_NAME}")

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


def parse_federation(text: str, source: str = FILE_NAME) -> FederationConfig:
    """Parses federation.toml; InputError lists every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from exc
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
    path: Path = data_dir.path / FILE_NAME
    if not path.exists():
        raise InputError(f"{path} is missing: this node has not joined a federation")
    return parse_federation(path.read_text("utf-8"), str(path))


def save_federation(data_dir: DataDir, config: FederationConfig) -> None:
    path = data_dir.path / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(config.to_toml(), "utf-8")
    tmp.replace(path)

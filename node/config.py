"""A node's configuration: its data directory, node.toml and federation.toml, validated on load.

Everything in a data directory is its owner's only: directories 0700, files 0600 (keys,
RocksDB and SQLite files, TLS keys, the web secret, the mark). The `cctns` command runs with
umask 077, so what any library creates is born that way; files this code makes are created with
those modes explicitly; and a node tightens whatever it finds looser when it starts
(`DataDir.secure`).

Layout of a data directory:
    node.toml          configuration, validated on load with one message per mistake (its
                       optional [limits] table: rate limits and quotas, see `Limits`;
                       [metrics]: who may read GET /metrics besides this machine, `Metrics`;
                       [witness]: what answers from other offices are held to, `Witnessing`)
    federation.toml    where the node listens and the peers it knows (once it has joined)
    standby.toml       present while this directory is a standby: it follows its node's
                       primary and never appends (docs/disaster-recovery.md)
    keys/node.ed25519  the 32-byte signing seed, readable by the owner only
    keys/node.ed25519.next   only during a key rotation: the key the log is being handed to
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
import ipaddress
import os
import stat
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

import nacl.signing

from federation.interfaces import PeerAddress
from federation.quota import parse_limit
from federation.replication_loop import MAX_BACKOFF
from federation.trust.files import fsync_directory, write_private
from federation.trust.identity import ORIGIN, ROLES
from ledger.errors import InputError, UsageError
from ledger.log import key_fingerprint

CONFIG_NAME = "node.toml"
FEDERATION_NAME = "federation.toml"
STANDBY_NAME = "standby.toml"
KEY_PATH = Path("keys") / "node.ed25519"
NEXT_KEY_PATH = Path("keys") / "node.ed25519.next"


@dataclass(frozen=True, slots=True)
class Limits:
    """The [limits] table of node.toml: rate limits and quotas, each as the `limits` library
    writes one ("5/minute;20/hour": every window must have room; see `federation.quota`).
    A "per client" limit counts one address (an IPv6 address by its /64), a "total" one every
    caller together. Over a limit the caller is answered 429 with Retry-After (gRPC:
    RESOURCE_EXHAUSTED) and nothing is done. Each default has its reason beside it (and in
    docs/web.md, "Rate limits").
    """

    # Complaints, e-FIRs, missing-person reports, service requests, grievances: each is a
    # permanent entry in the log. A citizen files one or two; a common service centre (Akshaya)
    # files for many people from one address, so 20 an hour.
    portal_submissions: str = "5/minute;20/hour;100/day"
    # A station's portal takes a handful a day; 120 an hour is far above any real day and holds
    # a flood to 2,880 permanent entries a day (one client wrote 8,800 a minute without it).
    portal_submissions_total: str = "20/minute;120/hour"
    # Status lookups (page and API share the budget): a citizen checks a few times; guessing a
    # receipt together with its mobile number takes thousands of tries.
    portal_lookups: str = "10/minute;60/hour"
    # Lookups write nothing but read the index and the log: 5 a second for everyone together
    # (one client made 200 a second without it).
    portal_lookups_total: str = "300/minute"
    # An FIR copy is a PDF drawn on the server (tens of ms of CPU each).
    portal_fir_copies: str = "5/minute;20/hour"
    portal_fir_copies_total: str = "60/minute"
    # Every password or code posted from one address. A station's officers share one address,
    # and a change of shift signs dozens in within minutes.
    login_attempts_per_client: str = "30/minute"
    # Failed sign-ins from one address, whichever accounts they named: slows an outsider
    # trying passwords across accounts without locking any officer out (each account's own
    # lock is 5 failures for 15 minutes, node/web/auth.py).
    login_failures_per_client: str = "10/minute;30/hour"
    # FetchRecord, Search and HitNoHit of one peer: each writes a permanent audit entry. A
    # supervising office fans its officers' searches out to every station; 60 a minute covers
    # that, and bounds one peer to 43,200 audit entries a day (a lab made 163 a second).
    peer_audited_calls: str = "60/minute;1800/hour"


_LIMIT_NAMES = tuple(f.name for f in fields(Limits))

#: The longest allowance `late_entry_minutes` may be set to: an entry typed a little after the
#: event, hours at most, never days (docs/registers.md).
MAX_LATE_ENTRY_MINUTES = 12 * 60
DEFAULT_LATE_ENTRY_MINUTES = 30


@dataclass(frozen=True, slots=True)
class Registers:
    """The [registers] table of node.toml.

    `late_entry_minutes`: how far behind the station's clock a register entry's given time may
    lie (a GD entry typed a little after the event, an FIR whose registration time is the
    moment the information was taken down). Older times are refused: registers are written as
    things happen, never back-dated; past records come in through an import, marked as such.
    """

    late_entry_minutes: int = DEFAULT_LATE_ENTRY_MINUTES


INDEX_NAME = "index.sqlite3"  # a query index's file name, the node's and each replica's
# node.toml's index_url for the data directory's own index: SQLAlchemy's relative SQLite form,
# read relative to the data directory (`DataDir.load_config`), so that a directory copied or
# moved as a whole keeps an index of its own rather than writing into the original's.
OWN_INDEX_URL = f"sqlite:///{INDEX_NAME}"
# An aggregating node's one index over its replicas (node/peers/replica_index.py), in replicas/.
AGGREGATE_NAME = "aggregate.sqlite3"


@dataclass(frozen=True, slots=True)
class Metrics:
    """The [metrics] table of node.toml: who may read the node's Prometheus metrics (GET
    /metrics) besides the node's own machine (loopback always may): `allow` lists addresses
    and networks, "10.20.0.5" or "10.20.0.0/24" (docs/operators.md)."""

    allow: tuple[str, ...] = ()

    def allows(self, address: str) -> bool:
        """Whether a client at `address` may read the metrics."""
        try:
            client = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
            client = client.ipv4_mapped
        if client.is_loopback:
            return True
        return any(client in ipaddress.ip_network(net, strict=False) for net in self.allow)


@dataclass(frozen=True, slots=True)
class Witnessing:
    """The [witness] table of node.toml: what this node, as a reader of other offices' logs,
    holds their answers to (federation/witness.py, docs/federation-queries.md).

    `max_age_minutes`: a log's newest cosignature by its parent may be at most this old (the
    parent cosigns each checkpoint it verifies, every poll; older means the parent has not
    seen the log lately). `stale_after_minutes`: a part of an answer made from a replica older
    than this is flagged stale. `gossip_minutes`: how often the newest checkpoints seen are
    handed to the parent (0: never).
    """

    max_age_minutes: int = 60
    stale_after_minutes: int = 30
    gossip_minutes: int = 5


# The most each [witness] setting may be: a week of minutes (a day between gossips).
_WITNESS_MOST: Final = {
    "max_age_minutes": 7 * 24 * 60,
    "stale_after_minutes": 7 * 24 * 60,
    "gossip_minutes": 24 * 60,
}


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Validated contents of node.toml."""

    node_id: str
    origin: str
    role: str
    district: str
    station: str
    index_url: str
    # District, state and national nodes: the one index over their replicas (SQLAlchemy URL,
    # PostgreSQL for state and national nodes); "" keeps it in replicas/aggregate.sqlite3.
    aggregate_url: str = ""
    limits: Limits = field(default_factory=Limits)
    registers: Registers = field(default_factory=Registers)
    metrics: Metrics = field(default_factory=Metrics)
    witness: Witnessing = field(default_factory=Witnessing)

    def to_toml(self) -> str:
        """The configuration as TOML text; [limits] only where it differs from the defaults."""
        lines = [f"{name} = {_toml_string(getattr(self, name))}" for name in _SETTINGS]
        if self.aggregate_url:
            lines.append(f"aggregate_url = {_toml_string(self.aggregate_url)}")
        defaults = Limits()
        changed = [n for n in _LIMIT_NAMES if getattr(self.limits, n) != getattr(defaults, n)]
        if changed:
            lines += ["", "[limits]"]
            lines += [f"{name} = {_toml_string(getattr(self.limits, name))}" for name in changed]
        if self.registers != Registers():
            minutes = self.registers.late_entry_minutes
            lines += ["", "[registers]", f"late_entry_minutes = {minutes}"]
        if self.metrics.allow:
            allowed = ", ".join(_toml_string(net) for net in self.metrics.allow)
            lines += ["", "[metrics]", f"allow = [{allowed}]"]
        if self.witness != Witnessing():
            lines += ["", "[witness]"]
            lines += [f"{n} = {getattr(self.witness, n)}" for n in _WITNESS_MOST]
        return "# cctns node configuration\n" + "\n".join(lines) + "\n"


# The plain settings of node.toml (strings), as opposed to its tables.
_SETTINGS = ("node_id", "origin", "role", "district", "station", "index_url")


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
    for name in _SETTINGS:
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{source}: '{name}' must be a non-empty string")
        else:
            values[name] = value
    aggregate_url = raw.get("aggregate_url", "")
    if not isinstance(aggregate_url, str) or ("aggregate_url" in raw and not aggregate_url.strip()):
        problems.append(f"{source}: 'aggregate_url' must be a non-empty string when set")
        aggregate_url = ""
    known = {*_SETTINGS, "aggregate_url", "limits", "registers", "metrics", "witness"}
    for name in sorted(set(raw) - known):
        problems.append(f"{source}: unknown setting '{name}'")
    if "origin" in values and not ORIGIN.match(values["origin"]):
        problems.append(f"{source}: origin {values['origin']!r} is not a valid log origin")
    if "role" in values and values["role"] not in ROLES:
        problems.append(f"{source}: role {values['role']!r} is not one of {', '.join(ROLES)}")
    limits = _limits(raw.get("limits", {}), source, problems)
    registers = _registers(raw.get("registers", {}), source, problems)
    metrics = _metrics(raw.get("metrics", {}), source, problems)
    witness = _witness(raw.get("witness", {}), source, problems)
    if problems:
        raise InputError(
            f"{source}: " + "; ".join(p.removeprefix(f"{source}: ") for p in problems), problems
        )
    return NodeConfig(
        **values,
        aggregate_url=aggregate_url,
        limits=limits,
        registers=registers,
        metrics=metrics,
        witness=witness,
    )


def _witness(table: object, source: str, problems: list[str]) -> Witnessing:
    """The [witness] table: whole numbers of minutes, each within its bound."""
    if not isinstance(table, dict):
        problems.append(f"{source}: [witness] must be a table")
        return Witnessing()
    for name in sorted(set(table) - set(_WITNESS_MOST)):
        problems.append(
            f"{source}: witness.{name}: unknown setting (known: {', '.join(_WITNESS_MOST)})"
        )
    values: dict[str, int] = {}
    for name, most in _WITNESS_MOST.items():
        value = table.get(name, getattr(Witnessing(), name))
        least = 0 if name == "gossip_minutes" else 1
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            problems.append(
                f"{source}: witness.{name} must be a whole number of minutes from {least} to {most}"
            )
            continue
        values[name] = value
    return Witnessing(**values)


def _metrics(table: object, source: str, problems: list[str]) -> Metrics:
    """The [metrics] table: `allow`, a list of IP addresses or networks."""
    if not isinstance(table, dict):
        problems.append(f"{source}: [metrics] must be a table")
        return Metrics()
    for name in sorted(set(table) - {"allow"}):
        problems.append(f"{source}: metrics.{name}: unknown setting (known: allow)")
    allow = table.get("allow", [])
    if not isinstance(allow, list) or not all(isinstance(net, str) for net in allow):
        problems.append(f'{source}: metrics.allow must be a list of addresses, ["10.20.0.0/24"]')
        return Metrics()
    good = []
    for net in allow:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            problems.append(f"{source}: metrics.allow: {net!r} is not an IP address or network")
        else:
            good.append(net)
    return Metrics(tuple(good))


def _registers(table: object, source: str, problems: list[str]) -> Registers:
    """The [registers] table; defaults where it is silent."""
    if not isinstance(table, dict):
        problems.append(f"{source}: [registers] must be a table")
        return Registers()
    for name in sorted(set(table) - {"late_entry_minutes"}):
        problems.append(f"{source}: registers.{name}: unknown setting")
    minutes = table.get("late_entry_minutes", DEFAULT_LATE_ENTRY_MINUTES)
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 0 <= minutes <= MAX_LATE_ENTRY_MINUTES
    ):
        problems.append(
            f"{source}: registers.late_entry_minutes must be a whole number of minutes from 0 "
            f"to {MAX_LATE_ENTRY_MINUTES}"
        )
        return Registers()
    return Registers(late_entry_minutes=minutes)


def _limits(table: object, source: str, problems: list[str]) -> Limits:
    """The [limits] table: each a rate limit `federation.quota` can count; defaults elsewhere."""
    if not isinstance(table, dict):
        problems.append(f"{source}: [limits] must be a table")
        return Limits()
    values: dict[str, str] = {}
    for name, value in table.items():
        where = f"{source}: limits.{name}"
        if name not in _LIMIT_NAMES:
            problems.append(f"{where}: unknown limit (known: {', '.join(_LIMIT_NAMES)})")
        elif not isinstance(value, str):
            problems.append(f'{where}: must be a string like "5/minute;20/hour"')
        else:
            try:
                parse_limit(value)
            except InputError as exc:
                problems.append(f"{where}: {exc}")
            else:
                values[name] = value
    return Limits(**values)


@dataclass(frozen=True, slots=True)
class StandbyConfig:
    """standby.toml: this directory holds a standby of its node, which never appends.

    `primary` is where the primary serves (host:port), followed by `cctns node standby`;
    `reason` says why a directory that was a primary became one (it was taken over).
    """

    primary: str
    reason: str = ""

    def to_toml(self) -> str:
        lines = [
            "# This directory is a standby: it follows its node's primary and never appends.",
            "# `cctns node standby` follows; `cctns node takeover` makes it the primary.",
            f"primary = {_toml_string(self.primary)}",
        ]
        if self.reason:
            lines.append(f"reason = {_toml_string(self.reason)}")
        return "\n".join(lines) + "\n"


def parse_standby(text: str, source: str = STANDBY_NAME) -> StandbyConfig:
    """Parses standby.toml; InputError lists every problem."""
    raw = _toml(text, source)
    problems: list[str] = []
    primary = _address(raw.get("primary"), f"{source}: primary", problems)
    reason = raw.get("reason", "")
    if not isinstance(reason, str):
        problems.append(f"{source}: reason must be a string")
        reason = ""
    for name in sorted(set(raw) - {"primary", "reason"}):
        problems.append(f"{source}: unknown setting '{name}'")
    if problems:
        raise InputError("; ".join(problems), problems)
    return StandbyConfig(primary=primary, reason=reason)


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

    @property
    def standby_path(self) -> Path:
        return self.path / STANDBY_NAME

    def standby(self) -> StandbyConfig | None:
        """standby.toml when this directory is a standby, else None."""
        try:
            text = self.standby_path.read_text("utf-8")
        except FileNotFoundError:
            return None
        return parse_standby(text, str(self.standby_path))

    def require_primary(self) -> None:
        """UsageError when this directory is a standby: nothing may append to its log here.

        Every writer of the node's own log passes this door (`Station.open`, and the runtime
        before it recovers entries from the parent): a standby that appended would sign a
        second history for its node."""
        standby = self.standby()
        if standby is None:
            return
        why = f" ({standby.reason})" if standby.reason else ""
        raise UsageError(
            f"{self.path} is a standby of its node, following the primary at "
            f"{standby.primary}{why}: it does not append. `cctns node standby` follows the "
            "primary; `cctns node takeover` makes this directory the primary"
        )

    def mark_standby(self, standby: StandbyConfig) -> None:
        """Writes standby.toml, durably: from now on nothing appends to the log here."""
        _write_durably(self.standby_path, standby.to_toml())

    def clear_standby(self) -> None:
        """Removes standby.toml, durably (the takeover's last step)."""
        self.standby_path.unlink(missing_ok=True)
        _sync_directory(self.path)

    def sqlite_stores(self) -> list[Path]:
        """The SQLite databases here that hold what nothing else does (the sealed identities,
        the officer accounts, any store added later): every `*.sqlite3` but the query indexes
        (`index.sqlite3`, `aggregate.sqlite3`), which are derived from logs and rebuilt."""
        return sorted(
            path
            for path in self.path.rglob("*.sqlite3")
            if path.name not in (INDEX_NAME, AGGREGATE_NAME) and path.is_file()
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
        config = parse_config(self.config_path.read_text("utf-8"), str(self.config_path))
        return replace(config, index_url=self.resolve_index_url(config.index_url))

    def resolve_index_url(self, url: str) -> str:
        """`url` with a relative SQLite path ("sqlite:///index.sqlite3") read relative to this
        directory rather than to the process's working directory; other URLs unchanged."""
        if not url.startswith("sqlite:///") or url.startswith("sqlite:////"):
            return url
        return f"sqlite:///{(self.path / url.removeprefix('sqlite:///')).resolve()}"

    def check_own_index(self, config: NodeConfig) -> None:
        """InputError when node.toml's index is a SQLite file in another node's directory (a
        directory copied from another node, or a standby copied from its primary, with an
        absolute index_url): it would index this log into the other node's index."""
        if not config.index_url.startswith("sqlite:///"):
            return
        folder = Path(config.index_url.removeprefix("sqlite:///")).parent
        if (folder / CONFIG_NAME).exists() and folder.resolve() != self.path.resolve():
            raise InputError(
                f"{self.config_path}: index_url points into another node's directory "
                f"({folder}): give this directory an index of its own, e.g. index_url = "
                f'"{OWN_INDEX_URL}"'
            )

    def load_key(self) -> nacl.signing.SigningKey:
        """The node's signing key; UsageError when missing or malformed."""
        try:
            seed = self.key_path.read_bytes()
        except FileNotFoundError as exc:
            raise UsageError(f"no signing key at {self.key_path}") from exc
        if len(seed) != 32:
            raise UsageError(f"{self.key_path} must hold a 32-byte Ed25519 seed")
        return nacl.signing.SigningKey(seed)

    # -- key rotation (docs/ledger.md, "Key rotation") -------------------------------------------
    # The new key is written to its own file, durably, before the log is handed over to it; the
    # key file is replaced by it (one rename) only after the hand-over is durable. A crash
    # between any two steps leaves files `key_in_force` sorts out from what the log says.

    @property
    def next_key_path(self) -> Path:
        return self.path / NEXT_KEY_PATH

    def load_next_key(self) -> nacl.signing.SigningKey | None:
        """The key a rotation is handing the log to, if one is under way (None when there is
        no such file, or a crash left it incomplete)."""
        try:
            seed = self.next_key_path.read_bytes()
        except FileNotFoundError:
            return None
        return nacl.signing.SigningKey(seed) if len(seed) == 32 else None

    def write_next_key(self, key: nacl.signing.SigningKey) -> None:
        """Keeps the key a rotation will hand the log to, owner-only and durable."""
        write_private(self.next_key_path, bytes(key))
        fsync_directory(self.next_key_path.parent)

    def key_in_force(self, public_key: bytes | None) -> nacl.signing.SigningKey:
        """The signing key whose public half is `public_key`, the key the log says it is signed
        with now (None: a log that never rotated, whose key is the key file's), finishing what
        a crash interrupted: a new key the log was handed over to replaces the key file; one it
        never was handed over to is deleted. UsageError when neither file holds that key."""
        current = self.load_key()
        pending = self.load_next_key()
        if public_key is None or bytes(current.verify_key) == public_key:
            if self.next_key_path.exists():
                self.next_key_path.unlink()  # a rotation that never reached the log
                fsync_directory(self.next_key_path.parent)
            return current
        if pending is not None and bytes(pending.verify_key) == public_key:
            os.replace(self.next_key_path, self.key_path)  # the old key goes with it
            fsync_directory(self.key_path.parent)
            return pending
        raise UsageError(
            f"the log is signed by key {key_fingerprint(public_key)} now, and {self.key_path} "
            f"holds {key_fingerprint(bytes(current.verify_key))}: this is not that node's key"
        )

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
            index_url=index_url or OWN_INDEX_URL,
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
        return replace(config, index_url=self.resolve_index_url(config.index_url))


def _write_durably(path: Path, text: str) -> None:
    """Replaces `path` with `text` atomically, on disk before returning (a power cut leaves
    the old file or the new one)."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _sync_directory(path.parent)


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    # How to reach the parent before its directory entry is known (`cctns federation join`).
    parent_address: str = ""
    # The longest wait between two attempts to reach an unreachable child (federation.toml
    # `retry_cap_seconds`): the most an outage adds to the lag once the link is back.
    retry_cap: float = MAX_BACKOFF

    def peer(self, node_id: str) -> PeerEntry:
        for entry in self.peers:
            if entry.address.node_id == node_id:
                return entry
        raise InputError(f"no peer {node_id!r} in {FEDERATION_NAME}")

    def to_toml(self) -> str:
        lines = [f'listen = "{self.listen}"']
        if self.parent:
            lines.append(f'parent = "{self.parent}"')
        if self.parent_address:
            lines.append(f'parent_address = "{self.parent_address}"')
        if self.retry_cap != MAX_BACKOFF:
            lines.append(f"retry_cap_seconds = {self.retry_cap:g}")
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
                *([f'parent = "{peer.parent}"'] if peer.parent else []),
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
                    parent=str(item.get("parent", "")),
                ),
                follow=bool(item.get("follow", False)),
            )
        )
    parent_address = ""
    if "parent_address" in raw:
        parent_address = _address(raw["parent_address"], f"{source}: parent_address", problems)
    retry_cap = _retry_cap(raw, source, problems)
    if problems:
        raise InputError("; ".join(problems), problems)
    return FederationConfig(
        listen=listen,
        parent=parent,
        peers=tuple(peers),
        parent_address=parent_address,
        retry_cap=retry_cap,
    )


def _retry_cap(raw: dict[str, Any], source: str, problems: list[str]) -> float:
    value = raw.get("retry_cap_seconds", MAX_BACKOFF)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 86_400:
        problems.append(f"{source}: retry_cap_seconds must be a number of seconds, 1 to 86400")
        return MAX_BACKOFF
    return float(value)


def load_federation(data_dir: DataDir) -> FederationConfig:
    """The node's federation.toml; InputError when missing or wrong."""
    path = data_dir.federation_path
    if not path.exists():
        raise InputError(f"{path} is missing: this node has not joined a federation")
    return parse_federation(path.read_text("utf-8"), str(path))


def save_federation(data_dir: DataDir, config: FederationConfig) -> None:
    write_private(data_dir.federation_path, config.to_toml().encode("utf-8"))

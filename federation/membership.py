"""Who belongs to the federation: the certificate hierarchy, node identities and revocations.

The national root key certifies one authority per state; a state authority certifies every office
of its state (the state's own SCRB node included); the root certifies the national node directly.
A node certificate is an ordinary X.509 certificate (ECDSA P-256, used for mutual TLS) whose
private extension binds the node's id, role, parent, address and Ed25519 ledger key.

Revocation is a signed JSON record made by the authority that issued the certificate (or the
root); it spreads to every node like any other record and is checked on every call.

Pure logic over `cryptography`: no I/O except the explicit save/load methods, no grpc, never
imports node/ (the role list is repeated here; a test keeps the two equal).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from cryptography.x509.verification import PolicyBuilder, Store
from cryptography.x509.verification import VerificationError as ChainRejected

from federation.interfaces import PeerIdentity
from ledger.errors import AuthenticationError, InputError, UsageError, VerificationError

# The same tuple as node.config.ROLES (federation may not import node/).
ROLES = (
    "station",
    "circle",
    "sub-division",
    "district",
    "control-room",
    "forensic-lab",
    "fingerprint-bureau",
    "state",
    "national",
)
# Private enterprise arc; 1.1 = the cctns node identity (a DER UTF8String of canonical JSON).
NODE_IDENTITY_OID = ObjectIdentifier("1.3.6.1.4.1.59999.1.1")
NODE_URI_PREFIX = "cctns:node:"
ROOT_COMMON_NAME = "cctns national root"
DEFAULT_ROOT_DAYS = 20 * 365
DEFAULT_STATE_DAYS = 10 * 365
DEFAULT_NODE_DAYS = 365
# Allowance for clocks that disagree a little; also how far back a new certificate starts.
CLOCK_SKEW = dt.timedelta(minutes=5)
_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
_STATE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(at: dt.datetime) -> dt.datetime:
    """An aware UTC datetime (naive ones are taken to be UTC already)."""
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the exact bytes that get signed or embedded."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _load_certs(data: bytes, what: str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one DER certificate."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise AuthenticationError(f"{what} is not a valid X.509 certificate: {exc}") from exc


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _is_ca(cert: x509.Certificate) -> tuple[bool, int | None]:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False, None
    return constraints.ca, constraints.path_length


def _der_utf8string(text: bytes) -> bytes:
    """DER encoding of a UTF8String (tag 12) holding `text`."""
    length = len(text)
    if length < 0x80:
        header = bytes([length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x80 | len(size)]) + size
    return b"\x0c" + header + text


def _parse_der_utf8string(der: bytes) -> bytes:
    if len(der) < 2 or der[0] != 0x0C:
        raise ValueError("not a UTF8String")
    first = der[1]
    if first < 0x80:
        length, start = first, 2
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            raise ValueError("bad DER length")
        length, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    if len(der) != start + length:
        raise ValueError("DER length does not match the content")
    return der[start:]


# -- authorities -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """A certificate authority: the national root, or one state's authority.

    `chain` holds the certificates above this one, nearest first, ending with the root; it is
    empty for the root itself.
    """

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def is_root(self) -> bool:
        return not self.chain

    @property
    def root_certificate(self) -> x509.Certificate:
        return self.chain[-1] if self.chain else self.certificate

    @property
    def root_pem(self) -> bytes:
        return _pem(self.root_certificate)

    @property
    def name(self) -> str:
        """The authority's subject, as RFC 4514 text: how revocations name their issuer."""
        return self.certificate.subject.rfc4514_string()

    @property
    def state(self) -> str:
        """The state this authority speaks for ('' for the national root)."""
        names = self.certificate.subject.get_attributes_for_oid(NameOID.STATE_OR_PROVINCE_NAME)
        value = names[0].value if names else ""
        return value if isinstance(value, str) else value.decode()

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Writes ca.crt, ca.key (owner-only) and, below the root, chain.pem; never overwrites."""
        path = Path(directory)
        key_path = path / "ca.key"
        if key_path.exists() or (path / "ca.crt").exists():
            raise UsageError(f"{path} already holds an authority; refusing to overwrite it")
        path.mkdir(parents=True, exist_ok=True)
        key_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(key_path, key_pem)
        _write_atomic(path / "ca.crt", _pem(self.certificate))
        if self.chain:
            bundle = b"".join(_pem(c) for c in (self.certificate, *self.chain))
            _write_atomic(path / "chain.pem", bundle)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Authority:
        """Reads an authority written by `save`; UsageError when it is missing or damaged."""
        path = Path(directory)
        try:
            key_pem = (path / "ca.key").read_bytes()
            cert_pem = (path / "ca.crt").read_bytes()
        except FileNotFoundError as exc:
            raise UsageError(
                f"{path} holds no authority (no {Path(exc.filename).name}): run "
                "`cctns ca init-root` or `cctns ca issue-state` first"
            ) from exc
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
            cert = x509.load_pem_x509_certificate(cert_pem)
            chain: list[x509.Certificate] = []
            if (path / "chain.pem").exists():
                chain = x509.load_pem_x509_certificates((path / "chain.pem").read_bytes())[1:]
        except ValueError as exc:
            raise UsageError(f"{path}: damaged authority files: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise UsageError(f"{path / 'ca.key'} is not an ECDSA key")
        if key.public_key() != cert.public_key():
            raise UsageError(f"{path}: ca.key does not belong to ca.crt")
        return cls(cert, key, tuple(chain))


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _ca_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer_key: ec.EllipticCurvePublicKey,
    *,
    path_length: int | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
    )


def create_root(
    common_name: str = ROOT_COMMON_NAME,
    valid_days: int = DEFAULT_ROOT_DAYS,
    *,
    not_before: dt.datetime | None = None,
) -> Authority:
    """A new self-signed national root (a fresh P-256 key); it may certify states only."""
    if valid_days <= 0:
        raise InputError("valid_days must be positive")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CCTNS"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    start = _utc(not_before) if not_before else _now() - CLOCK_SKEW
    cert = _ca_builder(
        name,
        name,
        key.public_key(),
        key.public_key(),
        path_length=1,
        not_before=start,
        not_after=start + dt.timedelta(days=valid_days),
    ).sign(key, hashes.SHA256())
    return Authority(cert, key)


def issue_state_authority(
    root: Authority,
    state: str,
    valid_days: int = DEFAULT_STATE_DAYS,
    *,
    not_before: dt.datetime | None = None,
) -> Authority:
    """A state authority certified by the national root: CA, path length 0 (offices only)."""
    if not root.is_root:
        raise UsageError("only the national root may certify a state authority")
    if not _STATE.match(state):
        raise InputError(f"state {state!r} must be lower-case letters, digits and '-'")
    if valid_days <= 0:
        raise InputError("valid_days must be positive")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CCTNS"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, state),
            x509.NameAttribute(NameOID.COMMON_NAME, f"cctns {state} state authority"),
        ]
    )
    start, end = _validity(root, not_before, valid_days)
    cert = _ca_builder(
        subject,
        root.certificate.subject,
        key.public_key(),
        root.private_key.public_key(),
        path_length=0,
        not_before=start,
        not_after=end,
    ).sign(root.private_key, hashes.SHA256())
    return Authority(cert, key, (root.certificate,))


def _validity(
    issuer: Authority, not_before: dt.datetime | None, valid_days: int
) -> tuple[dt.datetime, dt.datetime]:
    """The validity window, never reaching past the issuer's own expiry."""
    start = _utc(not_before) if not_before else _now() - CLOCK_SKEW
    end = min(start + dt.timedelta(days=valid_days), issuer.certificate.not_valid_after_utc)
    if end <= start:
        raise InputError("the certificate would expire before it starts (issuer expiry?)")
    return start, end


# -- node certificates -----------------------------------------------------------------------


@dataclass(frozen=True)
class NodeAddress:
    """A parsed "host:port"; `ip` is set when the host is an IP literal."""

    host: str
    port: int
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None


def parse_address(address: str) -> NodeAddress:
    """Parses "host:port", "[v6]:port"; InputError when it is neither."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"address {address!r} must be host:port (port 1-65535)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
        if not re.match(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*$", host):
            raise InputError(f"address {address!r}: {host!r} is not a host name") from None
    return NodeAddress(host.lower() if ip is None else host, int(port_text), ip)


@dataclass(frozen=True)
class NodeCredentials:
    """What a node needs for mutual TLS, as PEM: its key, its chain, the national root."""

    key_pem: bytes
    chain_pem: bytes  # leaf first, then its issuers, without the root
    root_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.chain_pem)

    @property
    def identity(self) -> PeerIdentity:
        return identity_from_certificate(self.chain_pem)

    def verify(self, at: dt.datetime | None = None) -> PeerIdentity:
        """Checks the chain against the root (at `at`, default now); AuthenticationError."""
        return verify_chain(self.chain_pem, [], self.root_pem, at=at or _now())

    def save(self, data_dir: str | os.PathLike[str]) -> Path:
        """Writes <data_dir>/tls/{node.key (owner-only), node.crt, root.crt}; returns tls/."""
        tls = Path(data_dir) / "tls"
        tls.mkdir(parents=True, exist_ok=True)
        os.chmod(tls, 0o700)
        _write_private(tls / "node.key", self.key_pem)
        _write_atomic(tls / "node.crt", self.chain_pem)
        _write_atomic(tls / "root.crt", self.root_pem)
        return tls

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str]) -> NodeCredentials:
        """Reads what `save` wrote; UsageError when the node has not been enrolled."""
        tls = Path(data_dir) / "tls"
        try:
            return cls(
                (tls / "node.key").read_bytes(),
                (tls / "node.crt").read_bytes(),
                (tls / "root.crt").read_bytes(),
            )
        except FileNotFoundError as exc:
            raise UsageError(
                f"{tls} holds no TLS credentials (no {Path(exc.filename).name}): enrol the node "
                "with `cctns ca enrol` first"
            ) from exc


def enrol_node(
    issuer: Authority,
    *,
    node_id: str,
    role: str,
    parent: str,
    ledger_key: bytes,
    address: str,
    valid_days: int = DEFAULT_NODE_DAYS,
    not_before: dt.datetime | None = None,
) -> NodeCredentials:
    """Certifies one office: a fresh P-256 TLS key and a leaf certificate binding its identity.

    The root certifies only the national node; a state authority certifies every other office.
    """
    problems: list[str] = []
    if not _NODE_ID.match(node_id):
        problems.append(f"node id {node_id!r} must be '/'-separated lower-case names")
    if parent and not _NODE_ID.match(parent):
        problems.append(f"parent {parent!r} is not a node id")
    if parent == node_id:
        problems.append("a node cannot be its own parent")
    if role not in ROLES:
        problems.append(f"role {role!r} is not one of {', '.join(ROLES)}")
    elif issuer.is_root and role != "national":
        problems.append(f"the national root certifies states, not a {role!r} node")
    elif not issuer.is_root and role == "national":
        problems.append("only the national root certifies the national node")
    elif not issuer.is_root and issuer.state and not node_id.startswith(f"{issuer.state}/"):
        # A state certifies its own offices only: their ids begin with the state's name.
        problems.append(f"the {issuer.state} authority certifies {issuer.state}/... offices only")
    if len(ledger_key) != 32:
        problems.append("ledger_key must be a 32-byte Ed25519 public key")
    if valid_days <= 0:
        problems.append("valid_days must be positive")
    try:
        where = parse_address(address)
    except InputError as exc:
        problems.append(str(exc))
    if problems:
        raise InputError("; ".join(problems), problems)

    key = ec.generate_private_key(ec.SECP256R1())
    # CN is for people reading the certificate (at most 64 characters in X.509); the node id
    # that counts is in the SAN URI and the identity extension.
    common_name = node_id if len(node_id) <= 64 else node_id[-64:]
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(NODE_URI_PREFIX + node_id)]
    if where.ip is not None:
        names.append(x509.IPAddress(where.ip))
        if where.ip.is_loopback:
            names.append(x509.DNSName("localhost"))
    else:
        names.append(x509.DNSName(where.host))
    identity = canonical_json(
        {
            "node_id": node_id,
            "role": role,
            "parent": parent,
            "ledger_key": base64.b64encode(ledger_key).decode("ascii"),
            "address": address,
        }
    )
    start, end = _validity(issuer, not_before, valid_days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CCTNS"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.UnrecognizedExtension(NODE_IDENTITY_OID, _der_utf8string(identity)),
            critical=False,
        )
        .sign(issuer.private_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    issuers = (issuer.certificate, *issuer.chain)[:-1] if issuer.chain else ()
    chain_pem = b"".join(_pem(c) for c in (cert, *issuers))
    return NodeCredentials(key_pem, chain_pem, _pem(issuer.root_certificate))


def _identity(cert: x509.Certificate) -> PeerIdentity:
    try:
        extension = cert.extensions.get_extension_for_oid(NODE_IDENTITY_OID).value
    except x509.ExtensionNotFound:
        raise AuthenticationError("certificate carries no cctns node identity") from None
    except ValueError as exc:  # a malformed extension elsewhere in the certificate
        raise AuthenticationError(f"certificate extensions are malformed: {exc}") from exc
    if not isinstance(extension, x509.UnrecognizedExtension):
        raise AuthenticationError("certificate carries a malformed node identity")
    try:
        fields = json.loads(_parse_der_utf8string(extension.value))
        node_id, role, parent = fields["node_id"], fields["role"], fields["parent"]
        ledger_key = base64.b64decode(fields["ledger_key"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthenticationError(f"certificate carries a malformed node identity: {exc}") from exc
    if not all(isinstance(v, str) for v in (node_id, role, parent)) or len(ledger_key) != 32:
        raise AuthenticationError("certificate carries a malformed node identity")
    if not _NODE_ID.match(node_id) or role not in ROLES:
        raise AuthenticationError(f"certificate names an invalid node {node_id!r} ({role!r})")
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    if NODE_URI_PREFIX + node_id not in uris:
        raise AuthenticationError(
            f"certificate's node identity {node_id!r} does not match its subject alternative name",
            node_id,
        )
    return PeerIdentity(
        node_id=node_id,
        role=role,
        parent=parent,
        ledger_key=ledger_key,
        serial=format(cert.serial_number, "x"),
    )


def identity_from_certificate(pem_or_der: bytes) -> PeerIdentity:
    """The node identity in a certificate (the first one of a PEM chain). Checks no signature:
    use it on certificates TLS has already verified, or call `verify_chain`."""
    return _identity(_load_certs(pem_or_der, "certificate")[0])


def address_from_certificate(pem_or_der: bytes) -> str:
    """The "host:port" a node certificate was issued for."""
    cert = _load_certs(pem_or_der, "certificate")[0]
    try:
        extension = cert.extensions.get_extension_for_oid(NODE_IDENTITY_OID).value
        assert isinstance(extension, x509.UnrecognizedExtension)
        address = json.loads(_parse_der_utf8string(extension.value))["address"]
    except (x509.ExtensionNotFound, AssertionError, ValueError, KeyError, TypeError) as exc:
        raise AuthenticationError("certificate carries no node address") from exc
    if not isinstance(address, str):
        raise AuthenticationError("certificate carries no node address")
    return address


# -- chain verification ----------------------------------------------------------------------


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_validity(cert: x509.Certificate, at: dt.datetime, who: str) -> None:
    if at < cert.not_valid_before_utc:
        raise AuthenticationError(
            f"{who} certificate is not yet valid (valid from {_stamp(cert.not_valid_before_utc)})"
        )
    if at > cert.not_valid_after_utc:
        raise AuthenticationError(
            f"{who} certificate expired at {_stamp(cert.not_valid_after_utc)}"
        )


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _path_to_root(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    root: x509.Certificate,
) -> list[x509.Certificate]:
    """The issuers of `leaf`, nearest first, ending with `root`; AuthenticationError if none."""
    path: list[x509.Certificate] = []
    current = leaf
    # root -> state -> office is the deepest the hierarchy goes.
    for _ in range(2):
        if _issued_by(current, root):
            return [*path, root]
        issuer = next(
            (c for c in intermediates if c != current and _issued_by(current, c)),
            None,
        )
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    raise AuthenticationError(
        f"certificate of {_common_name(leaf)!r} is not issued by a known authority"
    )


def verify_chain(
    leaf_pem: bytes,
    chain_pems: Iterable[bytes],
    root_pem: bytes,
    *,
    at: dt.datetime,
    revocations: RevocationSet | None = None,
) -> PeerIdentity:
    """Checks a node certificate the way TLS does, plus the hierarchy's rules, and returns the
    identity it proves. AuthenticationError names the reason: malformed, not issued by a known
    authority, expired, not yet valid, not a node certificate, role not allowed, revoked.

    `leaf_pem` may be a whole chain (leaf first); `chain_pems` adds more issuer certificates.
    """
    moment = _utc(at)
    leaf_certs = _load_certs(leaf_pem, "node certificate")
    leaf = leaf_certs[0]
    intermediates = [*leaf_certs[1:]]
    for pem in chain_pems:
        intermediates.extend(_load_certs(pem, "issuer certificate"))
    try:
        root = x509.load_pem_x509_certificate(root_pem)
    except ValueError as exc:
        raise UsageError(f"the national root certificate is not valid PEM: {exc}") from exc
    if not _issued_by(root, root) or not _is_ca(root)[0]:
        raise UsageError("the configured root is not a self-signed certificate authority")

    identity = _identity(leaf)
    if _is_ca(leaf)[0]:
        raise AuthenticationError("an authority's certificate is not a node certificate")
    path = _path_to_root(leaf, intermediates, root)
    _check_validity(leaf, moment, f"node {identity.node_id!r}")
    for depth, issuer in enumerate(path):
        ca, path_length = _is_ca(issuer)
        if not ca:
            raise AuthenticationError(f"{_common_name(issuer)!r} is not a certificate authority")
        if path_length is not None and depth > path_length:
            raise AuthenticationError(f"{_common_name(issuer)!r} may not certify this far down")
        _check_validity(issuer, moment, f"issuer {_common_name(issuer)!r}")
    direct_from_root = len(path) == 1
    if direct_from_root != (identity.role == "national"):
        raise AuthenticationError(
            f"a {identity.role!r} node must be certified by "
            + ("the national root" if identity.role == "national" else "its state authority"),
            identity.node_id,
        )
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.CLIENT_AUTH not in eku or ExtendedKeyUsageOID.SERVER_AUTH not in eku:
        raise AuthenticationError("certificate is not for TLS client and server use")
    # Our checks above give clear reasons; the library's RFC 5280 path validation is the last
    # word (key usages, name chaining, signature algorithms) so nothing subtle slips through.
    try:
        verifier = PolicyBuilder().store(Store([root])).time(moment).build_client_verifier()
        verifier.verify(leaf, path[:-1])
    except ChainRejected as exc:
        raise AuthenticationError(f"certificate chain rejected: {exc}", identity.node_id) from exc
    if revocations is not None and revocations.is_revoked(
        identity, issuer=path[0].subject.rfc4514_string()
    ):
        raise AuthenticationError("certificate has been revoked", identity.node_id)
    return identity


# -- revocation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Revocation:
    """One verified revocation. `serial` empty means every certificate of `node_id`."""

    node_id: str
    serial: str
    reason: str
    revoked_at: dt.datetime
    issuer: str  # the revoking authority's subject (RFC 4514)
    by_root: bool
    signed: bytes = field(repr=False)

    @property
    def digest(self) -> str:
        """SHA-256 of the signed record: its name wherever it is stored."""
        return hashlib.sha256(self.signed).hexdigest()


def _normal_serial(serial: str) -> str:
    text = serial.strip().lower().removeprefix("0x").replace(":", "")
    if not text:
        return ""
    try:
        return format(int(text, 16), "x")
    except ValueError:
        raise InputError(f"serial {serial!r} is not a hexadecimal number") from None


def sign_revocation(
    issuer: Authority,
    *,
    node_id: str,
    serial: str = "",
    reason: str,
    revoked_at: dt.datetime | None = None,
) -> bytes:
    """A revocation record signed by `issuer`: canonical JSON holding the signed body (as the
    exact text signed), the ECDSA-SHA256 signature and the issuer's certificate."""
    if not _NODE_ID.match(node_id):
        raise InputError(f"node id {node_id!r} must be '/'-separated lower-case names")
    if not reason.strip():
        raise InputError("a revocation needs a reason")
    when = _utc(revoked_at) if revoked_at else _now()
    body = canonical_json(
        {
            "node_id": node_id,
            "serial": _normal_serial(serial),
            "reason": reason,
            "revoked_at": _stamp(when),
            "issuer": issuer.name,
        }
    )
    signature = issuer.private_key.sign(body, ec.ECDSA(hashes.SHA256()))
    return canonical_json(
        {
            "body": body.decode(),
            "signature": base64.b64encode(signature).decode("ascii"),
            "issuer_certificate": _pem(issuer.certificate).decode("ascii"),
        }
    )


def verify_revocation(
    signed: bytes, root_pem: bytes, *, revoked_certificate: bytes | None = None
) -> Revocation:
    """Checks a revocation record; VerificationError unless its signature is valid and its
    issuer is the root or an authority the root certified (valid when it revoked).
    With `revoked_certificate`, a state authority may revoke only a certificate it issued."""
    try:
        document = json.loads(signed)
        body_text = document["body"]
        signature = base64.b64decode(document["signature"], validate=True)
        issuer_pem = document["issuer_certificate"].encode("ascii")
        body = json.loads(body_text)
        node_id, serial, reason = body["node_id"], body["serial"], body["reason"]
        revoked_at = dt.datetime.strptime(body["revoked_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.UTC
        )
        claimed_issuer = body["issuer"]
        issuer = x509.load_pem_x509_certificate(issuer_pem)
        root = x509.load_pem_x509_certificate(root_pem)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VerificationError(f"malformed revocation record: {exc}") from exc
    if not all(isinstance(v, str) for v in (node_id, serial, reason, claimed_issuer)):
        raise VerificationError("malformed revocation record: fields must be strings")
    if canonical_json(document) != signed or canonical_json(body) != body_text.encode():
        raise VerificationError("revocation record is not in canonical form")
    public_key = issuer.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise VerificationError("revocation issuer key is not ECDSA")
    try:
        public_key.verify(signature, body_text.encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VerificationError("revocation signature does not verify") from None
    if claimed_issuer != issuer.subject.rfc4514_string():
        raise VerificationError("revocation names an issuer other than its signer")
    by_root = issuer == root
    if not by_root and not _issued_by(issuer, root):
        raise VerificationError("revocation issuer is not certified by the national root")
    if not _is_ca(issuer)[0]:
        raise VerificationError("revocation issuer is not a certificate authority")
    if not issuer.not_valid_before_utc <= revoked_at <= issuer.not_valid_after_utc:
        raise VerificationError("revocation issuer's certificate was not valid when it revoked")
    if revoked_certificate is not None and not by_root:
        target = _load_certs(revoked_certificate, "revoked certificate")[0]
        if target.issuer != issuer.subject or not _issued_by(target, issuer):
            raise VerificationError(
                f"{claimed_issuer} did not issue the certificate it revokes", node_id
            )
    return Revocation(node_id, serial, reason, revoked_at, claimed_issuer, by_root, signed)


class RevocationSet:
    """The revocations a node knows of, verified against the root; thread-safe.

    With a directory, each record is kept there as <sha256>.json (records are immutable, so a
    content-addressed name makes adding idempotent and replication simple).
    """

    def __init__(self, root_pem: bytes, directory: str | os.PathLike[str] | None = None) -> None:
        self._root_pem = root_pem
        self._directory = Path(directory) if directory is not None else None
        self._lock = threading.Lock()
        self._records: dict[str, Revocation] = {}
        self._serials: set[str] = set()
        self._node_ids: dict[str, list[Revocation]] = {}

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str], root_pem: bytes) -> RevocationSet:
        """The set stored in <data_dir>/revocations/; VerificationError names a bad file."""
        directory = Path(data_dir) / "revocations"
        revocations = cls(root_pem, directory)
        if directory.is_dir():
            for path in sorted(directory.glob("*.json")):
                try:
                    record = verify_revocation(path.read_bytes(), root_pem)
                except VerificationError as exc:
                    raise VerificationError(f"{path}: {exc}") from exc
                if record.digest != path.stem:
                    raise VerificationError(f"{path}: content does not match its name")
                revocations._remember(record)
        return revocations

    def _remember(self, record: Revocation) -> bool:
        if record.digest in self._records:
            return False
        self._records[record.digest] = record
        if record.serial:
            self._serials.add(record.serial)
        else:
            self._node_ids.setdefault(record.node_id, []).append(record)
        return True

    def add(self, signed: bytes) -> bool:
        """Verifies and keeps a record; True when it was new. VerificationError if invalid."""
        record = verify_revocation(signed, self._root_pem)
        with self._lock:
            if record.digest in self._records:
                return False
            if self._directory is not None:
                _write_atomic(self._directory / f"{record.digest}.json", record.signed)
            return self._remember(record)

    def is_revoked(self, identity: PeerIdentity, *, issuer: str | None = None) -> bool:
        """True when the certificate's serial is revoked, or the node itself is. A node-wide
        revocation by a state authority applies only to certificates that authority issued,
        when `issuer` (the certificate's issuer, RFC 4514) is known."""
        with self._lock:
            if identity.serial and _normal_serial(identity.serial) in self._serials:
                return True
            return any(
                r.by_root or issuer is None or r.issuer == issuer
                for r in self._node_ids.get(identity.node_id, ())
            )

    def records(self) -> list[Revocation]:
        with self._lock:
            return [self._records[d] for d in sorted(self._records)]

    def signed_records(self) -> list[bytes]:
        """Every record as signed, in a stable order (to hand to peers)."""
        return [r.signed for r in self.records()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

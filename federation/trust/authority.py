"""The certificate authorities and what they issue: the national root, state authorities, nodes.

The root certifies state authorities (path length 0: they certify leaves only) and the national
node; a state authority certifies the offices of its state, whose ids begin with the state's
name. Every certificate, an authority's or a node's, is made by one builder (`_certificate`):
ECDSA P-256 keys, SHA-256 signatures, key identifiers, and a validity window that never reaches
past the issuer's own expiry.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from federation.trust.chain import CLOCK_SKEW, now, state_of, utc
from federation.trust.credentials import NodeCredentials
from federation.trust.files import write_atomic, write_private
from federation.trust.identity import (
    NODE_URI_PREFIX,
    ROLES,
    identity_extension,
    parse_address,
    pem,
    valid_node_id,
)
from ledger.errors import InputError, UsageError

ROOT_COMMON_NAME = "cctns national root"
DEFAULT_ROOT_DAYS = 20 * 365
DEFAULT_STATE_DAYS = 10 * 365
DEFAULT_NODE_DAYS = 365
_STATE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


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
        return pem(self.root_certificate)

    @property
    def name(self) -> str:
        """The authority's subject, as RFC 4514 text: how revocations name their issuer."""
        return self.certificate.subject.rfc4514_string()

    @property
    def state(self) -> str:
        """The state this authority speaks for ('' for the national root)."""
        return state_of(self.certificate.subject)

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Writes ca.crt, ca.key (owner-only) and, below the root, chain.pem; never overwrites."""
        path = Path(directory)
        key_path = path / "ca.key"
        if key_path.exists() or (path / "ca.crt").exists():
            raise UsageError(f"{path} already holds an authority; refusing to overwrite it")
        path.mkdir(parents=True, exist_ok=True)
        write_private(key_path, _private_pem(self.private_key))
        write_atomic(path / "ca.crt", pem(self.certificate))
        if self.chain:
            bundle = b"".join(pem(c) for c in (self.certificate, *self.chain))
            write_atomic(path / "chain.pem", bundle)

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


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    """An "O=CCTNS, ..." name with the given attributes after the organisation."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CCTNS"),
            *(x509.NameAttribute(oid, value) for oid, value in attributes),
        ]
    )


def _certificate(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    *,
    issuer_name: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    validity: tuple[dt.datetime, dt.datetime],
    ca: bool,
    path_length: int | None = None,
    node_extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    """A certificate signed by `issuer_key`: an authority's (`ca`, certifying at most
    `path_length` authorities below it) or a node's (digital signatures only, plus its
    `node_extensions`, all non-critical)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for extension in node_extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _validity(
    issuer: Authority | None, not_before: dt.datetime | None, valid_days: int
) -> tuple[dt.datetime, dt.datetime]:
    """The validity window, never reaching past the issuer's own expiry (None: self-signed)."""
    start = utc(not_before) if not_before else now() - CLOCK_SKEW
    end = start + dt.timedelta(days=valid_days)
    if issuer is not None:
        end = min(end, issuer.certificate.not_valid_after_utc)
    if end <= start:
        raise InputError("the certificate would expire before it starts (issuer expiry?)")
    return start, end


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
    name = _name((NameOID.COMMON_NAME, common_name))
    cert = _certificate(
        name,
        key.public_key(),
        issuer_name=name,
        issuer_key=key,
        validity=_validity(None, not_before, valid_days),
        ca=True,
        path_length=1,
    )
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
    cert = _certificate(
        _name(
            (NameOID.STATE_OR_PROVINCE_NAME, state),
            (NameOID.COMMON_NAME, f"cctns {state} state authority"),
        ),
        key.public_key(),
        issuer_name=root.certificate.subject,
        issuer_key=root.private_key,
        validity=_validity(root, not_before, valid_days),
        ca=True,
        path_length=0,
    )
    return Authority(cert, key, (root.certificate,))


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
    if not valid_node_id(node_id):
        problems.append(f"node id {node_id!r} must be '/'-separated lower-case names")
    if parent and not valid_node_id(parent):
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
    cert = _certificate(
        _name((NameOID.ORGANIZATIONAL_UNIT_NAME, role), (NameOID.COMMON_NAME, common_name)),
        key.public_key(),
        issuer_name=issuer.certificate.subject,
        issuer_key=issuer.private_key,
        validity=_validity(issuer, not_before, valid_days),
        ca=False,
        node_extensions=(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            x509.SubjectAlternativeName(names),
            identity_extension(
                node_id=node_id, role=role, parent=parent, ledger_key=ledger_key, address=address
            ),
        ),
    )
    issuers = (issuer.certificate, *issuer.chain)[:-1] if issuer.chain else ()
    chain_pem = b"".join(pem(c) for c in (cert, *issuers))
    return NodeCredentials(_private_pem(key), chain_pem, pem(issuer.root_certificate))

"""Revocations: signed records that withdraw a node's certificate, and the set a node keeps.

A revocation is a signed JSON record made by the authority that issued the certificate (or the
root); it spreads to every node like any other record and is checked on every call.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from federation.interfaces import PeerIdentity
from federation.trust.authority import Authority
from federation.trust.chain import is_ca, issued_by, now, stamp, utc
from federation.trust.files import write_atomic
from federation.trust.identity import canonical_json, load_certificates, pem, valid_node_id
from ledger.errors import InputError, VerificationError


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
    if not valid_node_id(node_id):
        raise InputError(f"node id {node_id!r} must be '/'-separated lower-case names")
    if not reason.strip():
        raise InputError("a revocation needs a reason")
    when = utc(revoked_at) if revoked_at else now()
    body = canonical_json(
        {
            "node_id": node_id,
            "serial": _normal_serial(serial),
            "reason": reason,
            "revoked_at": stamp(when),
            "issuer": issuer.name,
        }
    )
    signature = issuer.private_key.sign(body, ec.ECDSA(hashes.SHA256()))
    return canonical_json(
        {
            "body": body.decode(),
            "signature": base64.b64encode(signature).decode("ascii"),
            "issuer_certificate": pem(issuer.certificate).decode("ascii"),
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
    if not by_root and not issued_by(issuer, root):
        raise VerificationError("revocation issuer is not certified by the national root")
    if not is_ca(issuer)[0]:
        raise VerificationError("revocation issuer is not a certificate authority")
    if not issuer.not_valid_before_utc <= revoked_at <= issuer.not_valid_after_utc:
        raise VerificationError("revocation issuer's certificate was not valid when it revoked")
    if revoked_certificate is not None and not by_root:
        target = load_certificates(revoked_certificate, "revoked certificate")[0]
        if target.issuer != issuer.subject or not issued_by(target, issuer):
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
                write_atomic(self._directory / f"{record.digest}.json", record.signed)
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

"""Checking a node certificate against the national root: issuers, validity, the hierarchy.

`verify_chain` does what TLS does plus the hierarchy's own rules, and names the reason when it
refuses; `verify_peer_certificate` adds the rules TLS cannot know to a certificate the handshake
has already verified. Both return the node's identity or raise AuthenticationError.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store
from cryptography.x509.verification import VerificationError as ChainRejected

from federation.interfaces import PeerIdentity
from federation.trust.identity import (
    certificate_identity,
    identity_from_certificate,
    load_certificates,
)
from ledger.errors import AuthenticationError, UsageError

# Allowance for clocks that disagree a little; also how far back a new certificate starts.
CLOCK_SKEW = dt.timedelta(minutes=5)


class RevocationCheck(Protocol):
    """What the checks ask of the revocations a node knows (a RevocationSet is one)."""

    def is_revoked(self, identity: PeerIdentity, *, issuer: str | None = None) -> bool: ...


def now() -> dt.datetime:
    """The current time, UTC."""
    return dt.datetime.now(dt.UTC)


def utc(at: dt.datetime) -> dt.datetime:
    """An aware UTC datetime (naive ones are taken to be UTC already)."""
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def stamp(at: dt.datetime) -> str:
    """The time as 2026-01-31T12:00:00Z."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def common_name(cert: x509.Certificate) -> str:
    """The subject's CN ('' when there is none)."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def state_of(name: x509.Name) -> str:
    """The state (ST) a certificate name speaks for: '' for the national root and its nodes."""
    names = name.get_attributes_for_oid(NameOID.STATE_OR_PROVINCE_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode()


def is_ca(cert: x509.Certificate) -> tuple[bool, int | None]:
    """(is a certificate authority, its path length limit)."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False, None
    return constraints.ca, constraints.path_length


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` signed `cert` (names and signature)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _check_validity(cert: x509.Certificate, at: dt.datetime, who: str) -> None:
    if at < cert.not_valid_before_utc:
        raise AuthenticationError(
            f"{who} certificate is not yet valid (valid from {stamp(cert.not_valid_before_utc)})"
        )
    if at > cert.not_valid_after_utc:
        raise AuthenticationError(f"{who} certificate expired at {stamp(cert.not_valid_after_utc)}")


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
        if issued_by(current, root):
            return [*path, root]
        issuer = next(
            (c for c in intermediates if c != current and issued_by(current, c)),
            None,
        )
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    raise AuthenticationError(
        f"certificate of {common_name(leaf)!r} is not issued by a known authority"
    )


def verify_chain(
    leaf_pem: bytes,
    chain_pems: Iterable[bytes],
    root_pem: bytes,
    *,
    at: dt.datetime,
    revocations: RevocationCheck | None = None,
) -> PeerIdentity:
    """Checks a node certificate the way TLS does, plus the hierarchy's rules, and returns the
    identity it proves. AuthenticationError names the reason: malformed, not issued by a known
    authority, expired, not yet valid, not a node certificate, role not allowed, revoked.

    `leaf_pem` may be a whole chain (leaf first); `chain_pems` adds more issuer certificates.
    """
    moment = utc(at)
    leaf_certs = load_certificates(leaf_pem, "node certificate")
    leaf = leaf_certs[0]
    intermediates = [*leaf_certs[1:]]
    for pem in chain_pems:
        intermediates.extend(load_certificates(pem, "issuer certificate"))
    try:
        root = x509.load_pem_x509_certificate(root_pem)
    except ValueError as exc:
        raise UsageError(f"the national root certificate is not valid PEM: {exc}") from exc
    if not issued_by(root, root) or not is_ca(root)[0]:
        raise UsageError("the configured root is not a self-signed certificate authority")

    identity = certificate_identity(leaf)
    if is_ca(leaf)[0]:
        raise AuthenticationError("an authority's certificate is not a node certificate")
    path = _path_to_root(leaf, intermediates, root)
    _check_validity(leaf, moment, f"node {identity.node_id!r}")
    for depth, issuer in enumerate(path):
        ca, path_length = is_ca(issuer)
        if not ca:
            raise AuthenticationError(f"{common_name(issuer)!r} is not a certificate authority")
        if path_length is not None and depth > path_length:
            raise AuthenticationError(f"{common_name(issuer)!r} may not certify this far down")
        _check_validity(issuer, moment, f"issuer {common_name(issuer)!r}")
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


def verify_peer_certificate(pem: bytes, revocations: RevocationCheck) -> PeerIdentity:
    """The identity in a certificate the TLS handshake has verified against the root, once the
    rules TLS does not know hold: a state authority certifies only its own state's offices, and
    the certificate is not revoked. AuthenticationError otherwise."""
    identity = identity_from_certificate(pem)
    issuer = load_certificates(pem, "certificate")[0].issuer
    state = state_of(issuer)
    if state and not identity.node_id.startswith(f"{state}/"):
        raise AuthenticationError(
            f"certified by the {state} authority but claims to be {identity.node_id}",
            identity.node_id,
        )
    if revocations.is_revoked(identity, issuer=issuer.rfc4514_string()):
        raise AuthenticationError("certificate has been revoked", identity.node_id)
    return identity

"""What names a node: its role, its id, its address, and the certificate extension carrying them.

These facts are written once, here: node/ imports ROLES, NODE_ID (or `valid_node_id`) and
ORIGIN from this module rather than keeping copies (federation never imports node/).

A node certificate carries the identity twice: the SAN URI `cctns:node:<node id>`, and a private
non-critical extension (NODE_IDENTITY_OID) holding a DER UTF8String of canonical JSON with the
node id, role, parent, address and base64 Ed25519 ledger key. Reading checks that both agree; it
checks no signature (that is federation/trust/chain.py's job, or the TLS handshake's).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ObjectIdentifier

from federation.interfaces import PeerIdentity
from ledger.errors import AuthenticationError, InputError

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
# A node id is '/'-separated lower-case parts, the state first: "kerala/thrissur-city/ps-ollur",
# "kerala/scrb". One part is a node id too (a node made for the origin "cctns.in/kerala").
_NODE_ID_PATTERN = r"[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*"
NODE_ID = re.compile(rf"^{_NODE_ID_PATTERN}$")
# An origin names one log forever: a host-like prefix, then the node id of the log's writer
# ("cctns.in/kerala/thrissur-city/ps-ollur").
ORIGIN = re.compile(rf"^[a-z0-9.-]+/{_NODE_ID_PATTERN}$")
# Private enterprise arc; 1.1 = the cctns node identity (a DER UTF8String of canonical JSON).
NODE_IDENTITY_OID = ObjectIdentifier("1.3.6.1.4.1.59999.1.1")
NODE_URI_PREFIX = "cctns:node:"
_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*$")


def valid_node_id(text: str) -> bool:
    """Whether `text` is a node id ("kerala/thrissur-city/ps-ollur")."""
    return NODE_ID.match(text) is not None


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
        if not _HOST_NAME.match(host):
            raise InputError(f"address {address!r}: {host!r} is not a host name") from None
    return NodeAddress(host.lower() if ip is None else host, int(port_text), ip)


# -- certificates and the identity extension --------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the exact bytes that get signed or embedded."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pem(cert: x509.Certificate) -> bytes:
    """The certificate in PEM form."""
    return cert.public_bytes(serialization.Encoding.PEM)


def load_certificates(data: bytes, what: str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one DER certificate; AuthenticationError
    naming `what` when it is neither."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise AuthenticationError(f"{what} is not a valid X.509 certificate: {exc}") from exc


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


def identity_extension(
    *, node_id: str, role: str, parent: str, ledger_key: bytes, address: str
) -> x509.UnrecognizedExtension:
    """The private extension that binds a node's identity into its certificate."""
    fields = {
        "node_id": node_id,
        "role": role,
        "parent": parent,
        "ledger_key": base64.b64encode(ledger_key).decode("ascii"),
        "address": address,
    }
    return x509.UnrecognizedExtension(NODE_IDENTITY_OID, _der_utf8string(canonical_json(fields)))


def certificate_identity(cert: x509.Certificate) -> PeerIdentity:
    """The node identity a certificate carries, once its extension and SAN URI agree;
    AuthenticationError otherwise. Checks no signature."""
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
    if not valid_node_id(node_id) or role not in ROLES:
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
    use it on certificates TLS has already verified, or call `chain.verify_chain`."""
    return certificate_identity(load_certificates(pem_or_der, "certificate")[0])


def address_from_certificate(pem_or_der: bytes) -> str:
    """The "host:port" a node certificate was issued for."""
    cert = load_certificates(pem_or_der, "certificate")[0]
    try:
        extension = cert.extensions.get_extension_for_oid(NODE_IDENTITY_OID).value
        assert isinstance(extension, x509.UnrecognizedExtension)
        address = json.loads(_parse_der_utf8string(extension.value))["address"]
    except (x509.ExtensionNotFound, AssertionError, ValueError, KeyError, TypeError) as exc:
        raise AuthenticationError("certificate carries no node address") from exc
    if not isinstance(address, str):
        raise AuthenticationError("certificate carries no node address")
    return address

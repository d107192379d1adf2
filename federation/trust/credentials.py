"""What a node holds for mutual TLS: its private key, its certificate chain and the national root.

Issued by federation/trust/authority.py (`enrol_node`), kept in <data dir>/tls/, turned into gRPC
credentials by federation/tls.py.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from federation.interfaces import PeerIdentity
from federation.trust.chain import now, verify_chain
from federation.trust.files import write_atomic, write_private
from federation.trust.identity import identity_from_certificate
from ledger.errors import UsageError


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
        return verify_chain(self.chain_pem, [], self.root_pem, at=at or now())

    def save(self, data_dir: str | os.PathLike[str]) -> Path:
        """Writes <data_dir>/tls/{node.key (owner-only), node.crt, root.crt}; returns tls/."""
        tls = Path(data_dir) / "tls"
        tls.mkdir(parents=True, exist_ok=True)
        os.chmod(tls, 0o700)
        write_private(tls / "node.key", self.key_pem)
        write_atomic(tls / "node.crt", self.chain_pem)
        write_atomic(tls / "root.crt", self.root_pem)
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

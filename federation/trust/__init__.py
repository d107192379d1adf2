"""Who belongs to the federation: the certificate hierarchy, node identities and revocations.

The national root key certifies one authority per state; a state authority certifies every office
of its state (the state's own SCRB node included); the root certifies the national node directly.
A node certificate is an ordinary X.509 certificate (ECDSA P-256, used for mutual TLS) whose
private extension binds the node's id, role, parent, address and Ed25519 ledger key.

- `identity`: what names a node (roles, the node-id pattern, addresses) and the certificate
  extension that carries its identity;
- `authority`: the root and state authorities, and issuing their certificates and nodes';
- `credentials`: what a node holds for mutual TLS (key, chain, root), saved in its data dir;
- `chain`: checking a node certificate against the root (issuers, validity, the hierarchy);
- `revocation`: signed revocation records and the set a node checks every call against;
- `files`: durable writes of keys, certificates and records.

Pure logic over `cryptography`: no I/O except the explicit save/load methods, no grpc (the gRPC
credentials are federation/tls.py's), and never imports node/ (node imports the roles and the
node-id pattern from here).
"""

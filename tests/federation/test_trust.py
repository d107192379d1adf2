"""The certificate hierarchy (federation/trust/): enrolment, chain checks, identities,
revocations, `cctns ca`."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from admin import pki_cli
from federation.trust import identity as trust
from federation.trust.authority import Authority, create_root, enrol_node, issue_state_authority
from federation.trust.chain import verify_chain
from federation.trust.credentials import NodeCredentials
from federation.trust.identity import identity_from_certificate
from federation.trust.revocation import RevocationSet, sign_revocation, verify_revocation
from ledger.errors import AuthenticationError, InputError, UsageError, VerificationError
from node.config import ROLES, DataDir

# "Now" of this module's tests: set when the module starts (below), not when the suite is
# collected: certificates issued here start CLOCK_SKEW (5 minutes) before their issue, and a busy
# suite can take longer than that to reach this module.
NOW = dt.datetime.now(dt.UTC)
LEDGER_KEY = bytes(range(32))
STATION = "kerala/ernakulam-city/ps-kalamassery"
CIRCLE = "kerala/ernakulam-city/circle-kalamassery"


@pytest.fixture(scope="module", autouse=True)
def _now_at_module_start() -> None:
    global NOW
    NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def root() -> Authority:
    return create_root()


@pytest.fixture(scope="module")
def kerala(root: Authority) -> Authority:
    return issue_state_authority(root, "kerala")


@pytest.fixture(scope="module")
def station(kerala: Authority) -> NodeCredentials:
    return enrol(kerala)


def enrol(issuer: Authority, node_id: str = STATION, **overrides: object) -> NodeCredentials:
    fields: dict[str, object] = {
        "node_id": node_id,
        "role": "station",
        "parent": CIRCLE,
        "ledger_key": LEDGER_KEY,
        "address": "127.0.0.1:7001",
    }
    fields.update(overrides)
    return enrol_node(issuer, **fields)  # type: ignore[arg-type]


def certs(pem: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem)


# -- certificates ----------------------------------------------------------------------------


def test_roles_match_node_config() -> None:
    assert trust.ROLES == ROLES


def test_enrol_chain_is_leaf_then_state_without_root(
    root: Authority, kerala: Authority, station: NodeCredentials
) -> None:
    leaf, state = certs(station.chain_pem)
    assert state == kerala.certificate
    assert certs(station.root_pem) == [root.certificate]
    assert leaf.issuer == kerala.certificate.subject
    assert kerala.chain == (root.certificate,)
    constraints = state.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    leaf_constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert not leaf_constraints.ca
    assert kerala.state == "kerala" and root.state == ""


def test_enrol_identity_round_trip(station: NodeCredentials) -> None:
    identity = identity_from_certificate(station.chain_pem)
    leaf = station.certificate
    assert identity.node_id == STATION
    assert identity.role == "station"
    assert identity.parent == CIRCLE
    assert identity.ledger_key == LEDGER_KEY
    assert identity.serial == format(leaf.serial_number, "x")
    der = leaf.public_bytes(serialization.Encoding.DER)
    assert identity_from_certificate(der) == identity
    assert trust.address_from_certificate(der) == "127.0.0.1:7001"


def test_enrol_extensions_carry_san_and_canonical_json(station: NodeCredentials) -> None:
    leaf = station.certificate
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"cctns:node:{STATION}"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    ext = leaf.extensions.get_extension_for_oid(trust.NODE_IDENTITY_OID)
    assert not ext.critical
    assert isinstance(ext.value, x509.UnrecognizedExtension)
    text = trust._parse_der_utf8string(ext.value.value)
    fields = json.loads(text)
    assert text == trust.canonical_json(fields)
    assert fields == {
        "node_id": STATION,
        "role": "station",
        "parent": CIRCLE,
        "ledger_key": base64.b64encode(LEDGER_KEY).decode(),
        "address": "127.0.0.1:7001",
    }
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {
        x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
        x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH,
    }
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature


def test_enrol_dns_address_names_that_host(kerala: Authority) -> None:
    creds = enrol(kerala, address="ps-kalamassery.kerala.cctns.in:7443")
    san = creds.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["ps-kalamassery.kerala.cctns.in"]
    assert san.value.get_values_for_type(x509.IPAddress) == []


def test_der_utf8string_long_form_round_trip() -> None:
    text = b"x" * 70000
    assert trust._parse_der_utf8string(trust._der_utf8string(text)) == text


@pytest.mark.parametrize(
    ("node_id", "valid"),
    [
        ("kerala/thrissur-city/ps-ollur", True),
        ("kerala/ernakulam-city/circle-kalamassery", True),
        ("kerala/scrb", True),
        ("india/ncrb", True),
        ("kerala", True),  # one part: the node of the origin "cctns.in/kerala"
        ("local/node-0a1b2c3d4e5f", True),  # DataDir.create's default
        ("Kerala/ps-ollur", False),
        ("kerala/", False),
        ("/kerala", False),
        ("kerala//ps-ollur", False),
        ("kerala/ps ollur", False),
        ("-kerala", False),
        ("", False),
    ],
)
def test_node_id_one_pattern_for_certificates_revocations_and_origins(
    kerala: Authority, node_id: str, valid: bool
) -> None:
    assert trust.valid_node_id(node_id) is valid
    # node.config's origins are "<host>/<node id>", and name the same nodes.
    assert (trust.ORIGIN.match(f"cctns.in/{node_id}") is not None) is valid
    if valid:
        assert (
            verify_revocation(
                sign_revocation(kerala, node_id=node_id, reason="test"), kerala.root_pem
            ).node_id
            == node_id
        )
    else:
        with pytest.raises(InputError, match="node id"):
            sign_revocation(kerala, node_id=node_id, reason="test")
        with pytest.raises(InputError, match="node id"):
            enrol(kerala, node_id)


def test_enrol_national_by_root_and_state_node_by_state(root: Authority, kerala: Authority) -> None:
    national = enrol(root, "india/ncrb", role="national", parent="")
    assert national.certificate.issuer == root.certificate.subject
    assert len(certs(national.chain_pem)) == 1
    assert national.verify(NOW).role == "national"
    scrb = enrol(kerala, "kerala/scrb", role="state", parent="india/ncrb")
    assert scrb.verify(NOW).role == "state"


def test_enrol_rejects_role_the_issuer_may_not_certify(root: Authority, kerala: Authority) -> None:
    with pytest.raises(InputError, match="national root certifies states"):
        enrol(root)
    with pytest.raises(InputError, match="only the national root"):
        enrol(kerala, "india/ncrb", role="national", parent="")


def test_enrol_reports_every_bad_field(kerala: Authority) -> None:
    with pytest.raises(InputError) as info:
        enrol(kerala, "Bad Id", role="sheriff", ledger_key=b"short", address="nowhere")
    assert len(info.value.problems) == 4


def test_enrol_never_outlives_its_issuer(root: Authority) -> None:
    short = issue_state_authority(root, "goa", valid_days=10)
    creds = enrol(short, "goa/north/ps-panaji", valid_days=365)
    assert creds.certificate.not_valid_after_utc == short.certificate.not_valid_after_utc


def test_state_authority_only_from_root(kerala: Authority) -> None:
    with pytest.raises(UsageError):
        issue_state_authority(kerala, "goa")
    with pytest.raises(InputError):
        issue_state_authority(create_root(), "Kerala State")


# -- chain verification ----------------------------------------------------------------------


def test_verify_chain_accepts_valid_chain(station: NodeCredentials) -> None:
    leaf, state = certs(station.chain_pem)
    leaf_pem = leaf.public_bytes(serialization.Encoding.PEM)
    state_pem = state.public_bytes(serialization.Encoding.PEM)
    identity = verify_chain(leaf_pem, [state_pem], station.root_pem, at=NOW)
    assert identity == station.identity
    assert verify_chain(station.chain_pem, [], station.root_pem, at=NOW) == identity


def test_verify_chain_rejects_expired(kerala: Authority) -> None:
    creds = enrol(kerala, not_before=NOW - dt.timedelta(days=30), valid_days=1)
    with pytest.raises(AuthenticationError, match="expired"):
        creds.verify(NOW)


def test_verify_chain_rejects_not_yet_valid(kerala: Authority) -> None:
    creds = enrol(kerala, not_before=NOW + dt.timedelta(days=2))
    with pytest.raises(AuthenticationError, match="not yet valid"):
        creds.verify(NOW)
    assert creds.verify(NOW + dt.timedelta(days=3)).node_id == STATION


def test_verify_chain_rejects_expired_issuer(station: NodeCredentials) -> None:
    later = station.certificate.not_valid_after_utc + dt.timedelta(days=1)
    with pytest.raises(AuthenticationError, match="expired"):
        station.verify(later)
    old_root = create_root(not_before=NOW - dt.timedelta(days=20), valid_days=400)
    old_state = issue_state_authority(
        old_root, "kerala", not_before=NOW - dt.timedelta(days=20), valid_days=10
    )
    creds = enrol(old_state, not_before=NOW - dt.timedelta(days=20), valid_days=365)
    with pytest.raises(AuthenticationError, match="expired"):
        creds.verify(NOW)


def test_verify_chain_rejects_another_root(station: NodeCredentials) -> None:
    other_root = create_root()
    other = enrol(issue_state_authority(other_root, "kerala"))
    with pytest.raises(AuthenticationError, match="not issued by a known authority"):
        verify_chain(other.chain_pem, [], station.root_pem, at=NOW)
    # The other chain's own root accepts it, and does not accept ours.
    assert other.verify(NOW).node_id == STATION
    with pytest.raises(AuthenticationError, match="not issued by a known authority"):
        verify_chain(station.chain_pem, [], other.root_pem, at=NOW)


def test_verify_chain_needs_the_state_certificate(station: NodeCredentials) -> None:
    leaf_pem = station.certificate.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(AuthenticationError, match="not issued by a known authority"):
        verify_chain(leaf_pem, [], station.root_pem, at=NOW)


def test_verify_chain_rejects_authority_certificate_as_node(
    kerala: Authority, station: NodeCredentials
) -> None:
    with pytest.raises(AuthenticationError, match="no cctns node identity"):
        verify_chain(
            kerala.certificate.public_bytes(serialization.Encoding.PEM),
            [],
            station.root_pem,
            at=NOW,
        )


def test_verify_chain_rejects_garbage(station: NodeCredentials) -> None:
    with pytest.raises(AuthenticationError, match=r"not a valid X\.509"):
        verify_chain(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            [],
            station.root_pem,
            at=NOW,
        )
    with pytest.raises(AuthenticationError):
        identity_from_certificate(b"\x30\x03\x02\x01\x00")
    with pytest.raises(UsageError):
        verify_chain(station.chain_pem, [], b"not a root", at=NOW)


def test_verify_chain_rejects_station_certified_by_root_directly(
    root: Authority, station: NodeCredentials
) -> None:
    # enrol_node refuses this; build the certificate by hand to check the verifier too.
    leaf = station.certificate
    forged = (
        x509.CertificateBuilder()
        .subject_name(leaf.subject)
        .issuer_name(root.certificate.subject)
        .public_key(leaf.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(leaf.not_valid_before_utc)
        .not_valid_after(leaf.not_valid_after_utc)
    )
    for ext in leaf.extensions:
        if not isinstance(ext.value, x509.AuthorityKeyIdentifier):
            forged = forged.add_extension(ext.value, ext.critical)
    cert = forged.sign(root.private_key, hashes.SHA256())
    with pytest.raises(AuthenticationError, match="certified by its state authority"):
        verify_chain(trust.pem(cert), [], station.root_pem, at=NOW)


# -- persistence -----------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_authority_save_load_round_trip(tmp_path: Path, root: Authority, kerala: Authority) -> None:
    root.save(tmp_path / "root")
    kerala.save(tmp_path / "kerala")
    assert mode(tmp_path / "root" / "ca.key") == 0o600
    assert not (tmp_path / "root" / "chain.pem").exists()
    assert certs((tmp_path / "kerala" / "chain.pem").read_bytes()) == [
        kerala.certificate,
        root.certificate,
    ]
    loaded = Authority.load(tmp_path / "kerala")
    assert loaded.certificate == kerala.certificate
    assert loaded.chain == (root.certificate,)
    assert loaded.private_key.public_key() == kerala.private_key.public_key()
    assert Authority.load(tmp_path / "root").is_root
    with pytest.raises(UsageError, match="refusing to overwrite"):
        kerala.save(tmp_path / "kerala")
    with pytest.raises(UsageError, match="holds no authority"):
        Authority.load(tmp_path / "missing")


def test_credentials_save_load_round_trip(tmp_path: Path, station: NodeCredentials) -> None:
    tls = station.save(tmp_path)
    assert tls == tmp_path / "tls"
    assert mode(tls / "node.key") == 0o600
    assert NodeCredentials.load(tmp_path) == station
    with pytest.raises(UsageError, match="cctns ca enrol"):
        NodeCredentials.load(tmp_path / "elsewhere")


# -- revocation ------------------------------------------------------------------------------


def test_revocation_verifies(kerala: Authority, station: NodeCredentials) -> None:
    signed = sign_revocation(
        kerala, node_id=STATION, serial=station.identity.serial, reason="laptop stolen"
    )
    record = verify_revocation(signed, station.root_pem, revoked_certificate=station.chain_pem)
    assert record.node_id == STATION
    assert record.serial == station.identity.serial
    assert record.reason == "laptop stolen"
    assert record.issuer == kerala.name
    assert not record.by_root
    document = json.loads(signed)
    assert set(document) == {"body", "signature", "issuer_certificate"}
    assert set(json.loads(document["body"])) == {
        "node_id",
        "serial",
        "reason",
        "revoked_at",
        "issuer",
    }


def test_revocation_forged_signature_rejected(kerala: Authority, station: NodeCredentials) -> None:
    document = json.loads(sign_revocation(kerala, node_id=STATION, reason="r"))
    signature = bytearray(base64.b64decode(document["signature"]))
    signature[-1] ^= 1
    document["signature"] = base64.b64encode(bytes(signature)).decode()
    with pytest.raises(VerificationError):
        verify_revocation(trust.canonical_json(document), station.root_pem)


def test_revocation_by_impostor_authority_rejected(
    kerala: Authority, station: NodeCredentials
) -> None:
    # Same names, different keys: an authority under another root.
    impostor = issue_state_authority(create_root(), "kerala")
    signed = sign_revocation(impostor, node_id=STATION, reason="r")
    with pytest.raises(VerificationError, match="not certified by the national root"):
        verify_revocation(signed, station.root_pem)
    # Checked against the impostor's root it is fine: the root is what decides.
    assert verify_revocation(signed, impostor.root_pem).node_id == STATION


def test_revocation_tampered_json_rejected(kerala: Authority, station: NodeCredentials) -> None:
    signed = sign_revocation(kerala, node_id=STATION, reason="laptop stolen")
    tampered = signed.replace(b"ps-kalamassery", b"ps-aluva")
    with pytest.raises(VerificationError, match="signature does not verify"):
        verify_revocation(tampered, station.root_pem)
    document = json.loads(signed)
    reformatted = json.dumps(document, indent=2).encode()
    with pytest.raises(VerificationError, match="canonical"):
        verify_revocation(reformatted, station.root_pem)
    with pytest.raises(VerificationError, match="malformed"):
        verify_revocation(b"{not json", station.root_pem)
    with pytest.raises(VerificationError, match="malformed"):
        verify_revocation(b'{"body": "{}"}', station.root_pem)


def test_revocation_by_a_node_key_rejected(kerala: Authority, station: NodeCredentials) -> None:
    key = serialization.load_pem_private_key(station.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    node_as_authority = Authority(station.certificate, key, (kerala.certificate,))
    signed = sign_revocation(node_as_authority, node_id=CIRCLE, reason="spite")
    with pytest.raises(VerificationError):
        verify_revocation(signed, station.root_pem)


def test_revocation_scoped_to_the_issuing_state(root: Authority, station: NodeCredentials) -> None:
    goa = issue_state_authority(root, "goa")
    signed = sign_revocation(goa, node_id=STATION, reason="not ours")
    verify_revocation(signed, station.root_pem)  # a valid record on its own
    with pytest.raises(VerificationError, match="did not issue"):
        verify_revocation(signed, station.root_pem, revoked_certificate=station.chain_pem)
    revocations = RevocationSet(station.root_pem)
    revocations.add(signed)
    issuer = station.certificate.issuer.rfc4514_string()
    assert not revocations.is_revoked(station.identity, issuer=issuer)
    # The root may revoke anyone.
    revocations.add(sign_revocation(root, node_id=STATION, reason="national order"))
    assert revocations.is_revoked(station.identity, issuer=issuer)


def test_revocation_set_by_serial_and_by_node(kerala: Authority, station: NodeCredentials) -> None:
    revocations = RevocationSet(station.root_pem)
    other = enrol(kerala)  # a second certificate for the same node
    by_serial = sign_revocation(kerala, node_id=STATION, serial=station.identity.serial, reason="r")
    assert revocations.add(by_serial)
    assert not revocations.add(by_serial)
    assert revocations.is_revoked(station.identity)
    assert not revocations.is_revoked(other.identity)
    assert revocations.add(sign_revocation(kerala, node_id=STATION, reason="closed"))
    assert revocations.is_revoked(other.identity)
    assert len(revocations) == 2


def test_revocation_set_persists(
    tmp_path: Path, kerala: Authority, station: NodeCredentials
) -> None:
    revocations = RevocationSet.load(tmp_path, station.root_pem)
    assert len(revocations) == 0
    signed = sign_revocation(kerala, node_id=STATION, reason="closed")
    assert revocations.add(signed)
    files = list((tmp_path / "revocations").iterdir())
    assert [f.read_bytes() for f in files] == [signed]
    reloaded = RevocationSet.load(tmp_path, station.root_pem)
    assert reloaded.signed_records() == [signed]
    assert reloaded.is_revoked(station.identity)
    assert not reloaded.add(signed)
    files[0].write_bytes(signed.replace(b"closed", b"opened"))
    with pytest.raises(VerificationError, match=files[0].name):
        RevocationSet.load(tmp_path, station.root_pem)


def test_verify_chain_refuses_revoked(kerala: Authority, station: NodeCredentials) -> None:
    revocations = RevocationSet(station.root_pem)
    assert verify_chain(station.chain_pem, [], station.root_pem, at=NOW, revocations=revocations)
    revocations.add(sign_revocation(kerala, node_id=STATION, reason="closed"))
    with pytest.raises(AuthenticationError, match="revoked"):
        verify_chain(station.chain_pem, [], station.root_pem, at=NOW, revocations=revocations)


# -- cctns ca --------------------------------------------------------------------------------


def run_ca(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cctns")
    groups = parser.add_subparsers(dest="group", required=True)
    pki_cli.register(groups)
    args = parser.parse_args(["ca", *argv])
    code: int = args.handler(args)
    return code


def test_ca_commands_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root_dir, state_dir = str(tmp_path / "root"), str(tmp_path / "kerala")
    data = DataDir(tmp_path / "node")
    config = data.create(origin=f"cctns.in/{STATION}", role="station")
    assert run_ca("init-root", "--dir", root_dir) == 0
    assert run_ca("issue-state", "--root", root_dir, "--state", "kerala", "--dir", state_dir) == 0
    common = ["--authority", state_dir, "--data-dir", str(data.path), "--parent", CIRCLE]
    assert run_ca("enrol", *common, "--address", "127.0.0.1:7001", "--valid-days", "30") == 0
    assert mode(data.path / "tls" / "node.key") == 0o600
    capsys.readouterr()
    assert run_ca("show", "--data-dir", str(data.path), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["node_id"] == config.node_id == STATION
    assert shown["role"] == "station"
    assert shown["parent"] == CIRCLE
    assert shown["address"] == "127.0.0.1:7001"
    assert base64.b64decode(shown["ledger_key"]) == bytes(data.load_key().verify_key)
    out = tmp_path / "revoked.json"
    argv = ["--authority", state_dir, "--node-id", STATION, "--serial", shown["serial"]]
    assert (
        run_ca(
            "revoke", *argv, "--reason", "closed", "--out", str(out), "--data-dir", str(data.path)
        )
        == 0
    )
    revocations = RevocationSet.load(data.path, (data.path / "tls" / "root.crt").read_bytes())
    assert revocations.signed_records() == [out.read_bytes()]
    identity = NodeCredentials.load(data.path).identity
    assert revocations.is_revoked(identity)


def test_ca_enrol_rejects_role_mismatch(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "node")
    data.create(origin=f"cctns.in/{STATION}", role="station")
    root = create_root()
    issue_state_authority(root, "kerala").save(tmp_path / "kerala")
    with pytest.raises(InputError, match="differs"):
        run_ca(
            "enrol",
            "--authority",
            str(tmp_path / "kerala"),
            "--data-dir",
            str(data.path),
            "--role",
            "district",
            "--parent",
            CIRCLE,
            "--address",
            "127.0.0.1:7001",
        )
    assert not (data.path / "tls").exists()


def test_ca_show_without_enrolment_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cctns ca enrol"):
        run_ca("show", "--data-dir", str(tmp_path))


def test_a_state_certifies_only_its_own_offices(root: Authority) -> None:
    goa = issue_state_authority(root, "goa")
    with pytest.raises(InputError, match=r"goa/\.\.\. offices only"):
        enrol(goa, "kerala/ernakulam-city/ps-kalamassery")
